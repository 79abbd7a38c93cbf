"""Batches both backends share: unpadded feature dicts -> padded numpy arrays, the dataset wrapper both trainers
accept, and the per-epoch sample order. Framework-neutral: the trainers turn the arrays into their tensors."""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of one epoch: the same permutation for both backends."""
    return np.random.RandomState(seed + epoch).permutation(n)


class FeatureDataset:
    """A list of feature dicts, indexable (both trainers' datasets only need __len__ and __getitem__)."""

    def __init__(self, features: List[dict]):
        self.features = features

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return self.features[i]


def pad_batch(features: Sequence[dict], pad_token_id: int = 0, pad_to_multiple_of: Optional[int] = None,
              pad_to: Optional[int] = None) -> dict:
    """Features -> numpy arrays padded to the longest row (or to `pad_to`): input_ids, attention_mask,
    token_type_ids(, labels, or SQuAD's start_positions and end_positions)."""
    L = max(len(f["input_ids"]) for f in features)
    if pad_to:
        L = max(L, pad_to)
    if pad_to_multiple_of:
        L = -(-L // pad_to_multiple_of) * pad_to_multiple_of
    B = len(features)
    ids = np.full((B, L), pad_token_id, dtype=np.int64)
    tt = np.zeros((B, L), dtype=np.int64)
    mask = np.zeros((B, L), dtype=np.int64)
    for i, f in enumerate(features):
        n = len(f["input_ids"])
        ids[i, :n], tt[i, :n], mask[i, :n] = f["input_ids"], f["token_type_ids"], 1
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    if "labels" in features[0]:
        labels = [f["labels"] for f in features]
        batch["labels"] = np.asarray(labels, dtype=np.float32 if isinstance(labels[0], float) else np.int64)
    for key in ("start_positions", "end_positions"):
        if key in features[0]:
            batch[key] = np.asarray([f[key] for f in features], dtype=np.int64)
    return batch

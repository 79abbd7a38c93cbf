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
    if "spans" in features[0]:  # span tasks: (type, start token, end token) -> a [B, types, L, L] 0/1 grid
        grid = np.zeros((B, features[0]["num_types"], L, L), dtype=np.int64)
        for i, f in enumerate(features):
            for t, s, e in f["spans"]:
                grid[i, t, s, e] = 1
        batch["labels"] = grid
    for key in ("start_positions", "end_positions"):
        if key in features[0]:
            batch[key] = np.asarray([f[key] for f in features], dtype=np.int64)
    return batch


def text_pair_features(examples: Sequence, tokenizer, max_seq_length: int, regression: bool = False,
                       zero_token_types: bool = False) -> List[dict]:
    """Token ids, token types and the label of each example (anything with text_a, text_b, label), unpadded (dynamic
    padding happens per batch). zero_token_types: pairs get token type 0 throughout (the GAU-alpha CLUE recipe)."""
    feats = []
    for ex in examples:
        enc = tokenizer(ex.text_a, ex.text_b, truncation=True, max_length=max_seq_length)
        ids = list(enc["input_ids"])
        types = [0] * len(ids) if zero_token_types else list(enc.get("token_type_ids") or [0] * len(ids))
        f = {"input_ids": ids, "token_type_ids": types}
        if ex.label is not None:
            f["labels"] = float(ex.label) if regression else int(ex.label)
        feats.append(f)
    return feats

"""The config, batch and weight-scale helpers the parity specs share (parity/funnel.py, parity/gau_alpha.py,
parity/ecosystem.py): a tiny config with the head's label count, a padded numpy batch with labels for any head, and
the move to trained-weight scale. A spec supplies only what is its model's own: its class-name stem, label counts,
how token types look, whether the mask is passed explicitly, how it names its LayerNorms."""
from __future__ import annotations

from typing import Callable, Dict, Sequence

import numpy as np


def config_kwargs(base: dict, arch: str, label_counts: Dict[str, int], **overrides) -> dict:
    """`base` with `overrides`; the head's label count from `label_counts` unless overridden."""
    kw = dict(base)
    kw.update(overrides)
    if arch in label_counts and "num_labels" not in overrides:
        kw["num_labels"] = label_counts[arch]
    return kw


def make_batch(stem: str, arch: str, kwargs: dict, lengths: Sequence[int], seed: int, num_choices: int,
               token_types: Callable[[np.ndarray, int], np.ndarray], explicit_mask: bool, low_id: int,
               ) -> Dict[str, np.ndarray]:
    """Rows of the given lengths padded with id 0 (ids drawn from [low_id, vocab)), token types from
    `token_types(lengths, L)`, the attention mask when `explicit_mask`, and labels for `arch`'s loss (out-of-range
    QA positions and ignored -100 labels included)."""
    head = arch[len(stem):]
    rng = np.random.RandomState(seed)
    rows = len(lengths) * (num_choices if head == "ForMultipleChoice" else 1)
    lens = np.resize(np.asarray(lengths), rows)
    L = int(lens.max())
    mask = (np.arange(L)[None, :] < lens[:, None]).astype("int64")
    ids = np.where(mask == 1, rng.randint(low_id, kwargs["vocab_size"], size=(rows, L)), 0).astype("int64")
    batch = {"input_ids": ids, "token_type_ids": token_types(lens, L).astype("int64")}
    if explicit_mask:
        batch["attention_mask"] = mask
    B, n = len(lengths), kwargs.get("num_labels", 2)
    if head == "ForMultipleChoice":
        batch = {k: v.reshape(B, num_choices, L) for k, v in batch.items()}
        batch["labels"] = rng.randint(0, num_choices, size=B).astype("int64")
    elif head == "ForSequenceClassification":
        problem = kwargs.get("problem_type")
        if n == 1 or problem == "regression":                 # float targets, MSE
            batch["labels"] = rng.standard_normal((B,) if n == 1 else (B, n))
        elif problem == "multi_label_classification":         # 0/1 float targets, BCE with logits
            batch["labels"] = rng.randint(0, 2, size=(B, n)).astype("float64")
        else:
            batch["labels"] = rng.randint(0, n, size=B).astype("int64")
    elif head == "ForTokenClassification":
        batch["labels"] = np.where(mask == 1, rng.randint(0, n, size=(B, L)), -100).astype("int64")
    elif head == "ForMaskedLM":
        labels = np.where(rng.rand(B, L) < 0.4, ids, -100)   # pads too (label 0): a loss term like any other
        labels[:, 1] = ids[:, 1]                               # at least one predicted token a row
        batch["labels"] = labels.astype("int64")
    elif head == "ForPreTraining":
        batch["labels"] = rng.randint(0, 2, size=(B, L)).astype("int64")
    elif head == "ForQuestionAnswering":
        batch["start_positions"] = rng.randint(0, L, size=B).astype("int64")
        batch["end_positions"] = rng.randint(0, L, size=B).astype("int64")
        batch["end_positions"][0] = L + 3  # out of range: clamped to L and ignored, as in HF
    return batch


def rescale_(model, seed: int, layer_norm: str, factor: float = 2.0) -> None:
    """Move HF's small init to trained-weight scale: Linear (and relative) weights x factor (trained BERT-base weights
    have std ~0.04, HF's Funnel init gives 0.0255 at d=768), LayerNorm gains U(0.5, 1.5), biases N(0, 0.2); word
    embeddings as they are. `layer_norm`: how the model names its LayerNorms ("layer_norm", "LayerNorm").
    Small init hides bugs (notes/alignment.md)."""
    import torch
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if f"{layer_norm}.weight" in name:
                p.copy_(0.5 + torch.rand(p.shape, generator=g, dtype=p.dtype))
            elif name.endswith(".bias") or layer_norm in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            elif "word_embeddings" not in name:
                p.mul_(factor)

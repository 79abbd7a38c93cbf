"""Span decoding and scores for GlobalPointer-style heads (numpy, shared by both frameworks).

logits: [B, heads, L, L], logits[b, t, i, j] scores the span i..j (inclusive) of type t.
"""
from __future__ import annotations

from typing import List, Sequence, Set, Tuple

import numpy as np

Span = Tuple[int, int, int, int]  # (batch, type, start, end), end inclusive


def decode(logits: np.ndarray, lengths: Sequence[int], threshold: float = 0.0, skip_special: bool = True
           ) -> List[Span]:
    """Spans with logit > threshold inside each row's valid length; with skip_special, spans touching the CLS
    (position 0) or SEP (position length-1) token are dropped."""
    logits = np.asarray(logits)
    out = []
    for b, n in enumerate(lengths):
        lo, hi = (1, n - 1) if skip_special else (0, n)
        block = logits[b, :, lo:hi, lo:hi]
        for t, i, j in zip(*np.nonzero(block > threshold)):
            if i <= j:
                out.append((b, int(t), int(i) + lo, int(j) + lo))
    return out


def span_f1(predicted: Set[Span], gold: Set[Span]) -> dict:
    """Micro precision / recall / F1 over (batch, type, start, end) triples: the GlobalPointer papers' metric."""
    tp = len(set(predicted) & set(gold))
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def training_f1(logits: np.ndarray, labels: np.ndarray) -> float:
    """GlobalPointer's training-time F1: 2 * sum(y * [s > 0]) / sum(y + [s > 0])."""
    pred = (np.asarray(logits) > 0).astype(np.float64)
    y = np.asarray(labels, dtype=np.float64)
    denom = (y + pred).sum()
    return float(2 * (y * pred).sum() / denom) if denom else 0.0

"""Per-parameter tables: how every parameter of a model maps between PyTorch and Paddle.

A table is an ordered list of `Param`. It is written out explicitly per model (see funnel_table.py), never guessed from
shapes: conversion, checkpoint loading, compare.py's matching and the gradient checks all read it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from .errors import KitError


@dataclass(frozen=True)
class Param:
    name: str                       # the torch name (the kit's ports use it in Paddle too; else paddle_name)
    shape: Tuple[int, ...]          # torch layout
    transpose: bool = False         # nn.Linear weight: torch [out, in] <-> paddle [in, out]
    tied_to: Optional[str] = None   # shares storage with this parameter (both names appear in a state dict)
    head: bool = False              # belongs to a task head, not to the encoder body
    # Gradient mathematically zero; its float32 value is rounding noise, so parity checks assert it is ~0 at the
    # scale of `zero_grad_scale` (a parameter of the same layer) instead of comparing one noise with another.
    zero_grad_scale: Optional[str] = None
    # Other names the same tensor has in checkpoints the kit reads (PaddleNLP's GAU-alpha MLM: cls.decoder_weight).
    aliases: Tuple[str, ...] = ()
    # Its name in Paddle state dicts when that differs (tables taken from PaddleNLP's name mappings: BERT, RoBERTa).
    paddle_name: Optional[str] = None

    def name_in(self, layout: str) -> str:
        return self.paddle_name or self.name if layout == "paddle" else self.name

    def __post_init__(self):
        assert not self.transpose or len(self.shape) == 2, f"{self.name}: only 2-D Linear weights are transposed"

    @property
    def paddle_shape(self) -> Tuple[int, ...]:
        return tuple(reversed(self.shape)) if self.transpose else tuple(self.shape)

    def shape_in(self, layout: str) -> Tuple[int, ...]:
        return self.paddle_shape if layout == "paddle" else tuple(self.shape)


def linear(name: str, d_in: int, d_out: int, bias: bool = True, head: bool = False) -> List[Param]:
    """An nn.Linear(d_in, d_out): its weight is transposed between frameworks, its bias is not."""
    params = [Param(f"{name}.weight", (d_out, d_in), transpose=True, head=head)]
    if bias:
        params.append(Param(f"{name}.bias", (d_out,), head=head))
    return params


def layer_norm(name: str, d: int) -> List[Param]:
    return [Param(f"{name}.weight", (d,)), Param(f"{name}.bias", (d,))]


def as_dict(table: Iterable[Param]) -> Dict[str, Param]:
    out: Dict[str, Param] = {}
    for p in table:
        assert p.name not in out, f"duplicate parameter {p.name} in table"
        out[p.name] = p
    return out


def convert_array(p: Param, array: np.ndarray, src: str, dst: str, origin: str = "") -> np.ndarray:
    """Check `array` against the table in layout `src` and return it in layout `dst` ('torch' or 'paddle')."""
    want = p.shape_in(src)
    if tuple(array.shape) != want:
        where = f" in {origin}" if origin else ""
        raise KitError(f"{p.name}{where}: shape {tuple(array.shape)} does not match the expected {src} shape {want}")
    if p.transpose and src != dst:
        return transpose2d(array)
    return array


def transpose2d(a: np.ndarray, block: int = 64) -> np.ndarray:
    """a.T as a new C-contiguous array, copied in row blocks (about 2x faster than np.ascontiguousarray(a.T) on large
    matrices: the writes stay in cache lines). Exact: a copy, no arithmetic."""
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    for i in range(0, a.shape[0], block):
        out[:, i:i + block] = a[i:i + block].T
    return out


def resolve_aliases(table: Iterable[Param], keys: Iterable[str], origin: str = "",
                    read: Optional[Callable[[str], np.ndarray]] = None) -> Dict[str, str]:
    """{key in the checkpoint: table name} for keys stored under an alias. A tied parameter found under an alias
    must equal its tie source (checked with `read`): an untied copy cannot be represented, so it is an error."""
    keys = set(keys)
    renames = {}
    for p in table:
        for alias in p.aliases:
            if alias not in keys:
                continue
            if p.name in keys:
                raise KitError(f"{origin}: both {p.name} and its alias {alias} are present")
            if p.tied_to and read is not None and p.tied_to in keys:
                if not np.array_equal(read(alias), read(p.tied_to)):
                    raise KitError(f"{origin}: {alias} differs from {p.tied_to}; this class ties them, so an untied "
                                   "checkpoint cannot be loaded exactly")
            renames[alias] = p.name
    return renames


def with_aliases_resolved(table: Iterable[Param], state: Mapping[str, np.ndarray], origin: str = "") -> dict:
    renames = resolve_aliases(table, state, origin, read=lambda k: state[k])
    return {renames.get(k, k): v for k, v in state.items()}


def convert_state(table: Iterable[Param], state: Mapping[str, np.ndarray], src: str, dst: str,
                  origin: str = "") -> Dict[str, np.ndarray]:
    """Convert a complete state dict between layouts. Every table key must be present (tied keys may be absent);
    any key not in the table is an error. Keys stored under a known alias are read under the table's name."""
    state = with_aliases_resolved(table, state, origin)
    table = as_dict(table)
    unexpected = sorted(set(state) - set(table))
    missing = sorted(k for k, p in table.items() if k not in state and not (p.tied_to and p.tied_to in state))
    if unexpected or missing:
        raise KitError(describe_key_problems(origin, missing=missing, unexpected=unexpected))
    out = {}
    for name, p in table.items():
        if name in state:
            out[name] = convert_array(p, state[name], src, dst, origin)
        else:
            out[name] = out[p.tied_to]
    return out


def describe_key_problems(origin: str, missing=(), unexpected=(), mismatched=()) -> str:
    def show(keys):
        keys = list(keys)
        head = ", ".join(keys[:12])
        return head + (f", ... ({len(keys)} in all)" if len(keys) > 12 else "")

    parts = []
    if missing:
        parts.append(f"missing keys: {show(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {show(unexpected)}")
    if mismatched:
        parts.append(f"mis-shaped keys: {show(mismatched)}")
    return f"{origin or 'checkpoint'}: " + "; ".join(parts)

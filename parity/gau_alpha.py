"""GAU-α spec for the parity machinery (parity/common.py): the kit's torch reference (torch_ref/gau_alpha.py, equal to
the gau-alpha package) vs the Paddle port. Dropout off, train mode."""
from __future__ import annotations

import functools
import sys
from typing import Dict, Sequence

import paddlenlp_ext.gau_alpha as P  # first: sets paddle's CPU environment (paddlenlp_ext/_cpu.py)

import numpy as np
import torch

import torch_ref.gau_alpha as R
from reprokit.gau_alpha_table import ARCHITECTURES, gau_alpha_table

from . import batches, common
from .common import paddle_twin

NAME = "gau_alpha"
FLOAT32_LOSS_ARCHS = ()
LAYER_FLOAT64_TOL = common.FLOAT64_TOL  # no float32 step inside the float64 reference: full float64 agreement
NO_DROPOUT = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout=0.0)

# Two layers, every head; pad id 0 (the default attention mask is ids != 0).
TINY = dict(vocab_size=60, hidden_size=32, intermediate_size=48, num_hidden_layers=2, attention_key_size=16,
            max_position_embeddings=32, **NO_DROPOUT)
# The released chinese_GAU-alpha-char_L-24_H-768 (notes/gau_alpha.md).
RELEASED = {"base": dict(vocab_size=12000, hidden_size=768, intermediate_size=1536, num_hidden_layers=24,
                         attention_key_size=128, max_position_embeddings=512, **NO_DROPOUT)}
NUM_LABELS = {"GAUAlphaForSequenceClassification": 3, "GAUAlphaForTokenClassification": 3}
# Trained-scale weights: dense weights x10 (std 0.2), norm gains U(0.5, 1.5). Small init hides bugs.
TRAINED_SCALE = 10.0


def config_kwargs(base: dict, arch: str, **overrides) -> dict:
    return batches.config_kwargs(base, arch, NUM_LABELS, **overrides)


def _token_types(lens: np.ndarray, L: int) -> np.ndarray:
    """0 for the first half of the padded width, 1 for the rest (pads included: their type must not matter)."""
    return (np.arange(L)[None, :] >= L // 2).astype("int64").repeat(len(lens), 0)


def build_torch(kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32",
                scale: float = None):
    """The torch reference with seeded weights (dense weights x `scale`, trained-scale norm gains), train mode."""
    scale = (TRAINED_SCALE if realistic else 1.0) if scale is None else scale
    torch.manual_seed(seed)
    tm = make_torch(kwargs, arch)
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if name.endswith("dense.weight"):
                p.mul_(scale)
            elif name.endswith("scaleoffset.weight") and scale != 1.0:
                p.copy_(0.5 + torch.rand(p.shape))
    if dtype == "float64":
        tm = tm.double()
    return tm.train()


def build_pair(kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32",
               scale: float = None):
    """A torch reference model and the Paddle port holding the same weights (loaded through the table)."""
    tm = build_torch(kwargs, arch, seed, realistic, dtype, scale)
    return tm, paddle_twin(tm, lambda: make_paddle(kwargs, arch), dtype)


def make_torch(kwargs: dict, arch: str):
    return getattr(R, arch)(R.GAUAlphaConfig.from_dict(kwargs))


def make_paddle(kwargs: dict, arch: str):
    return getattr(P, arch)(P.GAUAlphaConfig(**kwargs))


def kwargs_from_config(config: dict) -> dict:
    """A checkpoint's config.json as harness kwargs: dropout off (PaddleNLP's names read as the torch ones)."""
    kw = dict(config)
    for paddlenlp_name, name in (("norm_eps", "layer_norm_eps"), ("activation", "hidden_act")):
        if paddlenlp_name in kw:  # PaddleNLP's names win (see paddlenlp_ext/gau_alpha/configuration.py)
            kw[name] = kw.pop(paddlenlp_name)
    if "num_labels" not in kw and kw.get("id2label"):
        kw["num_labels"] = len(kw["id2label"])
    return {**kw, **NO_DROPOUT}


def make_batch(arch: str, kwargs: dict, lengths: Sequence[int] = (9, 4, 1), seed: int = 0,
               choices: int = 2) -> Dict[str, np.ndarray]:
    """Padded rows (a length-1 row by default), token types 0 then 1, no mask passed (the default mask is
    ids != pad 0), labels for `arch`'s loss."""
    return batches.make_batch("GAUAlpha", arch, kwargs, lengths, seed, choices, _token_types, explicit_mask=False,
                              low_id=1)


def reference_table(kwargs: dict, arch: str):
    return gau_alpha_table(R.GAUAlphaConfig.from_dict(kwargs), arch)


def embeds_dim(kwargs: dict):
    return None  # GAU-α's forward takes input_ids only


run_checks = functools.partial(common.run_checks, sys.modules[__name__])

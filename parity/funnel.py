"""Funnel spec for the parity machinery (parity/common.py): transformers' Funnel (torch) vs the Paddle port.

Used by the tests and by compare.py. Everything is compared in torch layout through the parameter table.
Dropout is switched off (rates set to 0) and both models stay in train mode, as Paddle's reproduction guide prescribes.
"""
from __future__ import annotations

import functools
import sys
from typing import Dict, Sequence

import paddlenlp_ext.funnel as P  # first: sets paddle's CPU environment (paddlenlp_ext/_cpu.py)

import numpy as np
import torch

import torch_ref.funnel as T
from reprokit.funnel_table import ARCHITECTURES, funnel_table

from . import batches, common
from .common import (FLOAT64_TOL, FLOAT64_TOL_FLOAT32_LOSS, FLOOR_FACTOR, FWD_TOL, GRAD_TOL, TRAIN_TOL,  # noqa: F401
                     Side, forward_backward, paddle_twin, side_forward_backward, train_steps)

NAME = "funnel"
# HF computes FunnelForPreTraining's loss in float32 (labels.float()), so there float64 agreement is float32-limited.
FLOAT32_LOSS_ARCHS = ("FunnelForPreTraining",)
# Per layer, float64 agreement is float32-limited too: HF rounds attention scores to float32 in float64 models, and
# the embeddings' LayerNorm divides the pad positions' gradient by sqrt(eps) (the pad row is zero). Worst measured on
# the tiny configs: 1.4e-8 relative (that gradient); an injected bug moves a layer by >= 1e-4. The whole-model float64
# gradients get the same bar (every gradient flows back through those rounded scores): worst measured at xlarge
# (2 x 128, trained scale) 4.5e-7 relative, in block 0, shrinking towards the output (1e-10 at block 2).
LAYER_FLOAT64_TOL = 1e-6

NO_DROPOUT = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0)

# A small config that still has three blocks, a repeated block, a decoder and several heads per layer.
TINY = dict(vocab_size=64, block_sizes=[2, 1, 2], block_repeats=[1, 2, 1], num_decoder_layers=2, d_model=32,
            n_head=4, d_head=8, d_inner=48, pad_token_id=0, **NO_DROPOUT)

# The released configurations (notes/funnel.md); the -base twins share the shape without a decoder.
RELEASED = {
    "small": dict(block_sizes=[4, 4, 4], d_model=768, n_head=12, d_inner=3072),
    "medium": dict(block_sizes=[6, 3, 3], block_repeats=[1, 2, 2], d_model=768, n_head=12, d_inner=3072),
    "intermediate": dict(block_sizes=[6, 6, 6], d_model=768, n_head=12, d_inner=3072),
    "large": dict(block_sizes=[8, 8, 8], d_model=1024, n_head=16, d_inner=4096),
    "xlarge": dict(block_sizes=[10, 10, 10], d_model=1024, n_head=16, d_inner=4096),
}
for _name in list(RELEASED):
    RELEASED[_name].update(vocab_size=30522, d_head=64)
    RELEASED[_name + "-base"] = dict(RELEASED[_name])

NUM_LABELS = {"FunnelForSequenceClassification": 3, "FunnelForTokenClassification": 5,
              "FunnelForQuestionAnswering": 2}


def config_kwargs(base: dict, arch: str, **overrides) -> dict:
    return batches.config_kwargs(base, arch, NUM_LABELS, **overrides)


def _token_types(lens: np.ndarray, L: int) -> np.ndarray:
    """0 for the first half of each row's real tokens, 1 for the second, 2 for CLS (Funnel's three types)."""
    tt = np.zeros((len(lens), L), dtype="int64")
    for r, n in enumerate(lens):
        tt[r, n // 2:n] = 1
    tt[:, 0] = 2
    return tt


def build_torch(kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32"):
    """The torch reference model with seeded weights, in train mode."""
    torch.manual_seed(seed)
    tm = make_torch(kwargs, arch)
    if realistic:
        batches.rescale_(tm, seed, layer_norm="layer_norm")
    if dtype == "float64":
        tm = tm.double()
    return tm.train()


def build_pair(kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32"):
    """A torch reference model and the Paddle port holding the same weights (loaded through the table)."""
    tm = build_torch(kwargs, arch, seed, realistic, dtype)
    return tm, paddle_twin(tm, lambda: make_paddle(kwargs, arch), dtype)


def save_tiny_checkpoint(folder, arch: str, vocab, realistic: bool = False, **overrides):
    """A TINY HF Funnel checkpoint in `folder` (config, weights and a Funnel tokenizer on `vocab`, whose vocab.txt is
    written beside the folder); returns the torch model."""
    from pathlib import Path

    from transformers import FunnelTokenizerFast
    folder = Path(folder)
    tm = build_torch(config_kwargs(TINY, arch, vocab_size=len(vocab), **overrides), arch, realistic=realistic)
    tm.save_pretrained(folder)
    vocab_file = folder.parent / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    FunnelTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True).save_pretrained(folder)
    return tm


def make_torch(kwargs: dict, arch: str):
    return T.CLASSES[arch](T.FunnelConfig(**kwargs))


def make_paddle(kwargs: dict, arch: str):
    return getattr(P, arch)(P.FunnelConfig(**kwargs))


def kwargs_from_config(config: dict) -> dict:
    """A checkpoint's config.json as harness kwargs: dropout off, num_labels read from id2label as HF does."""
    kw = {**config, **NO_DROPOUT}
    if "num_labels" not in kw and kw.get("id2label"):
        kw["num_labels"] = len(kw["id2label"])
    return kw


def make_batch(arch: str, kwargs: dict, lengths: Sequence[int] = (13, 7, 11), num_choices: int = 2,
               seed: int = 0) -> Dict[str, np.ndarray]:
    """A padded batch: rows of different lengths, token types 2 (CLS) / 0 / 1, the mask passed, labels for `arch`."""
    return batches.make_batch("Funnel", arch, kwargs, lengths, seed, num_choices, _token_types, explicit_mask=True,
                              low_id=5)


def reference_table(kwargs: dict, arch: str):
    return funnel_table(T.FunnelConfig(**kwargs), arch)


def embeds_dim(kwargs: dict) -> int:
    return kwargs["d_model"]


run_checks = functools.partial(common.run_checks, sys.modules[__name__])


def funnel_body(arch: str) -> str:
    return ARCHITECTURES[arch][0]

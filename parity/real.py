"""Real checkpoints and real text for the compare report.

`load_pairs(directory)` reads a torch (HF) or Paddle directory once and builds both sides from it: the side whose
layout the files are in loads them as they are, the other side gets them through the converter's table
(reprokit.tables.convert_state), exactly what convert.py writes. Dropout is switched off.
`text_batch(directory, ...)` tokenises a text file (one example per line, `text_a<TAB>text_b` for pairs) with the
checkpoint's own vocabulary.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from reprokit import KitError
from reprokit.checkpoint import load_state, read_config
from reprokit.convert import detect_arch
from reprokit.tables import convert_state
from tasks.tokenization import tokenizer_for

from . import ecosystem
from . import funnel as funnel_spec
from . import gau_alpha as gau_alpha_spec
from .common import paddle_twin

SPECS = {"funnel": funnel_spec, "gau_alpha": gau_alpha_spec}


def load_pairs(directory, arch: Optional[str] = None, trust_pickle: bool = False, float64: bool = True):
    """(spec, kwargs, arch, {"float32": (tm, pm), "float64": (tm, pm)}) for the checkpoint in `directory`."""
    import torch

    directory = Path(directory)
    config = read_config(directory)
    model_type = config.get("model_type")
    if model_type in ecosystem.SPECS:  # a transformers / PaddleNLP pair (BERT, RoBERTa)
        spec = ecosystem.SPECS[model_type]
        return (spec, *ecosystem.load_pairs(directory, spec, config, arch, float64))
    if model_type not in SPECS:
        raise KitError(f"{directory / 'config.json'}: model_type {model_type!r} is not one of "
                       f"{sorted(SPECS) + sorted(ecosystem.SPECS)}")
    spec = SPECS[model_type]
    layout, state, weights = load_state(directory, trust_pickle=trust_pickle)
    arch = arch or detect_arch(model_type, config, state, str(weights))
    if arch not in spec.ARCHITECTURES:
        raise KitError(f"--arch {arch!r} is not a {model_type} class: {list(spec.ARCHITECTURES)}")
    kwargs = spec.kwargs_from_config(config)
    table = spec.reference_table(kwargs, arch)
    torch_state = convert_state(table, state, layout, "torch", origin=str(weights))
    tm = spec.make_torch(kwargs, arch)
    tm.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in torch_state.items()},
                       strict=True)
    tm.train()
    pm = spec.make_paddle(kwargs, arch)
    pm.load_numpy_state({k: np.asarray(v, dtype=np.float32) for k, v in state.items()}, layout, origin=str(weights))
    pm.train()
    pairs = {"float32": (tm, pm)}
    if float64:
        import copy
        tm64 = copy.deepcopy(tm).double()
        pairs["float64"] = (tm64, paddle_twin(tm64, lambda: spec.make_paddle(kwargs, arch), "float64"))
    return spec, kwargs, arch, pairs


def read_examples(path) -> List[Tuple[str, Optional[str]]]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise KitError(f"{path}: cannot read the text file ({e})") from e
    examples = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) > 2:
            raise KitError(f"{path}, line {n}: {len(parts)} tab-separated fields; one text or a pair, please")
        examples.append((parts[0], parts[1] if len(parts) == 2 else None))
    if not examples:
        raise KitError(f"{path}: no text (one example per line)")
    return examples


def text_batch(directory, model_type: str, path, arch: str, kwargs: dict, spec, max_length: int = 128,
               max_rows: int = 16, seed: int = 0) -> Dict[str, np.ndarray]:
    """The first `max_rows` examples of `path`, tokenised with the checkpoint's vocabulary, padded; labels for
    `arch`'s loss drawn at random (only their shape and range matter for a parity check)."""
    if arch.endswith("MultipleChoice"):
        raise KitError("--text is not supported for multiple-choice heads (they need choices per example)")
    tok = tokenizer_for(directory, pair_token_types="segments")
    rows = []
    for a, b in read_examples(path)[:max_rows]:
        enc = tok(a, b, max_length=max_length) if model_type == "gau_alpha" else \
            tok(a, b, truncation=True, max_length=max_length)
        rows.append(enc)
    L = max(len(r["input_ids"]) for r in rows)
    pad = kwargs.get("pad_token_id", 0) or 0
    ids = np.full((len(rows), L), pad, dtype="int64")
    tt = np.zeros((len(rows), L), dtype="int64")
    mask = np.zeros((len(rows), L), dtype="int64")
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n], mask[i, :n] = r["input_ids"], 1
        tt[i, :n] = r.get("token_type_ids", [0] * n)
    batch = spec.make_batch(arch, kwargs, lengths=[int(m.sum()) for m in mask], seed=seed)
    batch.update(input_ids=ids, token_type_ids=tt)
    if "attention_mask" in batch:
        batch["attention_mask"] = mask
    if "labels" in batch and batch["labels"].shape == ids.shape:  # token-level labels: only on real tokens
        batch["labels"] = np.where(mask == 1, np.clip(batch["labels"], -100, None), -100)
        if arch.endswith("MaskedLM"):
            batch["labels"] = np.where(mask == 1, ids, -100)
    return batch

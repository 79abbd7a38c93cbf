"""Checkpoint conversion torch <-> paddle, driven by the models' parameter tables (numpy only: .pdparams
files are plain pickles of numpy arrays). The class is read from config.json's `architectures`, else found as the one table whose key set equals
the checkpoint's: names decide, never shapes.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np

from . import funnel_table, gau_alpha_table
from .checkpoint import (MANIFEST_NAME, PADDLE_WEIGHTS, TORCH_FILES, find_weights, load_state, read_config,
                         write_directory, write_pdparams)
from .errors import KitError
from .files import sha256_file
from .safetensors_io import FLOAT_CODES, cast, open_safetensors, write_streaming
from .tables import as_dict, convert_array, convert_state, describe_key_problems, resolve_aliases

# model_type -> (table module, its table function, config defaults: the reference implementations' own defaults)
MODELS = {
    "funnel": (funnel_table, funnel_table.funnel_table, dict(vocab_size=30522, block_sizes=[4, 4, 4], num_decoder_layers=2, d_model=768,
                                  n_head=12, d_head=64, d_inner=3072, num_labels=2)),
    "gau_alpha": (gau_alpha_table, gau_alpha_table.gau_alpha_table, dict(vocab_size=12000, hidden_size=768, intermediate_size=1536,
                                        num_hidden_layers=24, type_vocab_size=2, attention_key_size=128,
                                        use_bias=False, num_labels=2, summary_use_proj=False,
                                        summary_proj_to_labels=False)),
}
WEIGHT_FILES = set(TORCH_FILES) | {PADDLE_WEIGHTS, MANIFEST_NAME}
DTYPES = ("float32", "float16", "bfloat16", "float64")


def _is_weight_file(path: Path) -> bool:
    return path.suffix in (".safetensors", ".bin", ".pdparams") or path.name.endswith(".index.json")


def table_for(model_type: str, config: dict, arch: str):
    _, table_fn, defaults = MODELS[model_type]
    cfg = dict(defaults)
    cfg.update({k: v for k, v in config.items() if k in defaults})
    if "num_labels" not in config and config.get("id2label"):
        cfg["num_labels"] = len(config["id2label"])
    return table_fn(SimpleNamespace(**cfg), arch)


def detect_arch(model_type: str, config: dict, keys, origin: str) -> str:
    module = MODELS[model_type][0]
    named = [a for a in (config.get("architectures") or []) if a in module.ARCHITECTURES]
    if named:
        return named[0]
    matches = []
    for arch in module.ARCHITECTURES:
        table = table_for(model_type, config, arch)
        alias_of = {a: p.name for p in table for a in p.aliases}
        names = {alias_of.get(k, k) for k in keys}
        need = {p.name for p in table if not p.tied_to}
        if need <= names <= {p.name for p in table}:
            matches.append(arch)
    if len(matches) != 1:
        raise KitError(f"{origin}: cannot tell the {model_type} class from the keys "
                       f"({'several match: ' + ', '.join(matches) if matches else 'none matches'}); pass --arch")
    return matches[0]


def convert(src, dst, to: Optional[str] = None, model_type: Optional[str] = None, arch: Optional[str] = None,
            dtype: Optional[str] = None, paddle_format: str = "pdparams", trust_pickle: bool = False,
            overwrite: bool = False) -> Path:
    src, dst = Path(src), Path(dst)
    if dst.exists() and not overwrite:
        raise KitError(f"{dst}: already exists (choose a new destination)")
    config = read_config(src)
    model_type = model_type or config.get("model_type")
    if model_type not in MODELS:
        raise KitError(f"{src / 'config.json'}: model_type {model_type!r} is not one of {sorted(MODELS)}")
    if dtype is not None and dtype not in DTYPES:
        raise KitError(f"--dtype {dtype!r}: use one of {DTYPES}")
    layout, weights = find_weights(src)
    to = to or ("paddle" if layout == "torch" else "torch")
    if to not in ("torch", "paddle"):
        raise KitError(f"--to {to!r}: use torch or paddle")
    if weights.name.endswith(".safetensors") or weights.name == "model.safetensors.index.json":
        if to == "torch" or paddle_format == "safetensors":
            return _convert_streaming(src, dst, config, model_type, arch, dtype, layout, to, weights, overwrite)
    if dtype == "bfloat16":
        raise KitError("--dtype bfloat16 needs safetensors in and out (numpy has no bfloat16): "
                       "use a safetensors source and --paddle-format safetensors")
    layout, state, weights = load_state(src, trust_pickle=trust_pickle)
    arch = arch or detect_arch(model_type, config, state, str(weights))
    table = table_for(model_type, config, arch)
    out = convert_state(table, state, layout, to, origin=str(weights))
    if dtype:
        out = {k: v.astype(dtype) for k, v in out.items()}
    tied = {p.name for p in table if p.tied_to}
    sources = sorted(p for p in weights.parent.iterdir() if p.is_file() and _is_weight_file(p))

    def write(tmp: Path):
        _copy_side_files(src, tmp)
        if to == "torch":
            from safetensors.numpy import save_file
            save_file({k: np.ascontiguousarray(v) for k, v in out.items() if k not in tied},
                      str(tmp / "model.safetensors"), metadata={"format": "pt"})
        elif paddle_format == "safetensors":
            from safetensors.numpy import save_file
            save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, str(tmp / "model.safetensors"),
                      metadata={"format": "np", "layout": "paddle"})
        else:
            write_pdparams(tmp / PADDLE_WEIGHTS, out)

    return write_directory(dst, write, overwrite=overwrite, manifest_extra={
        "layout": to, "class": arch, "model_type": model_type, "source": str(src.resolve()),
        "source_layout": layout, "source_files": {p.name: sha256_file(p) for p in sources},
        "mapping": [{"name": p.name, "transpose": p.transpose, "tied_to": p.tied_to} for p in table]})


def _copy_side_files(src: Path, tmp: Path) -> None:
    for f in sorted(src.iterdir()):  # config, vocab and tokenizer files come along
        if f.is_file() and f.name not in WEIGHT_FILES and not _is_weight_file(f):
            shutil.copy2(f, tmp / f.name)


def _convert_streaming(src: Path, dst: Path, config: dict, model_type: str, arch: Optional[str], dtype: Optional[str],
                       layout: str, to: str, weights: Path, overwrite: bool) -> Path:
    """safetensors in, safetensors out, one tensor in memory at a time; the source's sha256 is taken on the way
    (tensors are written in the source's byte order, so each byte is read once)."""
    reader = open_safetensors(weights)
    keys = reader.keys()
    arch = arch or detect_arch(model_type, config, keys, str(weights))
    table = as_dict(table_for(model_type, config, arch))
    renames = resolve_aliases(table.values(), keys, str(weights), read=reader.read)
    source_of = {renames.get(k, k): k for k in keys}
    keys = list(source_of)
    unexpected = sorted(set(keys) - set(table))
    missing = sorted(k for k, p in table.items() if k not in keys and not (p.tied_to and p.tied_to in keys))
    mismatched = sorted(f"{k} {list(reader.shape(source_of[k]))} (expected {list(table[k].shape_in(layout))})"
                        for k in keys if k in table and reader.shape(source_of[k]) != table[k].shape_in(layout))
    if unexpected or missing or mismatched:
        raise KitError(describe_key_problems(str(weights), missing=missing, unexpected=unexpected,
                                             mismatched=mismatched))
    origin = str(weights)

    def item(name, source):
        source = source_of.get(source, source)
        p, code = table[name], reader.dtype(source)
        out_code = FLOAT_CODES[dtype] if dtype and code in FLOAT_CODES.values() else code

        def produce():
            return cast(convert_array(p, reader.read(source), layout, to, origin), code, out_code)
        return (name, out_code, p.shape_in(to), produce)

    present = [renames.get(k, k) for k in reader.in_file_order(list(source_of.values()))]
    items = [item(k, k) for k in present]
    if to == "paddle":  # the Paddle state dict names tied parameters too (as convert_state fills them)
        items += [item(k, p.tied_to) for k, p in table.items() if k not in keys]
    items = [i for i in items if not (to == "torch" and table[i[0]].tied_to)]
    meta = {"format": "pt"} if to == "torch" else {"format": "np", "layout": "paddle"}
    state = {}

    def write(tmp: Path):
        _copy_side_files(src, tmp)
        digest = write_streaming(tmp / "model.safetensors", items, metadata=meta)
        state["sources"] = reader.sha256_files() if hasattr(reader, "sha256_files") else \
            {weights.name: reader.sha256()}
        return {"model.safetensors": digest}

    out = write_directory(dst, write, overwrite=overwrite, manifest_extra=lambda: {
        "layout": to, "class": arch, "model_type": model_type, "source": str(src.resolve()),
        "source_layout": layout, "source_files": state["sources"], "streamed": True,
        "mapping": [{"name": p.name, "transpose": p.transpose, "tied_to": p.tied_to} for p in table.values()]})
    return out

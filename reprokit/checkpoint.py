"""Checkpoint directories on disk, framework-neutral: find, read (to numpy), write atomically, manifest with sha256.

Layouts: "torch" (HF: model.safetensors, pytorch_model.bin, sharded *.index.json) and "paddle" (model_state.pdparams,
or a safetensors file whose metadata says layout=paddle). Pickles (.bin, .pdparams) are never unpickled freely:
.bin goes through torch.load(weights_only=True); .pdparams only when the kit's manifest vouches for it (sha256 checked)
or the caller passes trust_pickle=True.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from . import __version__
from .errors import KitError
from .files import read_json, sha256_file
from .safetensors_io import Reader, cast

CONFIG_NAME = "config.json"
MANIFEST_NAME = "kit_manifest.json"
PADDLE_WEIGHTS = "model_state.pdparams"
TORCH_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def read_config(directory, model_type: Optional[str] = None) -> dict:
    path = Path(directory) / CONFIG_NAME
    config = read_json(path)
    if model_type is not None and config.get("model_type") != model_type:
        raise KitError(f"{path}: model_type is {config.get('model_type')!r}, expected {model_type!r}")
    return config


def find_weights(directory) -> Tuple[str, Path]:
    """Return (layout, path) of the weights in `directory`, preferring safetensors."""
    d = Path(directory)
    if not d.is_dir():
        raise KitError(f"{d}: not a directory")
    for name in TORCH_FILES:
        if (d / name).is_file():
            if name == "model.safetensors" and _safetensors_layout(d / name) == "paddle":
                return "paddle", d / name
            return "torch", d / name
    if (d / PADDLE_WEIGHTS).is_file():
        return "paddle", d / PADDLE_WEIGHTS
    raise KitError(f"{d}: no weights found (looked for {', '.join(TORCH_FILES + (PADDLE_WEIGHTS,))})")


def _safetensors_layout(path: Path) -> str:
    meta = Reader(path).metadata  # validates the header: a truncated or corrupt file is refused here
    return "paddle" if meta.get("layout") == "paddle" or meta.get("format") == "pd" else "torch"


def load_state(directory, trust_pickle: bool = False) -> Tuple[str, Dict[str, np.ndarray], Path]:
    """Read every tensor of the checkpoint in `directory` into numpy. Returns (layout, state, weights path)."""
    layout, path = find_weights(directory)
    if path.name.endswith(".index.json"):
        index = read_json(path)
        if "weight_map" not in index:
            raise KitError(f"{path}: no 'weight_map' in shard index")
        state = {}
        for shard in sorted(set(index["weight_map"].values())):
            part = _load_file(path.parent / shard, trust_pickle)
            state.update(part)
        missing = sorted(set(index["weight_map"]) - set(state))
        if missing:
            raise KitError(f"{path}: keys listed in the index but absent from the shards: {', '.join(missing[:10])}")
        return layout, state, path
    return layout, _load_file(path, trust_pickle), path


def _load_file(path: Path, trust_pickle: bool) -> Dict[str, np.ndarray]:
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    if path.suffix == ".safetensors":  # validated header, truncation caught; bfloat16 read as float32
        reader = Reader(path)
        return {k: cast(reader.read(k), "BF16", "F32") if reader.dtype(k) == "BF16" else reader.read(k)
                for k in reader.keys()}
    if path.suffix == ".bin":
        try:
            import torch
        except ImportError:
            raise KitError(f"{path}: reading a PyTorch .bin needs torch installed (or convert it to safetensors)") \
                from None
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as e:
            raise KitError(f"{path}: cannot be read as a PyTorch state dict with weights_only=True ({e})") from None
        return {k: v.detach().float().numpy() if v.dtype == torch.bfloat16 else v.detach().numpy()
                for k, v in state.items()}
    if path.suffix == ".pdparams":
        _check_pickle_allowed(path, trust_pickle)
        return read_pdparams(path)
    raise KitError(f"{path}: unknown weight file type")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """paddle.save writes a plain pickle of numpy arrays: read it without paddle, refusing any other global."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a weights file")
        return super().find_class(module, name)


def read_pdparams(path: Path) -> Dict[str, np.ndarray]:
    """A Paddle state dict file (paddle.save of a state dict) as numpy, without paddle. Big parameters that paddle
    split into slices (protocol < 4) are put back together."""
    try:
        with open(path, "rb") as f:
            state = _NumpyOnlyUnpickler(f).load()
    except Exception as e:
        raise KitError(f"{path}: cannot be read as a Paddle state dict ({e})") from None
    if not isinstance(state, dict):
        raise KitError(f"{path}: holds a {type(state).__name__}, not a state dict")
    state.pop("StructuredToParameterName@@", None)
    for name, info in state.pop("UnpackBigParamInfor@@", {}).items():
        parts = [state.pop(s) for s in info["slices"]]
        state[name] = np.concatenate([p.reshape(-1) for p in parts]).reshape(info["OriginShape"])
    bad = [k for k, v in state.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise KitError(f"{path}: entries that are not arrays: {', '.join(map(str, bad[:5]))}")
    return state


def write_pdparams(path: Path, state: Dict[str, np.ndarray]) -> None:
    """What paddle.save writes for a dict of numpy arrays (pickle protocol 4: the same bytes), without paddle."""
    with open(path, "wb") as f:
        pickle.dump({k: np.ascontiguousarray(v) for k, v in state.items()}, f, protocol=4)


def _check_pickle_allowed(path: Path, trust_pickle: bool) -> None:
    """A .pdparams file is a pickle: read it only when the kit's manifest vouches for its exact bytes, or on request."""
    if trust_pickle:
        return
    manifest_path = path.parent / MANIFEST_NAME
    if not manifest_path.is_file():
        raise KitError(f"{path}: a pickle from an unknown source; pass trust_pickle=True (--trust-pickle) "
                       f"if you trust it")
    expected = read_json(manifest_path).get("files", {}).get(path.name)
    if expected is None:
        raise KitError(f"{manifest_path}: does not list {path.name}")
    actual = sha256_file(path)
    if actual != expected:
        raise KitError(f"{path}: sha256 {actual[:12]}... does not match the manifest ({expected[:12]}...); "
                       f"the file is truncated or was changed")


def write_directory(directory, write: Callable[[Path], Optional[Dict[str, str]]], overwrite: bool = True,
                    manifest_extra=None) -> Path:
    """Let `write(tmp)` fill a temporary directory, add the manifest, then move it into place.
    On any error nothing is left at `directory` that was not there before. `write` may return the sha256 of files it
    hashed while writing ({name: hex}); `manifest_extra` is a dict or a function returning one (called after write)."""
    dst = Path(directory)
    if dst.exists() and not overwrite:
        raise KitError(f"{dst}: already exists")
    if dst.exists() and not dst.is_dir():
        raise KitError(f"{dst}: exists and is not a directory")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    try:
        known = write(tmp) or {}
        files = {p.name: known.get(p.name) or sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        extra = manifest_extra() if callable(manifest_extra) else (manifest_extra or {})
        manifest = {"tool": "reprokit", "version": __version__, "files": files, **extra}
        with open(tmp / MANIFEST_NAME, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
        if dst.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old-", dir=dst.parent))
            os.replace(dst, old / dst.name)
            os.replace(tmp, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst

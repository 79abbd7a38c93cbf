"""A dict of arrays kept on disk: what lets compare.py hold every layer record, gradient and weight of a float32 AND a
float64 xlarge run on both sides while only one model is in memory.

`SpillStore` is a MutableMapping name -> numpy array: setting writes `<dir>/<n>.npy` and frees the array, getting
reads it back (a fresh array, dropped by the caller after use), so the parity code that takes dicts (diff_dicts,
with_noise_floor, layer_diffs) streams through a run one tensor at a time. Shapes are kept in memory for the
structural checks. Files are plain .npy; the folder is removed with `close()` (or by the TemporaryDirectory that
owns it).
"""
from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Dict, Iterator, Tuple

import numpy as np


class SpillStore(MutableMapping):
    def __init__(self, folder, name: str):
        self.dir = Path(folder) / name
        self.dir.mkdir(parents=True, exist_ok=False)
        self._files: Dict[str, Path] = {}
        self.shapes: Dict[str, Tuple[int, ...]] = {}
        self.bytes_written = 0
        self._last = None

    def __setitem__(self, key: str, value) -> None:
        array = np.asarray(value)
        path = self._files.get(key) or self.dir / f"{len(self._files)}.npy"
        np.save(path, np.asarray(array, order="C"), allow_pickle=False)  # (ascontiguousarray makes 0-d 1-d)
        self._files[key] = path
        self._last = None
        self.shapes[key] = tuple(array.shape)
        self.bytes_written += array.nbytes

    def __getitem__(self, key: str) -> np.ndarray:
        """The array; the last one read is kept, so a diff and its noise floor read a tensor from disk once."""
        if self._last is None or self._last[0] != key:
            self._last = (key, np.load(self._files[key], allow_pickle=False))
        return self._last[1]

    def __delitem__(self, key: str) -> None:
        self._last = None
        self._files.pop(key).unlink()
        self.shapes.pop(key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._files))

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, key) -> bool:
        return key in self._files


class Spill:
    """The stores of one run_checks call, in one folder."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.stores = []

    def store(self, name: str) -> SpillStore:
        s = SpillStore(self.folder, f"{len(self.stores)}_{name}")
        self.stores.append(s)
        return s

    @property
    def bytes_written(self) -> int:
        return sum(s.bytes_written for s in self.stores)

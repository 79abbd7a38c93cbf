"""Tensor-by-tensor safetensors I/O, numpy only: the converter's low-memory path.

The format (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data. `Reader` parses and
validates the header (offsets inside the file, sizes matching shape x dtype: a truncated download is caught before any
output is written) and reads one tensor at a time with plain file reads, so memory holds one tensor, never the file.
`write_streaming` writes the header first (every shape and dtype is known from the table) and then each tensor as its
producer hands it over. bfloat16 travels as its raw 16-bit pattern (numpy has no bfloat16): bit-exact.
"""
from __future__ import annotations

import hashlib
import json
import queue
import threading
import struct
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from .errors import KitError
from .files import read_json, sha256_file

# safetensors dtype code -> numpy dtype holding the same bytes (BF16 as its raw uint16 pattern)
DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
          "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
FLOAT_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16"}
MAX_HEADER = 100 * 1024 * 1024


class Hasher:
    """sha256 on a worker thread (hashlib releases the GIL on large buffers), so hashing overlaps the reads,
    transposes and writes on a second core. At most 4 buffers wait in the queue."""

    def __init__(self):
        self._h = hashlib.sha256()
        self._q: "queue.Queue" = queue.Queue(maxsize=4)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            b = self._q.get()
            if b is None:
                return
            self._h.update(b)

    def update(self, b) -> None:
        self._q.put(b)

    def hexdigest(self) -> str:
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()
        return self._h.hexdigest()


class Reader:
    def __init__(self, path):
        """Parse and validate the header. The file's sha256 is computed on the way: bytes read in file order are
        hashed as they pass, `sha256()` reads whatever was not."""
        self.path = Path(path)
        self._hash = Hasher()
        try:
            self.size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise KitError(f"{self.path}: truncated safetensors file ({self.size} bytes, no header)")
                (n,) = struct.unpack("<Q", head)
                if n > MAX_HEADER or 8 + n > self.size:
                    raise KitError(f"{self.path}: truncated or corrupt safetensors file (header of {n} bytes, "
                                   f"file of {self.size})")
                raw = f.read(n)
                self._hash.update(head + raw)
                header = json.loads(raw.decode("utf-8"))
        except OSError as e:
            raise KitError(f"{self.path}: cannot read ({e})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise KitError(f"{self.path}: corrupt safetensors header ({e})") from None
        self.metadata: Dict[str, str] = header.pop("__metadata__", None) or {}
        self.data_start = self._pos = 8 + n
        self.tensors: Dict[str, dict] = header
        for name, info in header.items():
            code, shape, (begin, end) = info.get("dtype"), info.get("shape"), info.get("data_offsets", (0, -1))
            if code not in DTYPES:
                raise KitError(f"{self.path}: tensor {name}: unsupported dtype {code!r}")
            want = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[code]).itemsize
            if end - begin != want:
                raise KitError(f"{self.path}: tensor {name}: {end - begin} bytes for shape {shape} {code}")
            if self.data_start + end > self.size:
                raise KitError(f"{self.path}: truncated: tensor {name} ends at byte {self.data_start + end}, the "
                               f"file has {self.size}")

    def keys(self) -> List[str]:
        return list(self.tensors)

    def dtype(self, name: str) -> str:
        return self.tensors[name]["dtype"]

    def shape(self, name: str) -> Tuple[int, ...]:
        return tuple(self.tensors[name]["shape"])

    def read(self, name: str) -> np.ndarray:
        info = self.tensors[name]
        begin, end = info["data_offsets"]
        array = np.empty(info["shape"], dtype=DTYPES[info["dtype"]])  # filled by readinto: no zeroing pass
        buf = array.reshape(-1).view(np.uint8).data
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.data_start + begin)
            got = 0
            while got < len(buf):
                n = f.readinto(buf[got:])
                if not n:
                    raise KitError(f"{self.path}: truncated while reading {name}")
                got += n
        if self.data_start + begin == self._pos:
            self._hash.update(buf)
            self._pos += len(buf)
        return array


    def in_file_order(self, names: Iterable[str]) -> List[str]:
        return sorted(names, key=lambda k: self.tensors[k]["data_offsets"][0])

    def sha256(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self._pos)
            for chunk in iter(lambda: f.read(1 << 22), b""):
                self._hash.update(chunk)
                self._pos += len(chunk)
        return self._hash.hexdigest()


class ShardedReader:
    """The shards of a `*.safetensors.index.json`, read as one."""

    def __init__(self, index_path):
        self.path = Path(index_path)
        index = read_json(self.path)
        if "weight_map" not in index:
            raise KitError(f"{self.path}: no 'weight_map' in shard index")
        self.readers = {shard: Reader(self.path.parent / shard) for shard in sorted(set(index["weight_map"].values()))}
        self.where = {}
        for shard, r in self.readers.items():
            for k in r.keys():
                self.where[k] = r
        missing = sorted(set(index["weight_map"]) - set(self.where))
        if missing:
            raise KitError(f"{self.path}: keys listed in the index but absent from the shards: {', '.join(missing[:10])}")
        self.metadata = next(iter(self.readers.values())).metadata if self.readers else {}

    def keys(self):
        return list(self.where)

    def dtype(self, name):
        return self.where[name].dtype(name)

    def shape(self, name):
        return self.where[name].shape(name)

    def read(self, name):
        return self.where[name].read(name)

    def in_file_order(self, names):
        shards = list(self.readers.values())
        return sorted(names, key=lambda k: (shards.index(self.where[k]), self.where[k].tensors[k]["data_offsets"][0]))

    def sha256_files(self) -> Dict[str, str]:
        return {**{shard: r.sha256() for shard, r in self.readers.items()}, self.path.name: _sha(self.path)}


def _sha(path) -> str:
    return sha256_file(Path(path))


def open_safetensors(path):
    return ShardedReader(path) if str(path).endswith(".index.json") else Reader(path)


def cast(array: np.ndarray, code: str, to_code: str) -> np.ndarray:
    """Cast between float codes; bfloat16 arrays are uint16 bit patterns (round-to-nearest-even into bfloat16)."""
    if code == to_code:
        return array
    if code == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    if to_code == "BF16":
        bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
        rounded = bits + (0x7FFF + ((bits >> 16) & 1))
        out = (rounded >> 16).astype(np.uint16)
        nan = np.isnan(array)
        return np.where(nan, np.uint16(0x7FC0), out) if nan.any() else out
    return array.astype(DTYPES[to_code])


def write_streaming(path, items: Iterable[Tuple[str, str, Tuple[int, ...], Callable[[], np.ndarray]]],
                    metadata: Optional[Dict[str, str]] = None) -> str:
    """Write (name, dtype code, shape, producer) items to `path`, one producer call at a time. Each produced array
    must have exactly the declared shape and byte size. Returns the file's sha256 (hashed while writing)."""
    items = list(items)
    header, offset = {}, 0
    for name, code, shape, _ in items:
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[code]).itemsize
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # data aligned to 8 bytes, as the reference writer does
    digest = Hasher()
    with open(path, "wb") as f:
        for chunk in (struct.pack("<Q", len(blob)), blob):
            f.write(chunk)
            digest.update(chunk)
        for name, code, shape, produce in items:
            array = np.ascontiguousarray(produce())
            if tuple(array.shape) != tuple(shape) or array.dtype != np.dtype(DTYPES[code]):
                raise KitError(f"{path}: {name} produced {array.dtype}{list(array.shape)}, declared {code}{list(shape)}")
            data = array.reshape(-1).view(np.uint8).data
            f.write(data)
            digest.update(data)
            del array, data
    return digest.hexdigest()

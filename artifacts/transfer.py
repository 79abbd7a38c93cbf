"""One file over HTTP(S), the way the kit trusts it: streamed to a partial file with its hashes taken on the way
(sha256, md5, git blob sha1 - whatever is expected - in the same pass), resumed with `Range: bytes=N-` after a
dropped connection or an interrupted run (the bytes already on disk are hashed, never fetched again), retried on a
server error, checked (size and every expected hash), and only then renamed into place. A mismatch removes the
partial file and names the file, the expected and the received value."""
from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

from reprokit import KitError

CHUNK = 4 << 20
RETRIES = 4


@dataclass
class Expected:
    """What a file must be; None where unknown."""
    size: Optional[int] = None
    sha256: Optional[str] = None
    md5: Optional[str] = None
    git_sha1: Optional[str] = None   # a git blob id (the hub's id of a file not stored with LFS)


@dataclass
class Result:
    path: Path
    size: int
    sha256: str
    sent: int                        # bytes the server sent in this call (resumed bytes are not re-sent)
    resumed_from: int = 0
    checked: Dict[str, str] = field(default_factory=dict)   # hash name -> value that matched an expectation


class _Hashes:
    """The expected hashes of one stream, taken in a worker thread (hashlib releases the GIL on large buffers), so
    hashing overlaps receiving and writing on another core; still one pass over the bytes."""

    def __init__(self, expected: Expected, size_hint: Optional[int]):
        self.h = {"sha256": hashlib.sha256()}
        if expected.md5:
            self.h["md5"] = hashlib.md5()
        if expected.git_sha1:
            if size_hint is None:
                raise KitError("a git blob id can only be checked when the size is known")
            self.h["git_sha1"] = hashlib.sha1(f"blob {size_hint}\0".encode())
        self.q = queue.Queue(maxsize=16)
        self.worker = threading.Thread(target=self._run, daemon=True)
        self.worker.start()

    def _run(self):
        for data in iter(self.q.get, None):
            for h in self.h.values():
                h.update(data)

    def update(self, data: bytes):
        self.q.put(data)

    def digests(self) -> Dict[str, str]:
        self.q.put(None)
        self.worker.join()
        return {k: h.hexdigest() for k, h in self.h.items()}


def _hash_existing(path: Path, hashes: _Hashes) -> int:
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            hashes.update(chunk)
            n += len(chunk)
    return n


def download(url: str, dst: Path, expected: Expected, headers: Optional[dict] = None, partial_dir: Path = None,
             progress: bool = True, timeout: float = 60.0) -> Result:
    """Fetch `url` to `dst` (atomically) and verify it against `expected`. The partial file lives in `partial_dir`
    (default: beside dst) under a name derived from dst, with a small JSON noting the URL it belongs to."""
    dst = Path(dst)
    partial_dir = Path(partial_dir or dst.parent)
    partial_dir.mkdir(parents=True, exist_ok=True)
    part = partial_dir / (dst.name + ".part")
    meta = partial_dir / (dst.name + ".part.json")
    if part.exists() and (not meta.exists() or json.loads(meta.read_text()).get("url") != url):
        part.unlink()  # a partial file of another URL is not ours to continue
    meta.write_text(json.dumps({"url": url}))
    sent, resumed_from, attempt, hashes = 0, part.stat().st_size if part.exists() else 0, 0, None
    while True:
        if hashes is not None:
            hashes.digests()  # an abandoned attempt's worker: let it finish
        hashes = _Hashes(expected, expected.size)
        have = _hash_existing(part, hashes) if part.exists() else 0
        req = urllib.request.Request(url, headers={**(headers or {}), **({"Range": f"bytes={have}-"} if have else {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if have and resp.status != 206:   # the server ignored the range: start over
                    hashes.digests()
                    hashes, have = _Hashes(expected, expected.size), 0
                    part.unlink()
                total = _total_size(resp, have)
                if expected.size is not None and total is not None and total != expected.size:
                    raise KitError(f"{dst.name}: the server offers {total} bytes, expected {expected.size} ({url})")
                bar = _bar(progress, dst.name, total, have)
                with open(part, "ab") as f:
                    for chunk in iter(lambda: resp.read(CHUNK), b""):
                        f.write(chunk)
                        hashes.update(chunk)
                        sent += len(chunk)
                        have += len(chunk)
                        if bar:
                            bar.update(len(chunk))
                if bar:
                    bar.close()
                if total is not None and have < total:
                    raise ConnectionError(f"connection closed at {have} of {total} bytes")
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and have and expected.size == have:  # nothing left to send: the partial is whole
                break
            if e.code < 500 or attempt >= RETRIES:
                part.unlink(missing_ok=True)
                meta.unlink(missing_ok=True)
                raise KitError(f"{dst.name}: HTTP {e.code} {e.reason} for {url}") from None
        except (ConnectionError, TimeoutError, urllib.error.URLError, OSError) as e:
            if isinstance(e, KitError):
                raise
            if attempt >= RETRIES:
                raise KitError(f"{dst.name}: download failed after {attempt + 1} attempts ({e}); run the same "
                               "command again to resume") from None
        attempt += 1
        time.sleep(min(0.2 * 2 ** attempt, 2.0))
    got = hashes.digests()
    problems = []
    if expected.size is not None and have != expected.size:
        problems.append(f"size: expected {expected.size}, got {have}")
    for name in ("sha256", "md5", "git_sha1"):
        want = getattr(expected, name)
        if want and got.get(name) != want.lower():
            problems.append(f"{name}: expected {want}, got {got.get(name)}")
    if problems:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise KitError(f"{dst.name}: verification failed ({'; '.join(problems)}); nothing was kept ({url})")
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, dst)
    meta.unlink(missing_ok=True)
    checked = {k: v for k, v in got.items() if getattr(expected, k)}
    return Result(dst, have, got["sha256"], sent, resumed_from, checked)


def _total_size(resp, have: int) -> Optional[int]:
    rng = resp.headers.get("Content-Range")
    if rng and "/" in rng and not rng.endswith("/*"):
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return have + int(length) if length is not None else None


def _bar(progress: bool, name: str, total, initial: int):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=name, leave=False)


"""Small file helpers of the core: JSON in and out, sha256 of a file. Imported by checkpoint.py and
safetensors_io.py alike (neither imports the other's internals for them)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import KitError


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise KitError(f"{path}: not valid JSON ({e})") from None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def summary(doc: str) -> str:
    """A module docstring's first paragraph as one line: what a command's --help opens with (a whole sentence, not
    the first line of a wrapped one)."""
    return " ".join(doc.strip().split("\n\n")[0].split())

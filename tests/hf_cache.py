"""A Hugging Face cache the tests build, laid out as huggingface_hub 0.25 writes it (file-download.py): blobs named by
their etag, snapshots/<commit>/<file> symlinks to ../../blobs/<etag>, refs/<revision> holding the commit."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def put_in_hf_cache(cache: Path, repo_id: str, folder: Path, commit: str = "c" * 40, revision: str = "main",
                    repo_type: str = "model") -> Path:
    """Every file of `folder` as the snapshot `commit` of `repo_id`, `revision` pointing at it; returns the snapshot."""
    repo = Path(cache) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for f in sorted(Path(folder).rglob("*")):
        if not f.is_file():
            continue
        data = f.read_bytes()
        etag = hashlib.sha256(data).hexdigest()
        blob = repo / "blobs" / etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / f.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return snapshot

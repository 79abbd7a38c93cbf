"""Unpacking a downloaded archive (CLUE zips, GLUE zips, release tarballs) safely: every member must land inside the
destination - no absolute path, no `..`, no link, device or other special file - or nothing is unpacked. Members are
written into a temporary folder that is renamed into place."""
from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from reprokit import KitError


def _check_name(archive: Path, name: str) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in p.parts:
        raise KitError(f"{archive.name}: member {name!r} would be written outside the destination; nothing unpacked")


def unpack(archive: Path, dst: Path) -> Path:
    """Unpack `archive` (zip, tar, tar.gz, tgz) into the new folder `dst`."""
    archive, dst = Path(archive), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.unpack-", dir=dst.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    _check_name(archive, info.filename)
                    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (a plain file)
                    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                        raise KitError(f"{archive.name}: member {info.filename!r} is a link or special file; "
                                       "nothing unpacked")
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                members = t.getmembers()
                for m in members:
                    _check_name(archive, m.name)
                    if not (m.isfile() or m.isdir()):
                        raise KitError(f"{archive.name}: member {m.name!r} is a link or special file; "
                                       "nothing unpacked")
                t.extractall(tmp, members=members)
        else:
            raise KitError(f"{archive}: not a zip or tar archive")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst

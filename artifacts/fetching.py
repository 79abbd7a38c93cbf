"""Fetch an artefact of the registry (or any hub repo / URL) into a local folder, verified.

Where the trust comes from, per file: the registry's sha256 (or md5), the hub's metadata (the sha256 of an LFS file,
the git blob id of a small one), or the destination's lock file (`fetch.lock.json`: what the first fetch of an
artefact received; later fetches must receive the same). A file is streamed to a partial file, hashed on the way,
checked, and renamed into place (artifacts/transfer.py); an interrupted fetch resumes on the next call. The artefact's
folder gets `.fetch.json` (every file's size and sha256, its source and how it was verified) and, for model
weights, the kit's `kit_manifest.json`, which lets the checkpoint reader open a pickled .pdparams / .bin without
--trust-pickle - only for files whose sha256 matched an expectation.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import urlparse

from reprokit import KitError
from reprokit.files import read_json, sha256_file

from .archive import unpack
from .transfer import Expected, download

REGISTRY = Path(__file__).with_name("registry.json")
STATE = ".fetch.json"
LOCK = "fetch.lock.json"
MANIFEST = "kit_manifest.json"
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")


def default_home() -> Path:
    """Where fetched artefacts live unless --dest says otherwise: $REPROKIT_HOME, else ~/.cache/reprokit."""
    return Path(os.environ.get("REPROKIT_HOME") or Path.home() / ".cache" / "reprokit")


def load_registry(extra=()) -> Dict[str, dict]:
    """The kit's registry plus any extra registry files (e.g. a published release's registry_entry.json)."""
    entries = dict(read_json(REGISTRY)["artifacts"])
    for path in list(extra) + [p for p in os.environ.get("REPROKIT_REGISTRY", "").split(os.pathsep) if p]:
        data = read_json(Path(path))
        entries.update(data.get("artifacts", data))
    return entries


@dataclass
class Item:
    name: str                         # path inside the artefact folder
    url: str
    expected: Expected
    headers: dict = field(default_factory=dict)
    unpack: bool = False
    trusted_by: Optional[str] = None  # where the expected sha256 / md5 / git id came from


@dataclass
class Plan:
    name: str
    folder: Path
    items: List[Item]
    source: dict
    revision: Optional[str] = None
    kind: str = "data"
    data_dir: Optional[str] = None


def _safe(name: str) -> str:
    return name.replace("/", "__").replace(":", "_").replace("@", "_at_")


def artefact_folder(dest: Path, name: str) -> Path:
    if name.startswith("hf://"):
        return dest / "hf" / name[len("hf://"):].replace("@", "_at_")
    if name.startswith(("https://", "http://")):
        u = urlparse(name)
        return dest / "url" / u.netloc.replace(":", "_") / Path(u.path).parent.relative_to("/")
    return dest / name


def resolve(target: str, registry: Dict[str, dict], include=None, sha256: Optional[str] = None) -> (str, dict):
    """(name, entry) for a registry name, an `hf://ORG/REPO@REV` (datasets: hf://datasets/ORG/REPO@REV) or a URL."""
    if target.startswith("hf://"):
        spec = target[len("hf://"):]
        repo, _, rev = spec.partition("@")
        repo_type = "model"
        if repo.startswith("datasets/"):
            repo_type, repo = "dataset", repo[len("datasets/"):]
        if repo.count("/") > 1 or not repo:
            raise KitError(f"{target}: use hf://ORG/REPO@REVISION (hf://datasets/ORG/REPO@REVISION for a data set)")
        return target, {"kind": "hub", "sources": [{"mirror": "hf", "repo": repo, "repo_type": repo_type,
                                                     "revision": rev or "main", "files": list(include or ["*"])}]}
    if target.startswith(("https://", "http://")):
        name = Path(urlparse(target).path).name
        if not name:
            raise KitError(f"{target}: the URL names no file")
        return target, {"kind": "file", "sources": [{"mirror": "https", "items": [
            {"name": name, "url": target, "sha256": sha256, "unpack": name.endswith(ARCHIVES)}]}]}
    key = target.lower() if target.lower() in registry else target
    if key not in registry:
        close = [k for k in registry if target.lower().split("/")[-1] in k.lower()]
        raise KitError(f"{target}: not in the registry ({'did you mean ' + ', '.join(close[:5]) + '? ' if close else ''}"
                       "python fetch.py --list shows every name)")
    entry = registry[key]
    if "alias" in entry:
        return resolve(entry["alias"], registry, include, sha256)
    return key, entry


# ---- planning: what to download, with what expectations -------------------------------------------------------------
def _lock_files(lock: dict, name: str) -> dict:
    return lock.get(name, {}).get("files", {})


def _items_source(name, entry, source, lock) -> Plan:
    locked = _lock_files(lock, name)
    items = []
    for it in source["items"]:
        exp = Expected(size=it.get("size"), sha256=it.get("sha256"), md5=it.get("md5"))
        trusted = "registry" if (exp.sha256 or exp.md5) else None
        if it["name"] in locked:
            exp.sha256 = exp.sha256 or locked[it["name"]]["sha256"]
            exp.size = exp.size or locked[it["name"]]["size"]
            trusted = trusted or "lock"
        items.append(Item(it["name"], it["url"], exp, unpack=it.get("unpack", False), trusted_by=trusted))
    return Plan(name, Path(), items, source)


def _hub_source(name, entry, source, lock, endpoint) -> Plan:
    """The files of a hub repo at a commit: sizes and hashes from the hub's own metadata (huggingface_hub)."""
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.utils import build_hf_headers
    api = HfApi(endpoint=endpoint)
    revision = lock.get(name, {}).get("revision") or source.get("revision") or "main"
    repo, repo_type = source["repo"], source.get("repo_type", "model")
    try:
        info = (api.dataset_info if repo_type == "dataset" else api.model_info)(repo, revision=revision,
                                                                                files_metadata=True)
    except Exception as e:  # the client's errors: repository / revision not found, connection refused
        raise KitError(f"{name}: the hub cannot list {repo_type} {repo}@{revision} ({type(e).__name__}: "
                       f"{str(e).splitlines()[0]})") from None
    siblings = {s.rfilename: s for s in info.siblings or []}
    wanted = [f for f in siblings if any(fnmatch.fnmatch(f, pat) for pat in source.get("files", ["*"]))]
    weights = [w for w in source.get("weights", []) if w in siblings][:1]
    if source.get("weights") and not weights:
        raise KitError(f"{name}: {repo}@{info.sha} has none of the weight files {source['weights']}")
    if not wanted + weights:
        raise KitError(f"{name}: {repo}@{info.sha} has no file matching {source.get('files')}")
    headers = build_hf_headers()
    locked = _lock_files(lock, name)
    items = []
    for f in sorted(set(wanted + weights)):
        s = siblings[f]
        exp = Expected(size=s.size, sha256=s.lfs.sha256 if s.lfs else None,
                       git_sha1=None if s.lfs else s.blob_id)
        trusted = "hub metadata" if (exp.sha256 or exp.git_sha1) else None
        known = entry.get("files", {}).get(f)  # a release's registry entry lists every file's sha256
        if known:
            if exp.sha256 and exp.sha256 != known["sha256"]:
                raise KitError(f"{name}: the hub's sha256 of {f} ({exp.sha256}) is not the registry's "
                               f"({known['sha256']})")
            exp.sha256, exp.size, trusted = known["sha256"], known["size"], "registry"
        if f in locked:
            exp.sha256 = exp.sha256 or locked[f]["sha256"]
            trusted = trusted or "lock"
        url = hf_hub_url(repo, f, repo_type=repo_type, revision=info.sha, endpoint=endpoint)
        items.append(Item(f, url, exp, headers=headers, trusted_by=trusted))
    return Plan(name, Path(), items, source, revision=info.sha)


def _aistudio_source(name, entry, source, lock) -> Plan:
    """Files of an AI Studio repo, at the URLs and with the headers aistudio-sdk uses (STUDIO_GIT_HOST,
    AISTUDIO_ACCESS_TOKEN), through the kit's verified downloader: the SDK itself keeps a 404's body as the file and
    never fetches an existing blob again. Expectations: the registry's sha256 (a release lists every file) or the lock."""
    from urllib.parse import quote

    from aistudio_sdk import config
    from aistudio_sdk.requests.hub import _header_fill
    host = os.getenv("STUDIO_GIT_HOST", config.STUDIO_GIT_HOST_DEFAULT).rstrip("/")
    user, repo = source["repo"].split("/")
    rev = source.get("revision", "master")
    known, locked = entry.get("files", {}), _lock_files(lock, name)
    items = []
    for f in source["files"]:
        url = f"{host}/api/v1/repos/{quote(user, safe='')}/{quote(repo, safe='')}/media/{quote(f, safe='')}" + \
            ("" if rev == "master" else f"?ref={quote(rev, safe='')}")
        rec = known.get(f) or locked.get(f)
        exp = Expected(size=rec["size"], sha256=rec["sha256"]) if rec else Expected()
        items.append(Item(f, url, exp, headers=_header_fill(), trusted_by=("registry" if f in known else "lock")
                          if rec else None))
    return Plan(name, Path(), items, source)


def plan(name: str, entry: dict, dest: Path, lock: dict, mirror: Optional[str], endpoint: Optional[str]) -> Plan:
    sources = entry["sources"]
    if mirror:
        sources = [s for s in sources if s["mirror"] == mirror]
        if not sources:
            raise KitError(f"{name}: no {mirror} source (it has: {', '.join(s['mirror'] for s in entry['sources'])})")
    errors = []
    for source in sources:
        try:
            if source["mirror"] == "hf":
                p = _hub_source(name, entry, source, lock, endpoint)
            elif source["mirror"] == "aistudio":
                p = _aistudio_source(name, entry, source, lock)
            else:
                p = _items_source(name, entry, source, lock)
        except KitError as e:
            errors.append(str(e))
            continue
        p.folder, p.kind, p.data_dir = artefact_folder(dest, name), entry.get("kind", "data"), entry.get("data_dir")
        return p
    raise KitError("; ".join(errors))


# ---- the cache --------------------------------------------------------------------------------------------------------
def read_state(folder: Path) -> Optional[dict]:
    path = folder / STATE
    return json.loads(path.read_text()) if path.is_file() else None


def cached(name: str, folder: Path, lock: dict, full: bool) -> Optional[dict]:
    """The state of a complete earlier fetch, re-verified: cheaply (every file there with its recorded size, and the
    recorded sha256 equal to the lock's) or fully (every file hashed again). None when it must be fetched."""
    state = read_state(folder)
    if not state or not state.get("complete"):
        return None
    locked = _lock_files(lock, name)
    for rel, rec in state["files"].items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != rec["size"]:
            return None
        if rel in locked and locked[rel]["sha256"] != rec["sha256"]:
            raise KitError(f"{path}: recorded sha256 {rec['sha256']} differs from the lock's {locked[rel]['sha256']}")
        if full and sha256_file(path) != rec["sha256"]:
            raise KitError(f"{path}: changed on disk since it was fetched (sha256 differs from {rec['sha256']}); "
                           f"delete {folder} and fetch again")
    return state


# ---- fetching ---------------------------------------------------------------------------------------------------------
def fetch(target: str, dest=None, offline: bool = False, verify: bool = False, mirror: Optional[str] = None,
          endpoint: Optional[str] = None, include=None, sha256: Optional[str] = None, registry_files=(),
          progress: bool = True, log=print) -> Path:
    """Fetch `target` into `dest` (default_home()) and return the folder a task reads (or the file, for a URL)."""
    dest = Path(dest or default_home()).resolve()
    registry = load_registry(registry_files)
    name, entry = resolve(target, registry, include, sha256)
    folder = artefact_folder(dest, name)
    lock_path = dest / LOCK
    lock = json.loads(lock_path.read_text()) if lock_path.is_file() else {}
    state = cached(name, folder, lock, full=verify)
    if state is None:
        if offline:
            raise KitError(f"{name}: not in {dest} and --offline forbids downloading; run: python fetch.py {target}"
                           + (f" --dest {dest}" if dest != default_home().resolve() else ""))
        t0 = time.time()
        p = plan(name, entry, dest, lock, mirror, endpoint)
        state = _download_all(p, dest, progress)
        _record_lock(lock_path, lock, name, state)
        verified = sorted({f["verified_by"] for f in state["files"].values()})
        log(f"{name}: {len(state['files'])} files, {sum(f['size'] for f in state['files'].values())} bytes, "
            f"{time.time() - t0:.1f} s, verified ({', '.join(verified)})", file=sys.stderr)
    else:
        log(f"{name}: cached in {folder} ({len(state['files'])} files, "
            f"{'re-hashed' if verify else 'sizes and recorded sha256 checked'})", file=sys.stderr)
    out = folder / state["data_dir"] if state.get("data_dir") else folder
    if entry.get("kind") == "file" and len(state["files"]) == 1 and not state.get("unpacked"):
        out = folder / next(iter(state["files"]))
    return out


def _download_all(p: Plan, dest: Path, progress: bool) -> dict:
    partial = dest / ".partial" / _safe(p.name)
    staging = Path(tempfile.mkdtemp(prefix=f".{p.folder.name}.staging-", dir=_mkdir(p.folder.parent)))
    try:
        files, unpacked = {}, False
        for it in p.items:
            r = download(it.url, staging / it.name, it.expected, it.headers, partial / Path(it.name).parent,
                         progress=progress)
            how = it.trusted_by if r.checked else "first fetch (sha256 recorded in the lock)"
            if it.unpack:
                unpack(r.path, staging / "_unpacked")
                for f in sorted((staging / "_unpacked").rglob("*")):
                    if f.is_file():
                        rel = f.relative_to(staging / "_unpacked")
                        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                        os.replace(f, staging / rel)
                        files[str(rel)] = {"size": (staging / rel).stat().st_size, "sha256": sha256_file(staging / rel),
                                           "verified_by": f"inside {it.name}"}
                shutil.rmtree(staging / "_unpacked")
                unpacked = True
            files[it.name] = {"size": r.size, "sha256": r.sha256, "verified_by": how,
                              "trusted": bool(r.checked and it.trusted_by)}
        state = {"name": p.name, "source": p.source, "revision": p.revision, "files": files, "complete": True,
                 "data_dir": p.data_dir, "unpacked": unpacked, "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                    time.gmtime())}
        if p.kind in ("model", "hub"):
            # the checkpoint reader's pickle rule: it opens a .pdparams / .bin that its folder's manifest vouches for
            by_folder = {}
            for n, f in files.items():
                if f.get("trusted"):
                    by_folder.setdefault(str(Path(n).parent), {})[Path(n).name] = f["sha256"]
            for folder, vouched in by_folder.items():
                (staging / folder / MANIFEST).write_text(json.dumps({"tool": "reprokit fetch", "source": p.name,
                                                                     "files": vouched}, indent=2) + "\n")
        (staging / STATE).write_text(json.dumps(state, indent=2) + "\n")
        if p.folder.exists():
            shutil.rmtree(p.folder)
        os.replace(staging, p.folder)
        shutil.rmtree(partial, ignore_errors=True)
        return state
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_lock(lock_path: Path, lock: dict, name: str, state: dict) -> None:
    """The first fetch's sizes and sha256 (and hub commit) become what later fetches must receive."""
    entry = lock.setdefault(name, {"files": {}})
    if state.get("revision"):
        entry.setdefault("revision", state["revision"])
    for rel, f in state["files"].items():
        if not f["verified_by"].startswith("inside "):
            entry["files"].setdefault(rel, {"size": f["size"], "sha256": f["sha256"]})
    tmp = lock_path.with_name(f".{lock_path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, lock_path)


def data_path(name: str, dest=None) -> Path:
    """The local folder of a fetched data set, for the task scripts; a clear error naming the fetch command when it
    is not there."""
    dest = Path(dest or default_home())
    registry = load_registry()
    name, entry = resolve(name, registry)
    folder = artefact_folder(dest, name)
    state = read_state(folder)
    if not state or not state.get("complete"):
        raise KitError(f"{name}: no data given and none fetched in {dest}; run: python fetch.py {name}"
                       + ("" if dest == default_home() else f" --dest {dest}") + " (or pass the data path)")
    return folder / state["data_dir"] if state.get("data_dir") else folder


def list_registry(registry: Dict[str, dict], dest=None) -> List[str]:
    dest = Path(dest or default_home())
    rows = []
    for name, e in sorted(registry.items()):
        if "alias" in e:
            rows.append(f"{name:45s} alias of {e['alias']}")
            continue
        src = e["sources"][0]
        where = f"hf {src['repo']}@{src.get('revision', 'main')}" if src["mirror"] == "hf" else \
            f"{src['mirror']} {src['items'][0]['url']}"
        sizes = [i.get("size") for s in e["sources"][:1] for i in s.get("items", [])]
        size = f"{sum(sizes) / 1e6:.0f} MB" if sizes and all(sizes) else "size: first fetch"
        known = any(i.get("sha256") or i.get("md5") for s in e["sources"] for i in s.get("items", []))
        check = "md5/sha256 in registry" if known else ("hub metadata" if src["mirror"] == "hf" else "lock on first fetch")
        fetched = "fetched" if (read_state(artefact_folder(dest, name)) or {}).get("complete") else ""
        mirrors = "/".join(s["mirror"] for s in e["sources"])
        rows.append(f"{name:45s} {e.get('kind', ''):5s} {mirrors:9s} {size:17s} {check:22s} {where} {fetched}")
    return rows

"""Names as the ecosystems resolve them: a model or data set given by a directory or by a name.

    resolve_model("funnel-transformer/xlarge")               # a registry name (also a hub repo id)
    resolve_model("chinese_GAU-alpha-char_L-24_H-768")       # PaddleNLP's built-in name: a registry alias
    resolve_model("ORG/REPO", revision="v1.0")               # any hub repo, at a branch, tag or commit
    resolve_model("out/qnli")                                # a local directory: returned as it is

Look-up order: a local directory; the kit's fetch store (`$REPROKIT_HOME`, else ~/.cache/reprokit, what fetch.py
wrote); the Hugging Face cache as huggingface_hub / transformers leave it (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
~/.cache/huggingface/hub: models--ORG--NAME/refs/REVISION -> snapshots/COMMIT/); then a download through the kit's
verified fetch (artifacts/fetching.py; `HF_ENDPOINT` honoured). Offline (`HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE`
or `REPROKIT_OFFLINE` set to 1): the caches only, else one line naming the fetch command. Every variable is read when
a name is resolved, not when the module is imported.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Tuple

from reprokit import KitError

from . import fetching

_TRUE = ("1", "ON", "YES", "TRUE")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# a hub repo id: ORG/NAME, or a bare canonical name (bert-base-chinese) as transformers accepts it
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json",
           "model_state.pdparams")


def is_offline() -> bool:
    return any(os.environ.get(v, "").upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                                                                 "REPROKIT_OFFLINE"))


def hf_cache_dir() -> Path:
    """huggingface_hub's cache folder, by its own rule (constants.py), read now."""
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    return Path(hub).expanduser()


def in_hf_cache(repo_id: str, revision: str = "main", repo_type: str = "model", need=("config.json",),
                cache_dir=None) -> Optional[Path]:
    """The snapshot folder of `repo_id` at `revision` (a branch or tag through refs/, or a commit) in the Hugging Face
    cache, if it holds every file in `need` (a tuple entry means any one of its names)."""
    repo_folder = Path(cache_dir or hf_cache_dir()) / f"{repo_type}s--{repo_id.replace('/', '--')}"
    if _COMMIT.match(revision):
        commit = revision
    else:
        ref = repo_folder / "refs" / revision
        if not ref.is_file():
            return None
        commit = ref.read_text().strip()
    snapshot = repo_folder / "snapshots" / commit
    if not snapshot.is_dir():
        return None
    for n in need:
        if not any((snapshot / m).is_file() for m in ((n,) if isinstance(n, str) else n)):
            return None
    return snapshot


def _registry_entry(name: str, registry: dict) -> Tuple[Optional[str], Optional[dict]]:
    try:
        return fetching.resolve(name, registry)
    except KitError:
        return None, None


def _hub_source(entry: dict) -> Optional[dict]:
    return next((s for s in entry.get("sources", []) if s["mirror"] == "hf"), None)


def _complete(folder: Path) -> Optional[Path]:
    state = fetching.read_state(folder)
    if state and state.get("complete"):
        return folder / state["data_dir"] if state.get("data_dir") else folder
    return None


def resolve_model(name_or_path, revision: Optional[str] = None, need_weights: bool = True,
                  offline: Optional[bool] = None) -> Path:
    """The local folder of a checkpoint given by directory or name (see the module's docstring)."""
    text = str(name_or_path)
    local = Path(text).expanduser()
    if local.is_dir():
        return local
    registry = fetching.load_registry()
    key, entry = _registry_entry(text, registry)
    if key is None and not _REPO_ID.match(text):
        raise KitError(f"{text}: no such directory, and not a name the kit knows (a registry name - python fetch.py "
                       "--list -, a PaddleNLP built-in name or a hub repo id ORG/NAME)")
    source = _hub_source(entry) if entry else None
    repo = source["repo"] if source else text
    registry_rev = (source.get("revision") if source else None) or "main"
    rev = revision or registry_rev
    target = key if key and rev == registry_rev else f"hf://{repo}@{rev}"
    store = fetching.default_home()
    need = ("config.json",) + ((WEIGHTS,) if need_weights else ())
    fetched = [target] + [f"hf://{repo}@{rev}"] + ([f"hf://{repo}"] if rev == "main" else [])
    for name in dict.fromkeys(fetched):  # what fetch.py wrote for this name, in the order fetch.py names it
        found = _complete(fetching.artefact_folder(store, name))
        if found is not None and (found / "config.json").is_file():
            return found
    if key is None or source is not None:
        snapshot = in_hf_cache(repo, rev, need=need)
        if snapshot is not None:
            return snapshot
    if is_offline() if offline is None else offline:
        raise KitError(f"{text}: not in the kit's store ({store}) nor in the Hugging Face cache ({hf_cache_dir()}), "
                       f"and offline mode is on; run: python fetch.py {target}")
    try:
        return fetching.fetch(target, endpoint=os.environ.get("HF_ENDPOINT") or None)
    except KitError as e:
        raise KitError(f"{text}: no local directory of that name, and fetching it failed: {e}") from None


def resolve_data(name: str, offline: Optional[bool] = None) -> Path:
    """The local folder of a registry data set (glue/qnli, squad/v2.0, clue/afqmc, cluener): the fetched copy, else
    fetched now, else (offline) one line naming the fetch command."""
    registry = fetching.load_registry()
    key, entry = fetching.resolve(name, registry)
    store = fetching.default_home()
    found = _complete(fetching.artefact_folder(store, key))
    if found is not None:
        return found
    if is_offline() if offline is None else offline:
        raise KitError(f"{key}: no data given and none fetched in {store}, and offline mode is on; run: python "
                       f"fetch.py {key} (or pass the data path)")
    try:
        return fetching.fetch(key, endpoint=os.environ.get("HF_ENDPOINT") or None)
    except KitError as e:
        raise KitError(f"{key}: no data given, none fetched in {store}, and fetching it failed: {e} (pass the data "
                       "path, or run python fetch.py " + key + " where the network reaches it)") from None

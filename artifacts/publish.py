"""A task script's output folder as a release others can fetch: the model in the HF/torch layout at the top (what
transformers-style loaders and both of the kit's backends read) and in the Paddle layout under paddle/, the tokenizer
files, a model card with the evaluation results and the exact command, the run's record, a manifest with every file's
sha256, and a registry entry (`python fetch.py NAME --registry registry_entry.json` fetches it back, verified).
Uploading is the hubs' own: the calls are printed."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from reprokit import KitError
from reprokit.checkpoint import MANIFEST_NAME, TORCH_FILES, find_weights, read_config
from reprokit.convert import convert
from reprokit.files import read_json, sha256_file

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
RUN_INFO = "kit_run.json"


def publish(run_dir, out, name: str = None, layouts=("torch", "paddle"), log=print) -> Path:
    run_dir, out = Path(run_dir), Path(out)
    if not (run_dir / RUN_INFO).is_file():
        raise KitError(f"{run_dir}: no {RUN_INFO}: not the output folder of a task script's training run")
    if out.exists():
        raise KitError(f"{out}: already exists")
    run = read_json(run_dir / RUN_INFO)
    config = read_config(run_dir)
    layout, weights = find_weights(run_dir)
    name = name or f"{os.environ.get('USER', 'user')}/{run.get('task', 'run').lower()}-{config.get('model_type')}"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.publish-", dir=out.parent))
    try:
        clean = staging / "_source"   # the model alone: no trainer state, no pickled training arguments
        clean.mkdir()
        keep = ("config.json", MANIFEST_NAME, *TOKENIZER_FILES, *TORCH_FILES, "model_state.pdparams")
        for f in run_dir.iterdir():
            if f.is_file() and (f.name in keep or f.name.startswith("model-")):
                shutil.copy2(f, clean / f.name)
        for target in layouts:
            where = staging / ("_torch" if target == "torch" else "paddle")
            if target == layout:
                shutil.copytree(clean, where)
            else:
                convert(clean, where, to=target)
        for f in (staging / "_torch").iterdir():  # the torch layout at the top of the release
            os.replace(f, staging / f.name)
        shutil.rmtree(staging / "_torch")
        shutil.rmtree(clean)
        log_dir = Path(run.get("log_dir", ""))
        results = read_json(log_dir / "eval_results.json") if (log_dir / "eval_results.json").is_file() else {}
        (staging / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n")
        (staging / RUN_INFO).write_text(json.dumps(run, indent=2) + "\n")
        (staging / "README.md").write_text(model_card(name, run, config, results))
        files = {str(p.relative_to(staging)): {"size": p.stat().st_size, "sha256": sha256_file(p)}
                 for p in sorted(staging.rglob("*")) if p.is_file() and p.name != MANIFEST_NAME}
        manifest = read_json(staging / MANIFEST_NAME) if (staging / MANIFEST_NAME).is_file() else {}
        manifest.update({"tool": "reprokit publish", "release": name,
                         "files": {**manifest.get("files", {}), **{k: v["sha256"] for k, v in files.items()}}})
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        entry = {"kind": "model", "model_type": config.get("model_type"),
                 "description": f"{run.get('task')} fine-tuned {config.get('model_type')} ({run.get('backend')} "
                                f"backend), published by the kit",
                 "sources": [{"mirror": "hf", "repo": name, "revision": "main", "files": sorted(files)},
                             {"mirror": "aistudio", "repo": name, "revision": "master", "files": sorted(files)}],
                 "files": files}
        (staging / "registry_entry.json").write_text(json.dumps({"artifacts": {name: entry}}, indent=2) + "\n")
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"release {name}: {len(files)} files in {out}. Upload with either hub's own client:\n"
        f"  python -c \"from huggingface_hub import HfApi; HfApi().create_repo('{name}', exist_ok=True); "
        f"HfApi().upload_folder(folder_path='{out}', repo_id='{name}')\"\n"
        f"  python -c \"import pathlib; from aistudio_sdk.hub import create_repo, upload; "
        f"create_repo(repo_id='{name}'); [upload(repo_id='{name}', path_or_fileobj=str(p), "
        f"path_in_repo=str(p.relative_to('{out}'))) for p in pathlib.Path('{out}').rglob('*') if p.is_file()]\"\n"
        f"then fetch it anywhere with: python fetch.py {name} --registry {out / 'registry_entry.json'}")
    return out


def model_card(name, run, config, results) -> str:
    rows = [f"| {split} | {k} | {v:.4f} |" for split, m in results.items() if isinstance(m, dict)
            for k, v in m.items() if isinstance(v, (int, float)) and not k.endswith(("runtime", "per_second"))]
    return "\n".join([
        "---", "library_name: transformers", "tags: [reprokit, paddlepaddle, " + str(config.get("model_type")) + "]",
        "---", "", f"# {name}", "",
        f"{config.get('model_type')} fine-tuned on {run.get('task')} with the dual-backend reproduction kit "
        f"({run.get('backend')} backend). The top folder is the HF/torch layout; `paddle/` the same weights in "
        "Paddle's layout. Both backends of the kit load either.", "",
        "## Evaluation", "", "| split | metric | value |", "|---|---|---|", *(rows or ["| - | - | - |"]), "",
        "## How it was trained", "", "```sh", run.get("command", "?"), "```", "",
        f"git commit {run.get('git_commit')}, {run.get('date')}, {run.get('machine')}, seed {run.get('seed')}.",
        "", "Every file's sha256 is in kit_manifest.json.", ""])

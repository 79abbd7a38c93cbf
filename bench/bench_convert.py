"""Conversion benchmark: the kit's streaming converter vs a naive one (load everything, transpose, save) vs a plain copy
of the same bytes, on a random xlarge-sized checkpoint (Funnel B10-10-10H1024 with a QA head, ~468M parameters, 1.9 GB
fp32, HF safetensors). Each job runs in its own process, measured in one run and in turn; prints peak RSS / checkpoint
size and wall time / copy time.

    python bench/bench_convert.py --out logs/bench          # builds the checkpoint under a temporary folder
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


import numpy as np

from reprokit.convert import table_for
from reprokit.safetensors_io import write_streaming
from reprokit.files import summary

XLARGE = dict(model_type="funnel", architectures=["FunnelForQuestionAnswering"], vocab_size=30522,
              block_sizes=[10, 10, 10], block_repeats=[1, 1, 1], num_decoder_layers=2, d_model=1024, n_head=16,
              d_head=64, d_inner=4096, num_labels=2)

# Each job is a child process so its peak RSS (ru_maxrss) is its own.
JOBS = {
    "plain copy of the bytes": "import shutil,sys; shutil.copyfile(sys.argv[1] + '/model.safetensors', sys.argv[2])",
    "kit convert.py (streaming)": "import sys; sys.argv = ['convert.py', sys.argv[1], sys.argv[2], '--to', 'paddle', "
                                  "'--paddle-format', 'safetensors']; import convert; sys.exit(convert.main())",
    "naive: load all, transpose, save": (
        "import sys, json, numpy as np; from safetensors.numpy import load_file, save_file; "
        "from reprokit.convert import table_for; "
        "cfg = json.load(open(sys.argv[1] + '/config.json')); state = load_file(sys.argv[1] + '/model.safetensors'); "
        "t = {p.name: p for p in table_for('funnel', cfg, 'FunnelForQuestionAnswering')}; "
        "out = {k: np.ascontiguousarray(v.T) if t[k].transpose else v for k, v in state.items()}; "
        "save_file(out, sys.argv[2])"),
    # the floors of the streaming job's work, each alone: what a manifest's sha256 and the transposes cost by themselves
    "floor: sha256 of the source bytes, one pass (the manifest hashes source and output: 2 passes)": (
        "import hashlib, sys; h = hashlib.sha256(); f = open(sys.argv[1] + '/model.safetensors', 'rb'); "
        "[h.update(b) for b in iter(lambda: f.read(1 << 24), b'')]; print(h.hexdigest())"),
    "floor: read + transpose the Linear weights (no write, no hash)": (
        "import sys, json; from safetensors import safe_open; from reprokit.convert import table_for; "
        "from reprokit.tables import transpose2d; cfg = json.load(open(sys.argv[1] + '/config.json')); "
        "t = {p.name: p for p in table_for('funnel', cfg, 'FunnelForQuestionAnswering')}; "
        "f = safe_open(sys.argv[1] + '/model.safetensors', 'np'); "
        "ks = [k for k in f.keys() if t[k].transpose]\nfor k in ks: x = transpose2d(f.get_tensor(k))"),
}


def make_checkpoint(folder: Path, config: dict) -> int:
    table = table_for("funnel", config, "FunnelForQuestionAnswering")
    rng = np.random.default_rng(0)
    items = [(p.name, "F32", p.shape, lambda p=p: rng.standard_normal(p.shape, dtype=np.float32) * 0.02)
             for p in table if not p.tied_to]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    write_streaming(folder / "model.safetensors", items, metadata={"format": "pt"})
    return sum(int(np.prod(p.shape)) for p in table if not p.tied_to)


def run_job(code: str, src: Path, dst: Path) -> dict:
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]], cwd=sys.argv[4]); "
               "dt = time.perf_counter() - t; "
               "print(); print(r.returncode, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, code, str(src), str(dst), str(Path.cwd())], capture_output=True,
                         text=True, check=True)
    rc, seconds, rss_kb = out.stdout.strip().splitlines()[-1].split()
    if int(rc) != 0:
        raise SystemExit(f"job failed: {code}\n{out.stderr}")
    return {"seconds": float(seconds), "peak_rss_bytes": int(rss_kb) * 1024}


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default="logs/bench")
    ap.add_argument("--smoke", action="store_true", help="a small checkpoint instead (checks the script runs)")
    ap.add_argument("--workdir", default=None, help="where to build the checkpoint (default: a temporary folder)")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_convert_"))
    try:
        src = work / "hf-xlarge-qa"
        n_params = make_checkpoint(src, dict(XLARGE, d_model=128, d_head=8, d_inner=256) if args.smoke else XLARGE)
        size = (src / "model.safetensors").stat().st_size
        results = {name: [] for name in JOBS}
        for r in range(args.repeats):  # in turn, so the page cache and drift treat every job alike
            for name, code in JOBS.items():
                dst = work / f"out-{r}-{abs(hash(name))}"
                target = dst if "convert.py" in name else dst.with_suffix(".safetensors")
                results[name].append(run_job(code, src, target))
                shutil.rmtree(dst, ignore_errors=True)
                dst.with_suffix(".safetensors").unlink(missing_ok=True)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    copy_s = min(x["seconds"] for x in results["plain copy of the bytes"])
    rows = []
    for name, runs in results.items():
        s, rss = min(x["seconds"] for x in runs), max(x["peak_rss_bytes"] for x in runs)
        rows.append({"job": name, "best_seconds": round(s, 2), "time_over_copy": round(s / copy_s, 2),
                     "peak_rss_gb": round(rss / 1e9, 3), "rss_over_checkpoint": round(rss / size, 3), "runs": runs})
    meta = {"command": "python " + " ".join(sys.argv), "checkpoint": "random Funnel xlarge + QA head, fp32 safetensors",
            "parameters": n_params, "checkpoint_bytes": size, "cores": os.cpu_count(), "repeats": args.repeats,
            "targets": "streaming: peak RSS <= 1.25 x checkpoint, time <= 2 x copy"}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "convert_xlarge.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    md = [f"# convert.py on a {size / 1e9:.2f} GB checkpoint ({n_params / 1e6:.0f}M parameters)", "",
          f"`{meta['command']}`  ", f"{meta['cores']} cores; best of {args.repeats} runs in turn; peak RSS of each job's "
          "own process (ru_maxrss)", "",
          "| job | best s | time / copy | peak RSS GB | RSS / checkpoint |", "|---|---|---|---|---|"]
    md += [f"| {r['job']} | {r['best_seconds']:.2f} | {r['time_over_copy']:.2f} | {r['peak_rss_gb']:.3f} | "
           f"{r['rss_over_checkpoint']:.3f} |" for r in rows]
    text = "\n".join(md) + "\n"
    (Path(args.out) / "convert_xlarge.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

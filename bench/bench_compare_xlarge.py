"""compare.py at the paper's size, before and after, in one run: peak RSS (measured from outside, /usr/bin/time -v's
"Maximum resident set size") and wall time of the Funnel-xlarge QA report as the kit made it at an earlier commit
(`--before`: float64 torch reference only, everything in memory) and as it makes it now (float64 logic check on both
sides, outputs / gradients / layer records / weights spilled to disk). Each runs in its own process, one after the
other; the earlier code runs from a temporary git worktree of that commit. Prints after/before ratios.

    python bench/bench_compare_xlarge.py --before 9dcf777
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from reprokit.files import summary

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["--model", "funnel", "--config", "xlarge", "--arch", "FunnelForQuestionAnswering", "--scale", "trained",
          "--lengths", "128,128", "--steps", "2"]


def measured(argv, cwd, env) -> dict:
    """Run under /usr/bin/time -v: wall seconds, peak RSS (GB), exit code, the report's verdict."""
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-v", *argv], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return {"command": " ".join(argv[1:]), "exit_code": r.returncode, "wall_s": round(wall, 1),
            "peak_rss_gb": round(rss_kb / 2**20, 2), "stderr_tail": r.stderr[-1500:] if r.returncode > 1 else ""}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--before", required=True, help="git commit of the earlier compare.py (e.g. 9dcf777)")
    ap.add_argument("--out", default="logs/bench")
    ap.add_argument("--reports", default="logs/compare", help="where the after run's report goes")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-compare-xlarge-"))
    tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        env = {**os.environ, "PYTHONPATH": str(tree)}  # the earlier code, ahead of the installed (editable) kit
        before = measured([sys.executable, str(tree / "compare.py"), *COMMON, "--float64-reference-only",
                           "--name", "before", "--out", str(work / "out"), "--figure", ""], work, env)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        # from the repository folder, so the report names its figure as figure/... (a relative path)
        after = measured([sys.executable, str(ROOT / "compare.py"), *COMMON, "--name", "funnel_xlarge_qa",
                          "--out", os.path.relpath(Path(args.reports).resolve(), ROOT), "--figure", "figure"],
                         ROOT, env)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    report = json.loads((Path(args.reports) / "funnel_xlarge_qa.json").read_text())
    after["verdict"], after["spilled_gb"] = report["verdict"], round(report["runs"][0].get("spilled_bytes", 0) / 1e9, 1)
    result = {"before": {**before, "commit": args.before, "mode": "float64 torch reference only, in memory"},
              "after": {**after, "mode": "float64 on both sides (logic check), spilled to disk"},
              "ratios": {"peak_rss": round(after["peak_rss_gb"] / before["peak_rss_gb"], 2),
                         "wall": round(after["wall_s"] / before["wall_s"], 2)},
              "machine": f"{os.cpu_count()} cores", "command": "python " + " ".join(sys.argv)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare_xlarge_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    md = ["# compare.py, Funnel-xlarge QA report: before / after", "", f"`{result['command']}`  ",
          f"{result['machine']}; each run in its own process, peak RSS from /usr/bin/time -v; batch 2 x 128, every "
          "layer, every gradient, 2 AdamW steps per side", "",
          "| run | mode | peak RSS GB | wall s | exit | verdict |", "|---|---|---|---|---|---|",
          f"| before ({args.before}) | {result['before']['mode']} | {before['peak_rss_gb']} | {before['wall_s']} | "
          f"{before['exit_code']} | |",
          f"| after | {result['after']['mode']} ({after['spilled_gb']} GB written to the temp folder) | "
          f"{after['peak_rss_gb']} | {after['wall_s']} | {after['exit_code']} | {after['verdict']} |", "",
          f"after / before: peak RSS **{result['ratios']['peak_rss']}x**, wall time **{result['ratios']['wall']}x**"
          " (targets: <= 12 GB, <= 1.5x)"]
    (out / "compare_xlarge_memory.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

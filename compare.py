"""Forward/backward/training parity of the Paddle port against the PyTorch reference, as a report.

With no arguments: a small random Funnel (deterministic, no downloads), every head, torch (transformers) vs the Paddle
port; prints a verdict table and writes JSON + Markdown under logs/compare/. Exit code 0 only when every check passes.

    python compare.py                                   # embedded default: tiny Funnel, all heads
    python compare.py --arch FunnelForQuestionAnswering --config small --steps 0
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)
from parity import funnel as H
from reprokit.diff import failures
from reprokit.funnel_table import ARCHITECTURES

CHECKS = [("forward_ids", "forward, every output"), ("backward_ids", "backward, every parameter"),
          ("forward_embeds", "forward via inputs_embeds"), ("backward_embeds", "d/d inputs_embeds"),
          ("train_losses", "AdamW steps: losses"), ("train_weights", "AdamW steps: final weights"),
          ("float64_forward_ids", "float64 forward (logic)"), ("float64_backward_ids", "float64 backward (logic)")]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="funnel", choices=["funnel"])
    ap.add_argument("--arch", action="append", choices=list(ARCHITECTURES),
                    help="class to compare (repeatable); default: every class")
    ap.add_argument("--config", default="tiny", choices=["tiny", *sorted(H.RELEASED)],
                    help="tiny (random, seconds) or a released shape (random weights, slow on CPU)")
    ap.add_argument("--scale", default="both", choices=["hf-init", "trained", "both"],
                    help="HF's init scale, trained-weight scale (x2, see parity/funnel.py), or both")
    ap.add_argument("--lengths", default="13,7,11", help="row lengths of the padded batch")
    ap.add_argument("--steps", type=int, default=3, help="AdamW steps (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="logs/compare", help="folder for the JSON and Markdown report")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    base = H.TINY if args.config == "tiny" else dict(H.RELEASED[args.config], **H.NO_DROPOUT)
    archs = args.arch or list(ARCHITECTURES)
    if args.config.endswith("-base"):
        archs = [a for a in archs if H.funnel_body(a) == "base"]
    scales = {"hf-init": [False], "trained": [True], "both": [False, True]}[args.scale]
    lengths = tuple(int(x) for x in args.lengths.split(","))
    rows, report = [], {"args": vars(args), "tolerances": tolerances(), "runs": []}
    t0 = time.time()
    for arch in archs:
        for realistic in scales:
            kw = H.config_kwargs(base, arch)
            res = H.run_checks(kw, arch, realistic=realistic, seed=args.seed, lengths=lengths, steps=args.steps)
            run = {"arch": arch, "scale": "trained" if realistic else "hf-init", "checks": {}}
            for key, _ in CHECKS:
                if key not in res:
                    continue
                diffs = res[key]
                worst = max(diffs, key=lambda d: d.max_abs / d.tol_max if d.tol_max else float("inf"))
                run["checks"][key] = {"n": len(diffs), "failed": len(failures(diffs)),
                                      "noise_floor": sum(d.ok and not d.within_bar for d in diffs),
                                      "max_abs": max(d.max_abs for d in diffs), "worst": worst.name,
                                      "tensors": [d.as_dict() for d in diffs]}
            report["runs"].append(run)
            rows.append(run)
            print(f"{arch:34s} {run['scale']:8s} " + "  ".join(
                f"{k.split('_')[0][:3]}:{'ok' if c['failed'] == 0 else 'FAIL'}" for k, c in run["checks"].items()),
                flush=True)
    report["seconds"] = round(time.time() - t0, 1)
    ok = all(c["failed"] == 0 for r in rows for c in r["checks"].values())
    report["verdict"] = "PASS" if ok else "FAIL"
    md = markdown(report)
    print("\n" + md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.model}_{args.config}"
    (out / f"{stem}.json").write_text(json.dumps(report, separators=(",", ":")) + "\n")
    (out / f"{stem}.md").write_text(md + "\n")
    print(f"\nwrote {out / (stem + '.json')} and {out / (stem + '.md')}")
    return 0 if ok else 1


def tolerances() -> dict:
    return {"forward": H.FWD_TOL, "backward": H.GRAD_TOL, "train": H.TRAIN_TOL, "noise_floor_factor": H.FLOOR_FACTOR,
            "float64": H.FLOAT64_TOL, "float64_with_float32_loss": H.FLOAT64_TOL_FLOAT32_LOSS,
            "dropout": "off (rates 0), models in train mode"}


def markdown(report) -> str:
    a = report["args"]
    lines = [f"# Parity report: {a['model']} ({a['config']}), torch reference vs Paddle port: {report['verdict']}", "",
             f"Batch rows of lengths {a['lengths']} (padded, token types 2/0/1), seed {a['seed']}, "
             f"{a['steps']} AdamW steps (lr 1e-5, linear warm-up). Dropout off, train mode. {report['seconds']} s.",
             "", "Bars: forward max abs <= 1e-5 and mean <= 1e-6; gradients and training max abs <= 1e-5 x max(1, "
             "max|ref|). A tensor outside a bar passes only as *noise floor*: the port's float32 error against the "
             f"float64 reference is within {H.FLOOR_FACTOR:g}x the reference's own float32 error. float64 rows check "
             "the logic (tolerance 1e-10 relative).", "",
             "| class | scale | check | tensors | max abs diff | worst tensor | noise floor | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    names = dict(CHECKS)
    for run in report["runs"]:
        for key, c in run["checks"].items():
            lines.append(f"| {run['arch']} | {run['scale']} | {names[key]} | {c['n']} | {c['max_abs']:.2e} | "
                         f"`{c['worst']}` | {c['noise_floor']} | {'pass' if c['failed'] == 0 else 'FAIL'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

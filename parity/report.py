"""Forward/backward/training parity of the Paddle ports against the PyTorch references, as a report that names the
first wrong layer.

With no arguments: a small random Funnel and a small random GAU-alpha (deterministic, no downloads), every head, at
init and trained weight scale; torch reference vs Paddle port. Every layer's output and input gradient is matched by
name (forward hooks on both sides), every parameter gradient through the parameter tables, then AdamW steps. Prints a
verdict table; writes JSON + Markdown under logs/compare/ and a per-layer figure under figure/. Exit 0 only when every
check passes (1: a check failed, 2: bad input).

    python compare.py                                        # embedded default: tiny Funnel + tiny GAU-alpha
    python compare.py --model funnel --config xlarge --arch FunnelForQuestionAnswering --lengths 128,128 --steps 2
    python compare.py --checkpoint path/to/funnel-small --text examples.txt   # real weights (torch or Paddle dir)
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)
from parity.common import FLOOR_FACTOR, FLOAT64_TOL, tensor_checks, tolerances
from parity.ecosystem import SPECS as PAIRS
from parity.real import SPECS, load_pairs, text_batch
from reprokit import KitError
from reprokit.diff import MIN_NOISE_ULPS, SMALL_TENSOR, failures
from reprokit.files import summary

SCHEMA = "reprokit.compare/2"
CHECKS = [("forward_ids", "fwd", "forward, every output"), ("backward_ids", "bwd", "backward, every parameter"),
          ("forward_embeds", "fwd-emb", "forward via inputs_embeds"), ("backward_embeds", "bwd-emb", "d/d inputs_embeds"),
          ("train_losses", "train-loss", "AdamW steps: losses"), ("train_weights", "train-w", "AdamW steps: weights"),
          ("float64_forward_ids", "f64-fwd", "float64 forward (logic)"),
          ("float64_backward_ids", "f64-bwd", "float64 backward (logic)"),
          ("float64_forward_embeds", "f64-fwd-emb", "float64 via inputs_embeds"),
          ("float64_backward_embeds", "f64-bwd-emb", "float64 d/d inputs_embeds")]
SHORT = {k: short for k, short, _ in CHECKS}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--model", default="all", choices=["all", *SPECS, *PAIRS],
                    help="which model(s): the kit's ports (default: both), or a transformers / PaddleNLP pair "
                         "compared through PaddleNLP's own name mappings (bert, roberta)")
    ap.add_argument("--arch", action="append", help="class to compare (repeatable); default: every class")
    ap.add_argument("--config", default="tiny",
                    help="tiny (random, seconds), or a released shape with random weights: Funnel small, medium, "
                         "intermediate, large, xlarge (and -base), GAU-alpha base")
    ap.add_argument("--checkpoint", help="real weights: a HF/torch or Paddle directory (config.json + weights) or "
                                         "a name (a registry name or hub id: the caches, else fetched); the other "
                                         "side is produced by the converter's table")
    ap.add_argument("--trust-pickle", action="store_true", help="allow a .pdparams/.bin pickle the kit did not write")
    ap.add_argument("--text", help="inputs: a text file, one example per line (text<TAB>pair), tokenised with the "
                                   "checkpoint's vocabulary (needs --checkpoint)")
    ap.add_argument("--scale", default="both", choices=["hf-init", "trained", "both"],
                    help="random weights at the init scale, at trained-weight scale, or both")
    ap.add_argument("--lengths", help="row lengths of the padded random batch (default: 13,7,11 Funnel, 9,4,1 GAU)")
    ap.add_argument("--max-length", type=int, default=128, help="--text: truncate examples to this many tokens")
    ap.add_argument("--steps", type=int, default=3, help="AdamW steps with linear warm-up (0: none)")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--no-float64", action="store_true",
                    help="skip the float64 runs (no noise floor, no logic check): faster, bars only")
    ap.add_argument("--float64-reference-only", action="store_true",
                    help="float64 torch run only (the noise floor), no float64 Paddle run (the logic check): for "
                         "shapes whose float64 pair does not fit in memory (Funnel xlarge in 24 GiB)")
    ap.add_argument("--no-layers", action="store_true", help="skip the per-layer hooks (whole-model checks only)")
    ap.add_argument("--spill", default="auto", choices=["auto", "on", "off"],
                    help="keep outputs, gradients, layer records, trained weights and float64 optimizer moments on "
                         "disk and compare them streaming (auto: models over 20M parameters); memory: one model")
    ap.add_argument("--spill-dir", default=None, help="folder for the spilled arrays (default: the system temp "
                                                      "folder; removed afterwards)")
    ap.add_argument("--fwd-max", type=float, default=1e-5, help="forward bar: max abs diff")
    ap.add_argument("--fwd-mean", type=float, default=1e-6, help="forward bar: mean abs diff")
    ap.add_argument("--grad-tol", type=float, default=1e-5, help="gradient bar: max abs <= this x max(1, max|grad|)")
    ap.add_argument("--train-tol", type=float, default=1e-5, help="training bar (losses, weights), relative")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="logs/compare", help="folder for the JSON and Markdown report")
    ap.add_argument("--figure", default="figure", help="folder for the per-layer figure ('' to skip)")
    ap.add_argument("--name", help="report file stem (default: <model>_<config>)")
    return ap.parse_args(argv)


def plan(args):
    """(tolerances, [(spec, kwargs, arch, scale, lengths, pairs, batch)]) for the runs the arguments ask for."""
    tol = tolerances(args.fwd_max, args.fwd_mean, args.grad_tol, args.train_tol)
    if args.checkpoint:
        if args.arch and len(args.arch) > 1:
            raise KitError("--checkpoint: give at most one --arch")
        from artifacts.names import resolve_model
        args.checkpoint = str(resolve_model(args.checkpoint))  # a directory or a name (the store, HF cache, fetched)
        spec, kwargs, arch, pairs = load_pairs(args.checkpoint, arch=(args.arch or [None])[0],
                                               trust_pickle=args.trust_pickle, float64=not args.no_float64)
        if args.text:
            batch = text_batch(args.checkpoint, spec.NAME, args.text, arch, kwargs, spec, args.max_length,
                               seed=args.seed)
        else:
            lengths = _lengths(args, spec)
            batch = spec.make_batch(arch, kwargs, lengths=lengths, seed=args.seed)
        return tol, [(spec, kwargs, arch, "checkpoint", None, pairs, batch)]
    if args.text:
        raise KitError("--text needs --checkpoint (the vocabulary comes from the checkpoint)")
    every = {**SPECS, **PAIRS}
    models = list(SPECS) if args.model == "all" else [args.model]
    known = [a for m in models for a in every[m].ARCHITECTURES]
    unknown = [a for a in args.arch or [] if a not in known]
    if unknown:
        raise KitError(f"--arch {unknown[0]!r} is not one of {known}")
    runs = []
    for name in models:
        spec = every[name]
        if args.config == "tiny":
            base = spec.TINY
        elif args.config in spec.RELEASED:
            base = dict(spec.RELEASED[args.config], **spec.NO_DROPOUT)
        else:
            raise KitError(f"--config {args.config!r} is not tiny or one of {sorted(spec.RELEASED)} ({name})")
        archs = [a for a in args.arch or spec.ARCHITECTURES if a in spec.ARCHITECTURES]
        if name == "funnel" and args.config.endswith("-base"):
            archs = [a for a in archs if spec.funnel_body(a) == "base"]
        scales = {"hf-init": ["hf-init"], "trained": ["trained"], "both": ["hf-init", "trained"]}[args.scale]
        lengths = _lengths(args, spec)
        for arch in archs:
            for scale in scales:
                runs.append((spec, spec.config_kwargs(base, arch), arch, scale, lengths, None, None))
    return tol, runs


def _float64_mode(args):
    return False if args.no_float64 else ("reference" if args.float64_reference_only else True)


def _lengths(args, spec):
    if args.lengths:
        try:
            return tuple(int(x) for x in args.lengths.split(","))
        except ValueError:
            raise KitError(f"--lengths {args.lengths!r}: comma-separated integers, please") from None
    return (13, 7, 11) if spec.NAME == "funnel" else (9, 4, 1)


TENSOR_COLUMNS = ["name", "shape", "verdict", "max_abs", "mean_abs", "max_ref", "tol_max", "tol_mean", "ref_err_max",
                  "ref_err_mean", "other_err_max", "other_err_mean", "noise_min"]


def _g(x):
    """4 significant digits: the report's numbers, not float64 noise (None and non-finite kept)."""
    return x if x is None or not math.isfinite(x) else float(f"{x:.4g}")


def summarise(res: dict) -> dict:
    checks = {}
    for key, diffs in tensor_checks(res).items():
        worst = max(diffs, key=lambda d: d.max_abs / d.tol_max if d.tol_max > 0 else float("inf"))
        checks[key] = {"n": len(diffs), "failed": len(failures(diffs)),
                       "noise_floor": sum(d.ok and not d.within_bar for d in diffs),
                       "max_abs": max(d.max_abs for d in diffs), "worst": worst.name,
                       "columns": TENSOR_COLUMNS,
                       "tensors": [[d.name, list(d.shape), d.verdict, *(_g(getattr(d, c)) for c in TENSOR_COLUMNS[3:])]
                                   for d in diffs]}
    out = {"checks": checks}
    if "layers" in res:
        lay = res["layers"]
        cols = ["name", "ok", "max_abs", "mean_abs", "max_ref", "tol_max", "ref_err_max", "port_err_max",
                "float64_max_abs", "float64_tol"]

        def row(e):
            d, d64 = e["float32"], e["float64"]
            return [e["name"], e["ok"], *map(_g, (d.max_abs, d.mean_abs, d.max_ref, d.tol_max, d.ref_err_max,
                                                  d.other_err_max, d64.max_abs if d64 else None,
                                                  d64.tol_max if d64 else None))]
        out["layers"] = {"columns": cols, "forward": [row(e) for e in lay["forward"]],
                         "backward": [row(e) for e in lay["backward"]],
                         "first_divergence": lay["first_divergence"], "unmatched": lay["unmatched"],
                         "failed": sum(not e["ok"] for e in lay["forward"] + lay["backward"])}
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        tol, runs = plan(args)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = {"schema": SCHEMA, "args": vars(args), "tolerances": describe_tolerances(tol), "runs": []}
    t0 = time.time()
    for spec, kwargs, arch, scale, lengths, pairs, batch in runs:
        t = time.time()
        res = spec.run_checks(kwargs, arch, realistic=scale == "trained", seed=args.seed, lengths=lengths,
                              steps=args.steps, lr=args.lr, layers=not args.no_layers, pairs=pairs, batch=batch,
                              float64=_float64_mode(args), tol=tol,
                              spill={"auto": None, "on": True, "off": False}[args.spill], spill_dir=args.spill_dir)
        run = {"model": spec.NAME, "arch": arch, "scale": scale, "seconds": round(time.time() - t, 2),
               **summarise(res), **res.get("meta", {})}
        if hasattr(spec, "paddle_only"):  # Paddle parameters PaddleNLP's conversion leaves at their init
            run["paddle_only_parameters"] = spec.paddle_only(kwargs, arch)
        report["runs"].append(run)
        print(f"{spec.NAME:9s} {arch:34s} {scale:8s} {verdict_line(run)}", flush=True)
    report["seconds"] = round(time.time() - t0, 1)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    ok = all(run_ok(r) for r in report["runs"])
    report["verdict"] = "PASS" if ok else "FAIL"
    stem = args.name or f"{args.model}_{'checkpoint' if args.checkpoint else args.config}"
    figures = []
    if args.figure:
        from parity.figure import plot_layers
        for model in dict.fromkeys(r["model"] for r in report["runs"]):
            run = pick_figure_run([r for r in report["runs"] if r["model"] == model])
            if run is not None:
                path = Path(args.figure) / f"compare_{model}_{figure_suffix(stem, model)}.png"
                plot_layers(run, path, title=f"{model} {run['arch']} ({run['scale']}): torch reference vs Paddle")
                figures.append(str(path))
    report["figures"] = figures
    md = markdown(report)
    print("\n" + md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(_finite(report), separators=(",", ":"), allow_nan=False) + "\n")
    (out / f"{stem}.md").write_text(md + "\n")
    print(f"\nwrote {out / (stem + '.json')}, {out / (stem + '.md')}" + "".join(f", {f}" for f in figures))
    return 0 if ok else 1


def figure_suffix(stem: str, model: str) -> str:
    """compare_<model>_<suffix>.png: the report stem without its leading model name ("all_tiny" -> "tiny",
    "gau_alpha_tiny" -> "tiny", "funnel_xlarge_qa" -> "xlarge_qa")."""
    for lead in (model + "_", "all_"):
        if stem.startswith(lead) and len(stem) > len(lead):
            return stem[len(lead):]
    return stem


def _finite(o):
    """Strict JSON: a non-finite float becomes the string "inf", "-inf" or "nan"."""
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def run_ok(run) -> bool:
    return all(c["failed"] == 0 for c in run["checks"].values()) and run.get("layers", {}).get("failed", 0) == 0


def verdict_line(run) -> str:
    parts = [f"{SHORT.get(k, k)}:{'ok' if c['failed'] == 0 else 'FAIL'}" for k, c in run["checks"].items()]
    if "layers" in run:
        lay = run["layers"]
        first = lay["first_divergence"]
        parts.append("layers:ok" if lay["failed"] == 0 else
                     f"layers:FAIL first fwd {(first['forward'] or {}).get('name')} "
                     f"bwd {(first['backward'] or {}).get('name')}")
    return "  ".join(parts)


def pick_figure_run(runs):
    """The first failing run; when all pass, the trained-scale run with the most layers."""
    if not runs:
        return None
    failing = [r for r in runs if not run_ok(r) and "layers" in r]
    if failing:
        return failing[0]
    with_layers = [r for r in runs if "layers" in r]
    if not with_layers:
        return None
    return max(with_layers, key=lambda r: (r["scale"] != "hf-init", len(r["layers"]["forward"])))


def describe_tolerances(tol) -> dict:
    return {**tol, "noise_floor_factor": FLOOR_FACTOR,
            "noise_floor_small_tensor": {"below_elements": SMALL_TENSOR, "min_reference_noise_ulps": MIN_NOISE_ULPS},
            "noise_floor_reference_orders": "torch threads as set, and 1 thread (training steps: one order)",
            "float64": FLOAT64_TOL,
            "float64_layers": {name: spec.LAYER_FLOAT64_TOL for name, spec in SPECS.items()},
            "dropout": "off (rates 0), models in train mode"}


def markdown(report) -> str:
    a = report["args"]
    t = report["tolerances"]
    spilled = sum(r.get("spilled_bytes", 0) for r in report["runs"])
    src = f"checkpoint `{a['checkpoint']}`" if a["checkpoint"] else f"random weights, config `{a['config']}`"
    inputs = f"text `{a['text']}`" if a["text"] else f"random ids, rows of lengths {a['lengths'] or 'default'}"
    lines = [f"# Parity report: torch reference vs Paddle port: {report['verdict']}", "",
             f"{src}; {inputs}; seed {a['seed']}; {a['steps']} AdamW steps (lr {a['lr']:g}, linear warm-up). "
             f"Dropout off, train mode. {report['seconds']} s, peak RSS {report['peak_rss_mb']:.0f} MB"
             + (f", {spilled / 1e9:.1f} GB of arrays spilled to the temp folder (one model in memory at a time)"
                if spilled else "") + ".", "",
             f"Bars: forward max abs <= {t['forward']['tol_max']:g} and mean <= {t['forward']['tol_mean']:g}; "
             f"gradients max abs <= {t['backward']['tol_max']:g} x max(1, max|ref|); training "
             f"{t['train']['tol_max']:g} relative. A tensor outside a bar passes only as *noise floor*: the port's "
             f"float32 error against the float64 reference is within {FLOOR_FACTOR:g}x the reference's own float32 "
             f"error, max and mean, that error taken as the larger of two runs of the reference under different "
             f"reduction orders (its thread count, and 1 thread: other GEMM blockings); for a tensor of fewer than {SMALL_TENSOR} elements (a loss, a bias gradient) the "
             f"reference's error is too few samples to be a noise estimate, so it counts as at least "
             f"{MIN_NOISE_ULPS:g} float32 ulps of the tensor's largest value (column `noise_min`). float64 rows check the logic ({FLOAT64_TOL:g} relative; per layer and for whole-model gradients Funnel "
             f"{t['float64_layers']['funnel']:g}, GAU-alpha {t['float64_layers']['gau_alpha']:g}: HF rounds Funnel's "
             "attention scores to float32 even in float64, and every gradient flows back through them).", "",
             "Layers: every sub-layer present under the same name on both sides is hooked; its output (forward, in "
             "the order calls finish) and the gradient of its inputs (backward, in the order backward computes them, "
             "each layer's parameter gradients after it) are compared. *First divergence* is the first failing entry "
             "in that order.", "",
             "| model | class | scale | check | tensors | max abs diff | worst tensor | noise floor | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    names = {k: text for k, _, text in CHECKS}
    for run in report["runs"]:
        for key, c in run["checks"].items():
            lines.append(f"| {run['model']} | {run['arch']} | {run['scale']} | {names.get(key, key)} | {c['n']} | "
                         f"{c['max_abs']:.2e} | `{c['worst']}` | {c['noise_floor']} | "
                         f"{'pass' if c['failed'] == 0 else 'FAIL'} |")
    lines += ["", "| model | class | scale | layer outputs | layer input grads + param grads | failed | "
                  "first forward divergence | first backward divergence | unmatched layers |", "|---|---|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        if "layers" not in run:
            continue
        lay = run["layers"]
        first = lay["first_divergence"]

        def fmt(f):
            return "none" if f is None else f"`{f['name']}` (last match before: `{f['after']}`)"
        unmatched = ", ".join(f"{side}: {', '.join(v)}" if len(v) <= 8 else f"{side}: {len(v)} ({', '.join(v[:3])}, ...)"
                              for side, v in lay["unmatched"].items() if v) or "none"
        lines.append(f"| {run['model']} | {run['arch']} | {run['scale']} | {len(lay['forward'])} | "
                     f"{len(lay['backward'])} | {lay['failed']} | {fmt(first['forward'])} | "
                     f"{fmt(first['backward'])} | {unmatched} |")
    only = [r for r in report["runs"] if r.get("paddle_only_parameters")]
    if only:
        lines += ["", "Paddle parameters PaddleNLP's conversion leaves at their random init (no torch source; "
                      "their gradients are not compared, their effect is in the outputs): "
                  + "; ".join(f"{r['arch']}: {', '.join(r['paddle_only_parameters'])}" for r in only)]
    if report.get("figures"):
        lines += ["", "Figures: " + ", ".join(f"`{f}`" for f in report["figures"])]
    return "\n".join(lines)



if __name__ == "__main__":
    raise SystemExit(main())

"""Whole training steps through the task scripts, Paddle vs torch, side by side in one run: each backend in its own
process, the same random-weight model, data and padded batches; the steady per-step time is the difference of the
trainer's train_runtime between a K-step and a 1-step run, divided by K - 1 (model loading, the first step's
allocations and warm-up cancel). Rounds alternate the backends; the median over rounds is reported, with the
paddle / torch ratio per case. --profile also writes both frameworks' profiler summaries of a few in-process steps
(forward, backward, the optimizer the task scripts build) under OUT/profiles/.

    python bench/bench_train_step.py --cases gau_base:adafactor,gau_base:adamw,funnel_small:adamw --steps 4 \\
        --rounds 2 --profile --out logs/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from reprokit.files import summary

ROOT = Path(__file__).resolve().parents[1]
CHARS = list("今天气很好坏我们去公园玩心情不错的是了吗他她它这个那人说银行北京上海中国大学学生老师工作时间")
WORDS = ["the", "movie", "was", "good", "bad", "is", "it", "fine", "plot", "what"]
BATCH, SEQ = 8, 128


def checkpoint(model: str, folder: Path) -> Path:
    """A random-weight classification checkpoint of the case's shape, with its vocabulary."""
    ckpt = folder / model
    if ckpt.is_dir():
        return ckpt
    if model.startswith("gau"):
        from parity import gau_alpha as GA
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + CHARS
        base = GA.TINY if model == "gau_tiny" else GA.RELEASED["base"]
        kw = GA.config_kwargs(base, "GAUAlphaForSequenceClassification", vocab_size=len(vocab), num_labels=2,
                              max_position_embeddings=512)
        GA.build_torch(kw, "GAUAlphaForSequenceClassification").save_pretrained(ckpt)
    else:
        from transformers import FunnelTokenizerFast

        from parity import funnel as H
        vocab = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"] + WORDS
        base = H.TINY if model == "funnel_tiny" else {**H.TINY, **H.RELEASED[model.split("_")[1]]}
        arch = "FunnelForSequenceClassification"
        H.build_torch(H.config_kwargs(base, arch, vocab_size=len(vocab), num_labels=2, max_position_embeddings=512),
                      arch).save_pretrained(ckpt)
        (folder / "funnel-vocab.txt").write_text("\n".join(vocab) + "\n")
        FunnelTokenizerFast(vocab_file=str(folder / "funnel-vocab.txt"), do_lower_case=True).save_pretrained(ckpt)
    (ckpt / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return ckpt


def data(model: str, steps: int, folder: Path) -> Path:
    rng = np.random.RandomState(1)
    n = BATCH * steps
    if model.startswith("gau"):
        d = folder / "afqmc"
        d.mkdir(exist_ok=True)
        with open(d / "train.json", "w", encoding="utf-8") as f:
            for _ in range(n):
                a, b = "".join(rng.choice(CHARS, 30)), "".join(rng.choice(CHARS, 30))
                f.write(json.dumps({"sentence1": a, "sentence2": b, "label": str(len(a) % 2)}, ensure_ascii=False)
                        + "\n")
        return d
    d = folder / "SST-2"
    d.mkdir(exist_ok=True)
    rows = ["sentence\tlabel"] + [" ".join(rng.choice(WORDS, 40)) + f"\t{i % 2}" for i in range(n)]
    (d / "train.tsv").write_text("\n".join(rows) + "\n")
    (d / "dev.tsv").write_text("\n".join(rows[:9]) + "\n")  # read, not evaluated (no --do_eval)
    return d


def run_steps(model, optim, backend, steps, folder: Path, tag: str) -> float:
    """train_runtime of one task-script run of `steps` steps."""
    ckpt, d = checkpoint(model, folder), data(model, steps, folder)
    logs = folder / f"logs-{tag}"
    script, task = (("clue/run_clue.py", "afqmc") if model.startswith("gau") else ("glue/run_glue.py", "SST-2"))
    argv = [sys.executable, str(ROOT / script), "--backend", backend, "--model_name_or_path", str(ckpt),
            "--task_name", task, "--data_dir", str(d), "--output_dir", str(folder / f"o-{tag}"), "--do_train",
            "--max_steps", str(steps), "--per_device_train_batch_size", str(BATCH), "--max_seq_length", str(SEQ),
            "--pad_to_max_length", "--optim", optim if optim == "adafactor" else ("adamw_torch" if backend == "torch"
                                                                                  else "adamw"),
            "--learning_rate", "5e-4" if optim == "adafactor" else "1e-5", "--report_to", "none",
            "--log_dir", str(logs), "--save_strategy", "no", "--figure_dir", str(folder), "--disable_tqdm", "True",
            "--overwrite_output_dir"]
    run = subprocess.run(argv, capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"{' '.join(argv)}\n{run.stderr[-3000:]}")
    rows = [json.loads(x) for x in (logs / "metrics.jsonl").read_text().splitlines()]
    return next(r["train_runtime"] for r in rows if "train_runtime" in r)


def profile(model: str, optim: str, folder: Path, out: Path, steps: int = 3) -> dict:
    """Both frameworks' profiler tables of `steps` in-process training steps (after one warm-up step)."""
    code = r'''
import json, sys, numpy as np
backend_name, ckpt, optim, steps, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
from tasks.backends import get_backend
from tasks.arguments import training_arguments_class
from tasks.layer_decay import param_rates
b = get_backend(backend_name)
model = b.load_model(ckpt, "sequence_classification", 2)
ta = training_arguments_class(backend_name)
training = ta(output_dir=out + "/unused", optim=("adafactor" if optim == "adafactor" else
              ("adamw_torch" if backend_name == "torch" else "adamw")), learning_rate=1e-5, weight_decay=0.01,
              report_to="none", **({"use_cpu": True} if backend_name == "torch" else {}))
named = b.trainable(model)
from tasks.backends import _model_type_of
rates = param_rates([n for n, _ in named], _model_type_of(model), model.config, 1.0, 0.01)
rng = np.random.RandomState(0)
ids = rng.randint(5, model.config.vocab_size, size=(%d, %d)).astype("int64")
ids[:, 0] = 2
labels = rng.randint(0, 2, size=(%d,)).astype("int64")
if backend_name == "torch":
    import torch
    opt = b.optimizer(None, named, rates, training)
    batch = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.ones_like(torch.from_numpy(ids)),
             "token_type_ids": torch.zeros_like(torch.from_numpy(ids)), "labels": torch.from_numpy(labels)}
    model.train()
    def step():
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
    step()
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30)
else:
    import paddle, types
    opt = b.optimizer(types.SimpleNamespace(lr_scheduler=1e-5), named, rates, training)
    batch = {"input_ids": paddle.to_tensor(ids), "attention_mask": paddle.ones_like(paddle.to_tensor(ids)),
             "token_type_ids": paddle.zeros_like(paddle.to_tensor(ids)), "labels": paddle.to_tensor(labels)}
    model.train()
    def step():
        model(**batch, return_dict=True).loss.backward()
        opt.step(); opt.clear_grad(set_to_zero=False)
    step()
    import paddle.profiler as profiler
    p = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU])
    p.start()
    for _ in range(steps):
        step(); p.step()
    p.stop()
    import io, contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        p.summary(sorted_by=profiler.SortedKeys.CPUTotal, op_detail=False, thread_sep=False, time_unit="ms")
    table = buf.getvalue()
print("@@TABLE@@" + table)
''' % (BATCH, SEQ, BATCH)
    ckpt = checkpoint(model, folder)
    tables = {}
    for backend in ("torch", "paddle"):
        run = subprocess.run([sys.executable, "-c", code, backend, str(ckpt), optim, str(steps), str(folder)],
                             capture_output=True, text=True, cwd=ROOT)
        if run.returncode:
            raise SystemExit(run.stderr[-3000:])
        tables[backend] = run.stdout.split("@@TABLE@@", 1)[1]
        path = out / "profiles" / f"train_step_{model}_{optim}_{backend}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tables[backend])
    return {b: str(out / "profiles" / f"train_step_{model}_{optim}_{b}.txt") for b in tables}


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--cases", default="gau_base:adafactor,gau_base:adamw,funnel_small:adamw",
                    help="MODEL:OPTIM,... (gau_tiny, gau_base, funnel_tiny, funnel_small, funnel_xlarge; adamw, "
                         "adafactor)")
    ap.add_argument("--steps", type=int, default=4, help="K: the long run's steps")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out", default="logs/bench")
    ap.add_argument("--name", default="train_step")
    args = ap.parse_args(argv)
    out = Path(args.out)
    report = {"cases": {}, "meta": {
        "command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or platform.platform()}",
        "batch": f"{BATCH} x {SEQ} (padded)", "steady_step": f"(train_runtime[{args.steps}] - train_runtime[1]) / "
                                                            f"{args.steps - 1}"}}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for case in args.cases.split(","):
            model, optim = case.split(":")
            per = {"torch": [], "paddle": []}
            for r in range(args.rounds):
                for backend in (("torch", "paddle") if r % 2 == 0 else ("paddle", "torch")):
                    tag = f"{model}-{optim}-{backend}"
                    one = run_steps(model, optim, backend, 1, folder, tag + "-1")
                    many = run_steps(model, optim, backend, args.steps, folder, tag + "-k")
                    per[backend].append((many - one) / (args.steps - 1))
                    print(f"{case} {backend} round {r}: {per[backend][-1]:.3f} s/step", flush=True)
            med = {b: statistics.median(v) for b, v in per.items()}
            report["cases"][case] = {"torch_s_per_step": med["torch"], "paddle_s_per_step": med["paddle"],
                                     "paddle_over_torch": med["paddle"] / med["torch"], "rounds": per}
            if args.profile:
                report["cases"][case]["profiles"] = profile(model, optim, folder, out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")  # after every case
    md = ["# Whole training steps through the task scripts: Paddle vs torch", "",
          f"`{report['meta']['command']}`  ", report["meta"]["machine"], "",
          f"Batch {report['meta']['batch']}, random weights, steady step = {report['meta']['steady_step']}, median "
          f"of {args.rounds} rounds (backends alternating, each run its own process).", "",
          "| case | torch s/step | paddle s/step | paddle / torch |", "|---|---|---|---|"]
    for case, r in report["cases"].items():
        md.append(f"| {case} | {r['torch_s_per_step']:.3f} | {r['paddle_s_per_step']:.3f} | "
                  f"{r['paddle_over_torch']:.2f} |")
    text = "\n".join(md) + "\n"
    (out / f"{args.name}.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()

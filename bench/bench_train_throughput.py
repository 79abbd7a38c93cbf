"""Training throughput of the kit's torch backend beside a plain HF Trainer run, same model, same batches, one process:
samples/s over the steps after the warm-up (compilation included in the warm-up), peak GPU memory, ratio to plain.

    python bench/bench_train_throughput.py --task qnli  --config xlarge --batch 24 --seq 128 --out logs/bench  # GLUE
    python bench/bench_train_throughput.py --task squad --config xlarge --batch 8 --seq 512 --out logs/bench   # SQuAD

Rows: "plain HF Trainer" (transformers' Trainer and Funnel class, fp32, default collator: what a user runs without the
kit), "kit torch backend fp32" (tasks/backends.py through the task script's own argument parser), "kit torch
backend bf16" and "kit torch backend bf16 + compile" (--bf16 --torch_compile --pad_to_max_length: fixed shapes, so
torch.compile traces once). Random weights of the released shape (no download), random token ids, every row the full
max length. Meant for a GPU (issues #6 and #7: target >= 2x plain); on CPU it runs (the tests run it on a tiny config)
but bf16 / compile rows are skipped unless --cpu-all.

On a machine with a newer transformers (5.x), install the pinned transformers 4.46.3 (requirements.txt) beside it
first: the kit is tested with 4.46.3.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


import numpy as np
import torch

from parity import funnel as H
from reprokit.files import summary

TASKS = {"qnli": ("FunnelForSequenceClassification", "glue"), "squad": ("FunnelForQuestionAnswering", "squad")}


def features(task: str, n: int, seq: int, vocab: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(n):
        ids = rng.randint(5, vocab, size=seq).tolist()
        tt = [2] + [0] * (seq // 2 - 1) + [1] * (seq - seq // 2)
        f = {"input_ids": ids, "token_type_ids": tt}
        if task == "qnli":
            f["labels"] = int(rng.randint(2))
        else:
            s = int(rng.randint(seq // 2, seq - 1))
            f["start_positions"], f["end_positions"] = s, s + 1
        out.append(f)
    return out


class _Timer:
    """A TrainerCallback (built lazily: transformers imported late) recording the time at each step's end."""

    @staticmethod
    def make():
        from transformers import TrainerCallback

        class Timer(TrainerCallback):
            def __init__(self):
                self.t = []

            def on_step_end(self, args, state, control, **kw):
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                self.t.append(time.perf_counter())
        return Timer()


def _throughput(t, batch, warmup):
    if len(t) <= warmup + 1:
        raise ValueError(f"need more than {warmup + 1} steps to time, got {len(t)}")
    return batch * (len(t) - 1 - warmup) / (t[-1] - t[warmup])


def run_plain(ckpt, arch, feats, args):
    import transformers
    from transformers import Trainer, TrainingArguments
    model = getattr(transformers, arch).from_pretrained(ckpt)
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(output_dir=out, per_device_train_batch_size=args.batch, max_steps=args.steps,
                                  learning_rate=1e-5, report_to=[], save_strategy="no", logging_steps=10 ** 6,
                                  disable_tqdm=True, use_cpu=not torch.cuda.is_available(), seed=0)
        feats = [dict(f, attention_mask=[1] * len(f["input_ids"])) for f in feats]
        timer = _Timer.make()
        Trainer(model=model, args=targs, train_dataset=feats, callbacks=[timer]).train()
    return timer.t


def run_kit(ckpt, task, feats, args, extra):
    from tasks.backends import get_backend
    from tasks.batches import FeatureDataset
    if task == "qnli":
        from glue.run_glue import parse_args
        argv = ["--task_name", "QNLI"]
    else:
        from squad.run_squad_v1 import parse_args
        argv = []
    with tempfile.TemporaryDirectory() as out:
        kargs = parse_args(argv + ["--backend", "torch", "--model_name_or_path", str(ckpt), "--output_dir", out,
                                   "--do_train", "--per_device_train_batch_size", str(args.batch), "--max_steps",
                                   str(args.steps), "--learning_rate", "1e-5", "--logging_steps", str(10 ** 6),
                                   "--save_steps", str(10 ** 6), "--max_seq_length", str(args.seq), "--report_to",
                                   "none", "--layer_lr_decay", "0.8", "--weight_decay", "0.01", *extra])
        from tasks.backends import pad_length, prepare_training_arguments
        head = "sequence_classification" if task == "qnli" else "question_answering"
        backend = get_backend("torch")
        model = backend.load_model(str(ckpt), head, 2)
        prepare_training_arguments(kargs.training, head, None, Path(out), evaluate_each_epoch=False,
                                   logging_dir_given=False)
        trainer = backend.make_trainer(kargs.training, kargs.kit, head, model, FeatureDataset(feats), None, None,
                                       Path(out) / "m.jsonl", 0, pad_length(kargs.data))
        timer = _Timer.make()
        trainer.add_callback(timer)
        backend.train(trainer)
    return timer.t


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--task", choices=sorted(TASKS), default="qnli")
    ap.add_argument("--config", default="xlarge", help="a released shape (xlarge, ...) or tiny")
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60, help="training steps per row, warm-up included")
    ap.add_argument("--warmup", type=int, default=20, help="steps left out of the timing (compilation happens here)")
    ap.add_argument("--rows", default="plain,kit,kit-bf16,kit-bf16-compile")
    ap.add_argument("--cpu-all", action="store_true", help="on CPU, run the bf16 / compile rows too")
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)

    arch, _ = TASKS[args.task]
    base = H.TINY if args.config == "tiny" else H.RELEASED[args.config]
    kw = H.config_kwargs(base, arch, **({"num_labels": 2} if args.task == "qnli" else {}))
    kw.update(max_position_embeddings=max(512, args.seq))
    gpu = torch.cuda.is_available()
    rows_wanted = args.rows.split(",")
    extras = {"kit": [], "kit-bf16": ["--bf16"], "kit-bf16-compile": ["--bf16", "--torch_compile",
                                                                       "--pad_to_max_length"]}
    names = {"plain": "plain HF Trainer (fp32)", "kit": "kit torch backend fp32", "kit-bf16": "kit torch backend bf16",
             "kit-bf16-compile": "kit torch backend bf16 + torch.compile"}
    feats = features(args.task, args.batch * args.steps, args.seq, kw["vocab_size"])
    rows = []
    with tempfile.TemporaryDirectory() as d:
        ckpt = Path(d) / "model"
        H.build_torch(kw, arch, seed=0).save_pretrained(ckpt)
        for row in rows_wanted:
            if row != "plain" and row != "kit" and not gpu and not args.cpu_all:
                print(f"skip {row}: no GPU (--cpu-all runs it anyway)")
                continue
            if gpu:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            env = dict(os.environ)  # HF's TrainingArguments leaves --bf16 in os.environ: each row starts clean
            try:
                t = run_plain(ckpt, arch, feats, args) if row == "plain" else run_kit(ckpt, args.task, feats, args,
                                                                                       extras[row])
            finally:
                os.environ.clear()
                os.environ.update(env)
            sps = _throughput(t, args.batch, args.warmup)
            peak = torch.cuda.max_memory_allocated() / 2 ** 30 if gpu else None
            rows.append({"row": names[row], "samples_per_s": sps, "steps": len(t), "timed_steps": len(t) - 1 -
                         args.warmup, "step_end_times_s": [round(x - t[0], 6) for x in t], "peak_gpu_gib": peak})
            print(f"{names[row]}: {sps:.1f} samples/s" + (f", peak {peak:.1f} GiB" if peak else ""), flush=True)
    plain = next((r["samples_per_s"] for r in rows if r["row"].startswith("plain")), None)
    for r in rows:
        r["ratio_to_plain"] = r["samples_per_s"] / plain if plain else None
    import transformers
    meta = {"command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
            "task": args.task, "config": args.config, "arch": arch, "batch": args.batch, "seq": args.seq,
            "steps": args.steps, "warmup": args.warmup,
            "device": torch.cuda.get_device_name(0) if gpu else f"CPU ({platform.machine()}, {os.cpu_count()} cores)",
            "torch": torch.__version__, "transformers": transformers.__version__}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"train_{args.task}_{args.config}_b{args.batch}x{args.seq}"
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    md = [f"# Training throughput: {args.task} {args.config}, batch {args.batch} x {args.seq}", "",
          f"`{meta['command']}`  ", f"{meta['device']}, torch {meta['torch']}, transformers {meta['transformers']}; "
          f"{args.steps} steps per row, the first {args.warmup} left out", "",
          "| row | samples/s | ratio to plain | peak GPU GiB |", "|---|---|---|---|"]
    md += [f"| {r['row']} | {r['samples_per_s']:.1f} | {r['ratio_to_plain']:.2f} | "
           f"{'-' if r['peak_gpu_gib'] is None else format(r['peak_gpu_gib'], '.1f')} |" for r in rows]
    text = "\n".join(md) + "\n"
    (out / f"{stem}.md").write_text(text)
    print(text)
    return rows


if __name__ == "__main__":
    main()

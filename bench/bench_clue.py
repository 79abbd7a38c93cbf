"""CLUE throughput on this machine, side by side in one run: (1) featurisation - the kit's sentence-pair featuriser
with the GAU-alpha tokenizer beside a plain loop over a HF fast BERT tokenizer on the same vocabulary, identical
token ids checked; (2) training steps/s of run_clue.py on both backends, each in its own process (GAU-alpha at a tiny and the base
shape, random weights, afqmc-shaped pairs), from the trainers' own train_runtime.

    python bench/bench_clue.py --examples 5000 --steps tiny:30,base:4 --out logs/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from reprokit.files import summary

CHARS = list("今天气很好坏我们去公园玩心情不错的是了吗他她它这个那人说银行北京上海中国大学学生老师工作时间")


def pairs(n, seed=0):
    rng = np.random.RandomState(seed)
    return [("".join(rng.choice(CHARS, rng.randint(8, 40))), "".join(rng.choice(CHARS, rng.randint(8, 40))))
            for _ in range(n)]


def featurisation(n, folder: Path):
    from transformers import BertTokenizerFast

    from clue.data import Example
    from tasks.batches import text_pair_features
    from tasks.tokenization import GAUAlphaTokenizer
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + CHARS
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    data = pairs(n)
    examples = [Example(str(i), a, b, 0) for i, (a, b) in enumerate(data)]
    kit_tok = GAUAlphaTokenizer(folder / "vocab.txt", pair_token_types="segments")
    hf_tok = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    times = {"kit": [], "hf": []}
    for _ in range(3):
        t = time.perf_counter()
        kit = text_pair_features(examples, kit_tok, 128)
        times["kit"].append(time.perf_counter() - t)
        t = time.perf_counter()
        hf = [hf_tok(a, b, truncation=True, max_length=128) for a, b in data]
        times["hf"].append(time.perf_counter() - t)
    same = all(k["input_ids"] == h["input_ids"] and k["token_type_ids"] == h["token_type_ids"] for k, h in zip(kit, hf))
    best = {k: min(v) for k, v in times.items()}
    return {"examples": n, "kit_examples_per_s": n / best["kit"], "hf_loop_examples_per_s": n / best["hf"],
            "ratio": best["hf"] / best["kit"], "identical_ids": same}


def training(shape: str, steps: int, folder: Path, order=("torch", "paddle")):
    from parity import gau_alpha as GA
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + CHARS
    base = GA.TINY if shape == "tiny" else GA.RELEASED["base"]
    kw = GA.config_kwargs(base, "GAUAlphaForSequenceClassification", vocab_size=len(vocab), num_labels=2,
                          max_position_embeddings=512)
    ckpt = folder / f"gau-{shape}"
    GA.build_torch(kw, "GAUAlphaForSequenceClassification").save_pretrained(ckpt)
    (ckpt / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    data = folder / "afqmc"
    data.mkdir(exist_ok=True)
    with open(data / "train.json", "w", encoding="utf-8") as f:
        for a, b in pairs(8 * steps, seed=1):
            f.write(json.dumps({"sentence1": a, "sentence2": b, "label": str(len(a) % 2)}, ensure_ascii=False) + "\n")
    out = {}
    for backend in order:
        logs = folder / f"logs-{shape}-{backend}"
        # each backend in its own process: torch's idle OpenMP threads in the same process slowed paddle's steps
        rc = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "clue" / "run_clue.py"),
                             "--backend", backend, "--model_name_or_path", str(ckpt), "--task_name", "afqmc", "--data_dir",
                       str(data), "--output_dir", str(folder / f"o-{shape}-{backend}"), "--do_train", "--max_steps",
                       str(steps), "--per_device_train_batch_size", "8", "--max_seq_length", "128", "--pad_to_max_length",
                       "--optim", "adafactor", "--learning_rate", "5e-4", "--report_to", "none", "--log_dir",
                       str(logs), "--save_steps", "100000", "--figure_dir", str(folder)],
                            capture_output=True, text=True).returncode
        assert rc == 0
        rows = [json.loads(x) for x in (logs / "metrics.jsonl").read_text().splitlines()]
        runtime = next(r["train_runtime"] for r in rows if "train_runtime" in r)
        out[backend] = {"steps": steps, "train_runtime_s": runtime, "steps_per_s": steps / runtime}
    out["paddle_over_torch_time"] = out["paddle"]["train_runtime_s"] / out["torch"]["train_runtime_s"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--examples", type=int, default=5000)
    ap.add_argument("--steps", default="tiny:30,base:4", help="steps per shape")
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        report = {"featurisation": featurisation(args.examples, Path(d)),
                  "training": {s: training(s, int(n), Path(d)) for s, n in (x.split(":") for x in
                                                                             args.steps.split(","))}}
    report["meta"] = {"command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
                      "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "batch": "8 x 128 (padded)",
                      "optimizer": "adafactor"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "clue_cpu.json").write_text(json.dumps(report, indent=2) + "\n")
    f = report["featurisation"]
    md = ["# CLUE throughput on CPU", "", f"`{report['meta']['command']}`  ", f"{report['meta']['machine']}", "",
          f"Featurisation of {f['examples']} afqmc-shaped pairs (max length 128), best of 3: the kit (GAU-alpha "
          f"tokenizer, `tasks.batches.text_pair_features`) {f['kit_examples_per_s']:.0f} examples/s, a plain loop over "
          f"HF's BertTokenizerFast {f['hf_loop_examples_per_s']:.0f} examples/s: **ratio {f['ratio']:.2f}**; "
          f"identical ids and token types: {f['identical_ids']}.", "",
          "| shape | backend | steps | train_runtime s | steps/s |", "|---|---|---|---|---|"]
    for shape, r in report["training"].items():
        for b in ("torch", "paddle"):
            md.append(f"| {shape} | {b} | {r[b]['steps']} | {r[b]['train_runtime_s']:.2f} | {r[b]['steps_per_s']:.2f} |")
    md += ["", "Training: run_clue.py, batch 8 x 128 (padded), Adafactor, random weights; paddle / torch time: " +
           ", ".join(f"{s} {r['paddle_over_torch_time']:.2f}" for s, r in report["training"].items()) + "."]
    text = "\n".join(md) + "\n"
    (out / "clue_cpu.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()

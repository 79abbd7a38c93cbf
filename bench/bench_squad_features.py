"""SQuAD training-feature throughput: the kit's featuriser (squad/data.py) beside HF run_qa's
prepare_train_features (transformers' examples/pytorch/question-answering/run_qa.py, reproduced below), same fast
tokenizer, same settings, same synthetic data, timed round-robin in one run. Prints examples/s and the ratio.

    python bench/bench_squad_features.py --examples 2000 --max-seq-length 384 --doc-stride 128
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


import numpy as np

from squad.data import QAExample, featurize
from reprokit.files import summary


def hf_prepare_train_features(examples, tokenizer, max_seq_length, doc_stride):
    """HF run_qa.py's prepare_train_features (pad_on_right, no padding), on a batch dict."""
    examples["question"] = [q.lstrip() for q in examples["question"]]
    tokenized = tokenizer(examples["question"], examples["context"], truncation="only_second",
                          max_length=max_seq_length, stride=doc_stride, return_overflowing_tokens=True,
                          return_offsets_mapping=True, padding=False)
    sample_mapping = tokenized.pop("overflow_to_sample_mapping")
    offset_mapping = tokenized.pop("offset_mapping")
    tokenized["start_positions"], tokenized["end_positions"] = [], []
    for i, offsets in enumerate(offset_mapping):
        input_ids = tokenized["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        sequence_ids = tokenized.sequence_ids(i)
        answers = examples["answers"][sample_mapping[i]]
        if len(answers["answer_start"]) == 0:
            tokenized["start_positions"].append(cls_index)
            tokenized["end_positions"].append(cls_index)
            continue
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        token_start_index = 0
        while sequence_ids[token_start_index] != 1:
            token_start_index += 1
        token_end_index = len(input_ids) - 1
        while sequence_ids[token_end_index] != 1:
            token_end_index -= 1
        if not (offsets[token_start_index][0] <= start_char and offsets[token_end_index][1] >= end_char):
            tokenized["start_positions"].append(cls_index)
            tokenized["end_positions"].append(cls_index)
        else:
            while token_start_index < len(offsets) and offsets[token_start_index][0] <= start_char:
                token_start_index += 1
            tokenized["start_positions"].append(token_start_index - 1)
            while offsets[token_end_index][1] >= end_char:
                token_end_index -= 1
            tokenized["end_positions"].append(token_end_index + 1)
    return tokenized


def synthetic(n, seed=0):
    rng = np.random.RandomState(seed)
    words = [f"w{i}" for i in range(3000)]
    out = []
    for i in range(n):
        ctx = " ".join(rng.choice(words, size=rng.randint(80, 400)))
        toks = ctx.split()
        a = rng.randint(len(toks) - 3)
        text = " ".join(toks[a:a + 3])
        start = len(" ".join(toks[:a])) + (1 if a else 0)
        impossible = rng.rand() < 0.3
        out.append(QAExample(str(i), " ".join(rng.choice(words, size=8)) + " ?", ctx,
                             [] if impossible else [(text, start)], impossible))
    return out, words


def main(argv=None):
    from transformers import BertTokenizerFast
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--max-seq-length", type=int, default=384)
    ap.add_argument("--doc-stride", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)
    examples, words = synthetic(args.examples)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?"] + words))
        tok = BertTokenizerFast(vocab_file=str(Path(d) / "vocab.txt"))
    batch = {"question": [e.question for e in examples], "context": [e.context for e in examples],
             "answers": [{"text": [t for t, _ in e.answers], "answer_start": [s for _, s in e.answers]}
                         for e in examples]}
    kit = featurize(examples, tok, args.max_seq_length, args.doc_stride, train=True)
    hf = hf_prepare_train_features(dict(batch), tok, args.max_seq_length, args.doc_stride)
    assert [f["start_positions"] for f in kit] == hf["start_positions"], "the two featurisers disagree"
    assert [f["end_positions"] for f in kit] == hf["end_positions"]
    assert [f["input_ids"] for f in kit] == hf["input_ids"]
    runners = {"HF run_qa prepare_train_features": lambda: hf_prepare_train_features(dict(batch), tok,
                                                                                     args.max_seq_length,
                                                                                     args.doc_stride),
               "kit squad.data.featurize": lambda: featurize(examples, tok, args.max_seq_length,
                                                                      args.doc_stride, train=True)}
    times = {k: [] for k in runners}
    for _ in range(args.repeats):
        for k, run in runners.items():
            t = time.perf_counter()
            run()
            times[k].append(time.perf_counter() - t)
    base = statistics.median(times["HF run_qa prepare_train_features"])
    rows = [{"featuriser": k, "median_s": statistics.median(v), "examples_per_s": args.examples / statistics.median(v),
             "ratio_to_hf": base / statistics.median(v)} for k, v in times.items()]
    meta = {"command": "python " + " ".join(sys.argv), "examples": args.examples, "features": len(kit),
            "max_seq_length": args.max_seq_length, "doc_stride": args.doc_stride, "repeats": args.repeats,
            "tokenizer": "BertTokenizerFast on a 3000-word synthetic vocabulary",
            "check": "both produce identical input_ids, start_positions, end_positions"}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "squad_features.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    md = [f"# SQuAD training features: {args.examples} examples -> {len(kit)} features, seq {args.max_seq_length}, "
          f"stride {args.doc_stride}", "", f"`{meta['command']}`  ", f"median of {args.repeats}, round-robin; "
          "outputs checked identical", "", "| featuriser | median s | examples/s | throughput ratio to HF |",
          "|---|---|---|---|"]
    md += [f"| {r['featuriser']} | {r['median_s']:.3f} | {r['examples_per_s']:.0f} | {r['ratio_to_hf']:.2f} |"
           for r in rows]
    text = "\n".join(md) + "\n"
    (Path(args.out) / "squad_features.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

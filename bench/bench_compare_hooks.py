"""Overhead of compare.py's per-layer hooks: forward + backward of both models (torch reference and Paddle port, the
same weights and batch, outputs and parameter gradients fetched as numpy, as compare.py does) with and without the
LayerRecorder hooks on every matched layer, timed round-robin in one run. Prints hooked/plain; target < 1.5.

    python bench/bench_compare_hooks.py --model funnel --config xlarge --arch FunnelForQuestionAnswering --lengths 128,128
"""
from __future__ import annotations

import argparse
import os


import paddlenlp_ext  # noqa: F401  (first: CPU settings for paddle's MKL, see paddlenlp_ext/_cpu.py)
import torch

from bench.common import time_round_robin, write_report
from parity.common import LayerRecorder, matched_names, side_forward_backward, sides
from parity.real import SPECS
from reprokit.files import summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--model", default="funnel", choices=sorted(SPECS))
    ap.add_argument("--config", default="xlarge")
    ap.add_argument("--arch", default=None, help="default: the model's QA head")
    ap.add_argument("--lengths", default="128,128", help="row lengths (batch = number of rows)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)

    torch.set_num_threads(os.cpu_count())
    spec = SPECS[args.model]
    arch = args.arch or ("FunnelForQuestionAnswering" if args.model == "funnel" else "GAUAlphaForQuestionAnswering")
    base = spec.TINY if args.config == "tiny" else dict(spec.RELEASED[args.config], **spec.NO_DROPOUT)
    kw = spec.config_kwargs(base, arch)
    lengths = tuple(int(x) for x in args.lengths.split(","))
    tm, pm = spec.build_pair(kw, arch, realistic=True)
    batch = spec.make_batch(arch, kw, lengths=lengths)
    table = spec.reference_table(kw, arch)
    names = matched_names(tm, pm)[0]
    st, sp = sides(tm, pm)

    def plain():
        for side in (st, sp):
            side_forward_backward(side, batch, table)

    def hooked():
        for side in (st, sp):
            side_forward_backward(side, batch, table, recorder=LayerRecorder(side.fw, side.model, names))

    times = time_round_robin({"plain forward+backward, both models": plain,
                              "with per-layer hooks (outputs + input gradients)": hooked}, args.repeats, args.warmup)
    meta = {"model": args.model, "config": args.config, "arch": arch, "lengths": list(lengths), "layers": len(names),
            "repeats": args.repeats, "warmup": args.warmup, "paddle_cpu_env": paddlenlp_ext._cpu.APPLIED,
            "work": "side_forward_backward on torch then paddle: every output and parameter gradient to numpy"}
    print(write_report(f"compare.py hooks overhead: {args.model} {args.config} {arch}, rows {args.lengths}",
                       f"compare_hooks_{args.model}_{args.config}", args.out, times,
                       "plain forward+backward, both models", meta, ratio_to="plain"))


if __name__ == "__main__":
    main()

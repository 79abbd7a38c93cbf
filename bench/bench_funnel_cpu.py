"""CPU benchmark: forward+backward of the Paddle Funnel port, transformers' torch Funnel and PaddleNLP 2.8.1's Funnel,
same weights, same batch, timed round-robin in one run. Prints the ratios to torch; writes JSON + Markdown.

    python bench/bench_funnel_cpu.py --config small --batch 8 --seq 128 --out logs/bench
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path


import paddlenlp_ext  # noqa: F401  (first: CPU settings for paddle's MKL, see paddlenlp_ext/_cpu.py)
import numpy as np
import paddle
import torch

from bench.common import time_round_robin, write_report
from parity import funnel as H
from reprokit.files import summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--config", default="small", choices=sorted(H.RELEASED))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--no-paddlenlp", action="store_true", help="skip PaddleNLP's own port")
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    kw = dict(H.RELEASED[args.config], **H.NO_DROPOUT)
    arch = "FunnelBaseModel" if args.config.endswith("-base") else "FunnelModel"
    tm, pm = H.build_pair(kw, arch)
    rng = np.random.RandomState(0)
    ids = rng.randint(5, kw["vocab_size"], size=(args.batch, args.seq)).astype("int64")
    tt = np.zeros_like(ids)
    tt[:, args.seq // 2:] = 1
    tt[:, 0] = 2
    mask = np.ones_like(ids)

    runners = {
        "torch (transformers)": lambda: _torch_step(tm, ids, mask, tt),
        "paddle (this kit)": lambda: _paddle_step(pm, ids, mask, tt),
    }
    if not args.no_paddlenlp:
        from paddlenlp.transformers.funnel.modeling import FunnelBaseModel as PNBase, FunnelModel as PNModel
        with tempfile.TemporaryDirectory() as d:
            pm.save_pretrained(Path(d) / "native")
            theirs = (PNBase if arch == "FunnelBaseModel" else PNModel).from_pretrained(str(Path(d) / "native"))
        theirs.train()
        runners["paddle (PaddleNLP 2.8.1)"] = lambda: _paddle_step(theirs, ids, mask, tt, return_dict=True)

    times = time_round_robin(runners, args.repeats, args.warmup)
    meta = {"config": args.config, "arch": arch, "batch": args.batch, "seq": args.seq, "repeats": args.repeats,
            "warmup": args.warmup, "threads": args.threads, "paddle_cpu_env": paddlenlp_ext._cpu.APPLIED,
            "work": "forward + backward (train mode, dropout 0), loss = sum of last hidden state"}
    print(write_report(f"Funnel {args.config} forward+backward on CPU, batch {args.batch} x {args.seq}",
                       f"funnel_cpu_{args.config}_b{args.batch}x{args.seq}", args.out, times,
                       "torch (transformers)", meta))


def _torch_step(model, ids, mask, tt):
    model.zero_grad(set_to_none=True)
    out = model(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(tt))
    out[0].sum().backward()


def _paddle_step(model, ids, mask, tt, **kwargs):
    model.clear_gradients(set_to_zero=False)
    out = model(paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask), token_type_ids=paddle.to_tensor(tt),
                **kwargs)
    out[0].sum().backward()


if __name__ == "__main__":
    main()

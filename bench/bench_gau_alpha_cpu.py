"""CPU benchmark: forward+backward of the Paddle GAU-α port, the kit's torch reference and PaddleNLP 2.8.1's GAU-α,
same weights, same batch, timed round-robin in one run; prints the ratios to torch, writes JSON + Markdown.

    python bench/bench_gau_alpha_cpu.py --layers 12 --batch 8 --seq 128 --out logs/bench
"""
from __future__ import annotations

import argparse
import os


import paddlenlp_ext  # noqa: F401  (first: CPU settings for paddle's MKL, see paddlenlp_ext/_cpu.py)
import numpy as np
import paddle
import torch

import paddlenlp_ext.gau_alpha as P
import torch_ref.gau_alpha as R
from bench.common import time_round_robin, write_report
from reprokit.files import summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-paddlenlp", action="store_true")
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)

    torch.set_num_threads(os.cpu_count())
    kw = dict(num_hidden_layers=args.layers, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    tm = R.GAUAlphaModel(R.GAUAlphaConfig(**kw)).train()
    pm = P.GAUAlphaModel(P.GAUAlphaConfig(**kw))
    pm.load_numpy_state({k: v.numpy() for k, v in tm.state_dict().items()}, "torch", origin="torch reference")
    pm.train()
    rng = np.random.RandomState(0)
    ids = rng.randint(1, 12000, size=(args.batch, args.seq)).astype("int64")
    ids[:, -7:] = 0  # some padding
    tt = np.zeros_like(ids)
    tt[:, args.seq // 2:] = 1

    def torch_step():
        tm.zero_grad(set_to_none=True)
        tm(torch.tensor(ids), token_type_ids=torch.tensor(tt))["last_hidden_state"].sum().backward()

    def paddle_step(model, key=True):
        model.clear_gradients()
        out = model(paddle.to_tensor(ids), token_type_ids=paddle.to_tensor(tt))
        (out["last_hidden_state"] if key else out).sum().backward()

    runners = {"torch (kit reference)": torch_step, "paddle (this kit)": lambda: paddle_step(pm)}
    if not args.no_paddlenlp:
        from paddlenlp.transformers.gau_alpha.modeling import GAUAlphaConfig as PNConfig, GAUAlphaModel as PNModel
        theirs = PNModel(PNConfig(vocab_size=12000, hidden_size=768, intermediate_size=1536,
                                  num_hidden_layers=args.layers, attention_key_size=128, type_vocab_size=2,
                                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                  normalization="softmax_plus", norm_eps=1e-12, activation="swish"))
        theirs.set_state_dict(pm.state_dict())
        theirs.train()
        runners["paddle (PaddleNLP 2.8.1, wrong past batch item 0)"] = lambda: paddle_step(theirs, key=False)
    times = time_round_robin(runners, args.repeats, args.warmup)
    meta = {"layers": args.layers, "hidden": 768, "batch": args.batch, "seq": args.seq, "repeats": args.repeats,
            "warmup": args.warmup, "paddle_cpu_env": paddlenlp_ext._cpu.APPLIED,
            "work": "forward + backward (train mode, dropout 0), loss = sum of last hidden state"}
    print(write_report(f"GAU-alpha {args.layers} layers (hidden 768) forward+backward on CPU, batch {args.batch} x "
                       f"{args.seq}", f"gau_alpha_cpu_l{args.layers}_b{args.batch}x{args.seq}", args.out, times,
                       "torch (kit reference)", meta))


if __name__ == "__main__":
    main()

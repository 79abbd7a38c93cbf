"""Convert a checkpoint between PyTorch (HF directory) and Paddle (native directory), exactly, through the models'
parameter tables. Direction and model type are read from SRC; flags override them.

    python convert.py path/to/hf-funnel-xlarge out/funnel-xlarge-paddle
    python convert.py out/funnel-paddle out/funnel-hf --to torch
"""
from __future__ import annotations

import argparse
import sys

from reprokit import KitError
from reprokit.convert import DTYPES, MODELS, convert


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--to", choices=["torch", "paddle"], help="target layout (default: the other one)")
    ap.add_argument("--model", choices=sorted(MODELS), help="model type (default: config.json's model_type)")
    ap.add_argument("--arch", help="class name (default: config.json's architectures, else detected from the keys)")
    ap.add_argument("--dtype", choices=DTYPES, help="cast every tensor (default: keep)")
    ap.add_argument("--paddle-format", choices=["pdparams", "safetensors"], default="pdparams")
    ap.add_argument("--trust-pickle", action="store_true", help="allow reading a .pdparams the kit did not write")
    args = ap.parse_args(argv)
    try:
        out = convert(args.src, args.dst, to=args.to, model_type=args.model, arch=args.arch, dtype=args.dtype,
                      paddle_format=args.paddle_format, trust_pickle=args.trust_pickle)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The convert.py command (also `reprokit-convert`): converts a checkpoint between the PyTorch layout (an HF directory)
and the Paddle one, exactly, through the models' parameter tables (the converter itself is reprokit/convert.py).

    python convert.py                                        # funnel-transformer/xlarge -> ./xlarge (Paddle), as the
                                                             # Funnel-paddle repo's convert.py did
    python convert.py funnel-transformer/small out/small-paddle          # a name: the kit's store, the HF cache, or fetched
    python convert.py out/funnel-paddle out/funnel-hf --to torch         # and back

SRC is a directory or a name (artifacts/names.py). Direction and model type are read from SRC; flags override them.
DST must not exist; the result is written to a temporary folder and renamed, so a failure leaves nothing.
"""
from __future__ import annotations

import argparse
import sys

from reprokit import KitError
from reprokit.convert import DTYPES, MODELS, convert

DEFAULT_SRC, DEFAULT_DST = "funnel-transformer/xlarge", "xlarge"


def main(argv=None) -> int:
    paragraphs = __doc__.split("\n\n")
    ap = argparse.ArgumentParser(description=" ".join(paragraphs[0].split()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(paragraphs[1:]))
    ap.add_argument("src", nargs="?", default=DEFAULT_SRC, help=f"a checkpoint directory or name (default "
                                                                  f"{DEFAULT_SRC})")
    ap.add_argument("dst", nargs="?", help=f"the new directory (default ./{DEFAULT_DST} for the default SRC)")
    ap.add_argument("--to", choices=["torch", "paddle"], help="target layout (default: the other one)")
    ap.add_argument("--model", choices=sorted(MODELS), help="model type (default: config.json's model_type)")
    ap.add_argument("--arch", help="class name (default: config.json's architectures, else detected from the keys)")
    ap.add_argument("--dtype", choices=DTYPES, help="cast every tensor (default: keep)")
    ap.add_argument("--paddle-format", choices=["pdparams", "safetensors"], default="pdparams")
    ap.add_argument("--revision", help="the hub revision of a named SRC")
    ap.add_argument("--trust-pickle", action="store_true", help="allow reading a .pdparams the kit did not write")
    args = ap.parse_args(argv)
    if args.dst is None:
        if args.src != DEFAULT_SRC:
            ap.error("give DST (only the default SRC has a default DST)")
        args.dst = DEFAULT_DST
    try:
        from .names import resolve_model
        src = resolve_model(args.src, args.revision)
        out = convert(src, args.dst, to=args.to, model_type=args.model, arch=args.arch, dtype=args.dtype,
                      paddle_format=args.paddle_format, trust_pickle=args.trust_pickle)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Convert a checkpoint between PyTorch (HF directory) and Paddle (native directory), exactly, through the models'
parameter tables. Direction and model type are read from SRC; flags override them. The converter is
reprokit/convert.py; installed as the `reprokit-convert` command too.

    python convert.py path/to/hf-funnel-xlarge out/funnel-xlarge-paddle
    python convert.py out/funnel-paddle out/funnel-hf --to torch
"""
import sys

from reprokit.convert import main

if __name__ == "__main__":
    sys.exit(main())

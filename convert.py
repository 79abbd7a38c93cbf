"""Convert a checkpoint between PyTorch (HF directory) and Paddle (native directory), exactly, through the models'
parameter tables; SRC may be a name. The command is artifacts/convert_cli.py (installed as `reprokit-convert` too).

    python convert.py                                      # funnel-transformer/xlarge -> ./xlarge (Paddle layout)
    python convert.py path/to/hf-funnel-xlarge out/funnel-xlarge-paddle
    python convert.py out/funnel-paddle out/funnel-hf --to torch
"""
import sys

from artifacts.convert_cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The parity report (the kit's main job): torch reference vs Paddle port, every output, layer, gradient and training
step. The report itself is parity/report.py; installed as the `reprokit-compare` command too.

    python compare.py                                        # embedded default: tiny Funnel + tiny GAU-alpha
    python compare.py --model funnel --config xlarge --arch FunnelForQuestionAnswering --lengths 128,128 --steps 2
    python compare.py --checkpoint path/to/funnel-small --text examples.txt   # real weights (torch or Paddle dir)
"""
import sys

import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings, before anything imports paddle)
from parity.report import main

if __name__ == "__main__":
    sys.exit(main())

"""Fetch checkpoints and data sets (verified, resumable) and publish fine-tuned runs; the code is artifacts/
(installed as the `reprokit-fetch` command too). `python fetch.py --help` lists the forms:

    python fetch.py --list
    python fetch.py funnel-transformer/xlarge --to paddle
    python fetch.py glue/qnli squad/v2.0 clue/afqmc cluener
    python fetch.py --publish out/qnli --out release/qnli-funnel
"""
import sys

from artifacts.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The paper tables, rendered from the run folders under logs/ (paper/tables.py; installed as `reprokit-tables` too).

    python tables.py                      # logs/ -> logs/tables/tables.{md,json} + one PNG per table
    python tables.py --readme README.md   # and refresh the README's summary block
"""
import sys

from paper.tables import main

if __name__ == "__main__":
    sys.exit(main())

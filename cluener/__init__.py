"""CLUENER 2020 with GlobalPointer heads: data.py (files, character/token spans, both metrics, submission). The
training and prediction scripts are still to come (issue 15)."""

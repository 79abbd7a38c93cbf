"""The published numbers this kit reproduces (numbers.json) and the tables rendered from its runs (tables.py)."""

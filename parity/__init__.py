"""The parity machinery: torch reference and Paddle port on the same numpy batches, every output, layer, gradient and
training step compared against stated bars (used by the tests and by compare.py, whose report is parity/report.py)."""

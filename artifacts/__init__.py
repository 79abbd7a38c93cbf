"""Fetching and publishing artefacts: the registry of checkpoints and data sets (registry.json), verified and
resumable downloads (transfer.py), safe unpacking (archive.py), the fetch itself (fetching.py), releases of
fine-tuned runs (publish.py) and the `fetch.py` command (cli.py)."""

"""GLUE on either backend: data.py (TSV / HF-datasets readers, features, metrics, leaderboard files), run_glue.py,
run_predict.py, recipes/."""

"""CLUE classification on either backend: data.py (the 7 tasks' JSON lines, the GAU-alpha recipe's inputs, accuracy,
submission files), run_clue.py, recipes/."""

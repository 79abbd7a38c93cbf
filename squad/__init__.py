"""SQuAD v1.1 / v2.0 on either backend: data.py (reading, features), postprocess.py (run_qa's answers and null
odds), evaluation.py (the official scripts), run_squad_v1.py, recipes/."""

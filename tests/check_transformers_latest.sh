#!/usr/bin/env bash
# The torch GAU-alpha under the newest transformers that installs here (5.x: the lent GPU machine has it), in a
# venv of its own (the kit's pins stay 4.46.3: newer breaks `import gau_alpha` and PaddleNLP's imports). Runs the
# torch-only model tests: Auto classes, pipeline("fill-mask"), gradient checkpointing, resize, save/load, push_to_hub.
#   bash tests/check_transformers_latest.sh [VENV_DIR]      (default: a temporary folder, removed afterwards)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q torch==2.13.0 "transformers>=5" safetensors numpy tqdm matplotlib pytest
"$venv/bin/python" -c "import transformers, torch; print('transformers', transformers.__version__, 'torch', torch.__version__)"
cd "$here"
PYTHONPATH="$here" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_gau_alpha_transformers.py

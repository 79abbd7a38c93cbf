# Sourced by the recipes: the Python the kit is installed in. $PYTHON if set; else the repository's .venv (the
# README's set-up command makes it); else python3 on PATH. A Python that cannot import the kit stops the recipe with
# one line naming the fix, before anything runs.
KIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$KIT_ROOT/.venv/bin/python" ]; then
    PYTHON="$KIT_ROOT/.venv/bin/python"
  else
    PYTHON="$(command -v python3 || command -v python)"
  fi
fi
if ! (cd / && "$PYTHON" -c "import reprokit") 2>/dev/null; then  # as the scripts import it: not from here
  echo "error: $PYTHON cannot import the kit; run the README's set-up command (python3 -m venv .venv &&" \
       ".venv/bin/pip install -r requirements.txt -e .) or set PYTHON to the kit's interpreter" >&2
  exit 2
fi

"""What the notebooks (notebooks/*.py, *.ipynb) call: the kit's own commands, run as subprocesses with their output
streamed into the notebook (progress bars included), and the results shown inline. No reproduction logic lives here
or in a notebook: each step is a kit command or recipe a user can also run in a shell.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence

# the kit's commands as modules (the root front ends fetch.py, convert.py, compare.py, tables.py call the same mains)
COMMANDS = {"fetch": "artifacts.cli", "convert": "artifacts.convert_cli", "compare": "parity.report",
            "tables": "paper.tables", "run_glue": "glue.run_glue", "run_squad": "squad.run_squad_v1",
            "run_clue": "clue.run_clue", "run_cluener": "cluener.run_cluener", "cluener_predict": "cluener.predict"}


def run(argv: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> str:
    """Run a command, streaming its output (stdout and stderr) as it comes; return it; raise on a non-zero exit
    with its last lines."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=full_env, cwd=cwd, bufsize=1)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = proc.wait()
    if code:
        tail = "".join(lines[-20:])
        raise RuntimeError(f"{' '.join(map(str, argv))} exited with {code}:\n{tail}")
    return "".join(lines)


def kit(command: str, *args, env: Optional[Dict[str, str]] = None) -> str:
    """A kit command by name (COMMANDS), e.g. kit("run_glue", "--task_name", "QNLI", ...)."""
    return run([sys.executable, "-m", COMMANDS[command], *args], env=env)


def recipe(path: str, **env) -> str:
    """A reproduction recipe (glue/recipes/..., squad/recipes/...) of the installed kit, run with bash and the given
    environment (MODEL, DATA, BACKEND, OUT, EXTRA...), with this interpreter as PYTHON."""
    package, _, name = path.partition("/recipes/")
    module = __import__(package)
    script = Path(module.__file__).parent / "recipes" / name
    return run(["bash", str(script)], env={"PYTHON": sys.executable, **{k: str(v) for k, v in env.items()}})


def fetched_path(output: str) -> str:
    """fetch's last printed line is the local path."""
    return output.strip().splitlines()[-1]


def show_image(path) -> None:
    from IPython.display import Image, display
    if Path(path).is_file():
        display(Image(filename=str(path)))
    else:
        print(f"(no figure at {path})")


def show_markdown(path) -> None:
    from IPython.display import Markdown, display
    display(Markdown(Path(path).read_text(encoding="utf-8")))

"""The layout's rules, checked on the source (README, "Layout"): imports point down the layers only, no import cycle
(imports inside functions count), the core imports no framework, plotting or data library, and no file edits
sys.path."""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> layer; a package imports only from lower layers (and itself)
LAYERS = {"reprokit": 0, "artifacts": 0.5, "torch_ref": 1, "paddlenlp_ext": 1, "tasks": 2, "paper": 2, "parity": 3, "glue": 3,
          "squad": 3, "clue": 3, "cluener": 3,
          "bench": 4}
# what the core may import besides the standard library: numpy and safetensors; torch only to read a torch pickle
CORE_ALLOWED = {"numpy", "safetensors"}
CORE_EXCEPTIONS = {("reprokit/checkpoint.py", "torch")}  # a pytorch_model.bin is a torch pickle


def modules():
    """{module name: path} for every kit package module."""
    out = {}
    for pkg in LAYERS:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name, path):
    """Every module `name` imports (top level or inside functions), relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return found


def kit_graph():
    mods = modules()
    return {m: {i for i in imports(m, p) if i in mods and i != m} for m, p in mods.items()}


def test_imports_point_down_the_layers():
    wrong = []
    for mod, targets in kit_graph().items():
        top = mod.split(".")[0]
        for t in targets:
            other = t.split(".")[0]
            if other != top and LAYERS[other] >= LAYERS[top]:
                wrong.append(f"{mod} -> {t}")
    assert not wrong, wrong


def test_no_import_cycles():
    graph = kit_graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_core_imports_only_numpy_and_the_standard_library():
    bad = []
    for mod, path in modules().items():
        if not mod.startswith("reprokit"):
            continue
        rel = str(path.relative_to(ROOT))
        for name in imports(mod, path):
            top = name.split(".")[0]
            if top and top != "reprokit" and top not in sys.stdlib_module_names and top not in CORE_ALLOWED \
                    and (rel, top) not in CORE_EXCEPTIONS:
                bad.append(f"{rel}: {name}")
    assert not bad, bad


def test_core_runs_without_frameworks(tmp_path):
    """Reading and converting checkpoints (safetensors and .pdparams) and diffing load no framework or plotting or
    data library, in a fresh process."""
    import numpy as np
    from safetensors.numpy import save_file

    from reprokit.checkpoint import write_pdparams
    (tmp_path / "st").mkdir()
    save_file({"a": np.ones((2, 3), np.float32)}, str(tmp_path / "st" / "model.safetensors"))
    write_pdparams(tmp_path / "pd.pdparams", {"a": np.ones((2, 3), np.float32)})
    code = ("import sys; from reprokit import checkpoint, convert, diff, loading, tables, safetensors_io, rope; "
            f"s = checkpoint.load_state({str(tmp_path / 'st')!r})[1]; p = checkpoint.read_pdparams("
            f"__import__('pathlib').Path({str(tmp_path / 'pd.pdparams')!r})); "
            "assert s['a'].shape == p['a'].shape == (2, 3); "
            "heavy = [m for m in ('torch', 'paddle', 'matplotlib', 'datasets', 'tokenizers', 'transformers', "
            "'paddlenlp') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_no_sys_path_edits():
    tracked = subprocess.run(["git", "ls-files", "*.py"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    # notebooks/ may append AI Studio's persistent package folder (/home/aistudio/external-libraries, the platform's
    # way to keep pip installs across restarts): a site folder, never the kit's own source tree
    allowed = {"tests/test_layout.py"} | {f for f in tracked if f.startswith("notebooks/")}
    edits = [f for f in tracked if f not in allowed and ("sys.path.insert" in (ROOT / f).read_text()
                                                         or "sys.path.append" in (ROOT / f).read_text())]
    for f in allowed - {"tests/test_layout.py"}:
        text = (ROOT / f).read_text()
        assert "sys.path.insert" not in text and text.count("sys.path.append(") == text.count(
            "sys.path.append(PACKAGES)"), f
    assert tracked and not edits, edits


def test_scripts_start_from_any_folder(tmp_path):
    """Every script (front ends, task scripts, benchmarks, examples) starts as `python path/to/script.py --help` from a
    folder outside the repository: its imports resolve through the installed kit, not through the working folder.
    Its --help opens with a whole sentence (the module docstring's first paragraph, not its first line)."""
    scripts = sorted(str(p) for pattern in ("*.py", "bench/bench_*.py", "*/run_*.py", "*/predict.py", "examples/*.py")
                     for p in ROOT.glob(pattern) if "__main__" in p.read_text(encoding="utf-8"))
    assert len(scripts) >= 15
    code = ("import contextlib, io, json, runpy, sys\nbad, helps = [], {}\nfor s in sys.argv[1:]:\n"
            "    sys.argv = [s, '--help']\n    buf = io.StringIO()\n    try:\n"
            "        with contextlib.redirect_stdout(buf):\n            runpy.run_path(s, run_name='__main__')\n"
            "    except SystemExit as e:\n        if e.code not in (0, None): bad.append((s, e.code))\n"
            "    except Exception as e:\n        bad.append((s, repr(e)))\n    helps[s] = buf.getvalue()\n"
            "print(json.dumps({'bad': bad, 'helps': helps}))")
    out = subprocess.run([sys.executable, "-c", code, *scripts], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bad"] == [], result["bad"]
    for script, text in result["helps"].items():
        description = " ".join(text.split("\n\n")[1].split())  # the paragraph after the usage lines
        assert description.endswith("."), (script, description)

"""The notebooks (notebooks/*.py, jupytext percent format, paired with *.ipynb) execute end to end with tiny
parameters, on both backends where the notebook offers both: every cell runs, and the final table cell shows the
tiny run's numbers. Parameters are injected as papermill does: a cell after the one tagged `parameters`."""
import json
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from test_readme import make_fixtures

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


def tiny_parameters(work: Path) -> dict:
    """Per notebook: CI values for the AI Studio defaults (tiny checkpoints and data made by make_fixtures)."""
    common = dict(WORK=str(work), KIT_DIR=str(ROOT), PACKAGES="", INSTALL=False, CACHE=str(work / "cache"),
                  ANY_MODEL_TABLE=True)
    steps = "--max_steps 2"
    return {
        "funnel_qnli": dict(common, MODEL=str(work / "path/to/funnel-xlarge"), DATA=str(work / "glue_data/QNLI"),
                            BACKENDS=["paddle", "torch"], EXTRA=steps),
        "funnel_squad": dict(common, MODEL=str(work / "path/to/funnel-xlarge"), DATA=str(work / "squad_data"),
                             BACKENDS=["paddle", "torch"], EXTRA=steps + " --max_seq_length 64 --doc_stride 32",
                             PER_DEVICE=2, ACCUM=1),
        "gau_alpha_clue": dict(common, MODEL=str(work / "path/to/chinese_GAU-alpha-char_L-24_H-768"),
                               DATA=str(work / "clue_data"), TASKS=["afqmc", "csl"], BACKENDS=["paddle", "torch"],
                               EXTRA=steps + " --max_seq_length 32"),
        "cluener_global_pointer": dict(common, MODEL=str(work / "path/to/chinese_GAU-alpha-char_L-24_H-768"),
                                       DATA=str(work / "cluener_data"), HEADS=["GlobalPointer"],
                                       BACKENDS=["paddle", "torch"], EXTRA=steps + " --max_seq_length 64"),
        "parity_report": dict(common, MODEL=str(work / "path/to/funnel-xlarge"), TEXT=str(work / "sentences.txt"),
                              STEPS=1, COMPARE_ARGS=["--spill", "on", "--spill-dir", str(work / "spill")]),
    }


def test_every_notebook_is_listed():
    assert {p.stem for p in NOTEBOOKS} == set(tiny_parameters(Path("/x")))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_is_the_text_notebook_with_outputs_cleared(source):
    """The reviewed text (.py) and the .ipynb AI Studio opens hold the same cells; nothing executed is committed."""
    text = jupytext.read(source)
    ipynb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert [(c.cell_type, c.source) for c in ipynb.cells] == [(c.cell_type, c.source) for c in text.cells], \
        f"{source.with_suffix('.ipynb').name} is stale: jupytext --sync {source.relative_to(ROOT)}"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in ipynb.cells if c.cell_type == "code")
    tagged = [c for c in ipynb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "/home/aistudio/work" in tagged[0].source


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_with_tiny_parameters(source, tmp_path):
    make_fixtures(tmp_path)
    params = tiny_parameters(tmp_path)[source.stem]
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    final = nb.cells[-1]
    shown = "".join(o.get("data", {}).get("text/markdown", "") for o in final.outputs)
    if source.stem == "parity_report":
        report = json.loads((tmp_path / "logs/compare/parity_notebook.json").read_text())
        assert report["verdict"] == "PASS" and "# Parity report" in shown and "PASS" in shown
        return
    assert "# Paper tables" in shown, "the last cell shows the rendered table"
    tables = json.loads((tmp_path / "logs/tables/tables.json").read_text())
    filled = {b: [r["ours"][b] for t in tables["tables"] for r in t["metric_rows"] if r["ours"][b]]
              for b in ("torch", "paddle")}
    assert all(filled[b] for b in params["BACKENDS"]), "the tiny run's numbers are in the table, per backend"
    for c in filled["torch"] + filled["paddle"]:  # each number shown is the run's own, from its log folder
        run_dir = tmp_path / "logs/tables" / c["runs"][0]["dir"]
        assert (run_dir / "eval_results.json").is_file() and (run_dir / "kit_run.json").is_file()
        assert f"{c['mean']:.2f}" in shown

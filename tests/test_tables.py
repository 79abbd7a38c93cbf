"""paper/tables.py: the paper tables rendered from run folders (never a hand-typed number of ours)."""
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from paper.tables import NUMBERS, README_BEGIN, README_END, find_runs, load_numbers, readme_block, render

ROOT = Path(__file__).resolve().parents[1]
XLARGE = {"model_type": "funnel", "d_model": 1024, "block_sizes": [10, 10, 10]}


def run_folder(logs: Path, rel: str, task: str, backend: str, seed: int, results: dict, config: dict,
               args: dict = None):
    d = logs / rel
    d.mkdir(parents=True)
    (d / "eval_results.json").write_text(json.dumps(results))
    (d / "kit_run.json").write_text(json.dumps({"task": task, "backend": backend, "seed": seed, "git_commit": "abc",
                                                "date": "2026-12-02T00:00:00Z", "machine": "test", "trained": True,
                                                "command": "python glue/run_glue.py ...", "config": config}))
    (d / "args.json").write_text(json.dumps(args or {"seed": seed}))
    return d


def row(tables, table_id, name):
    t = next(t for t in tables["tables"] if t["id"] == table_id)
    return next(r for r in t["metric_rows"] if r["name"] == name)


def test_two_seeds_mean_std_and_a_missing_backend(tmp_path):
    logs = tmp_path / "logs"
    run_folder(logs, "glue/QNLI/paddle", "QNLI", "paddle", 42, {"dev": {"eval_accuracy": 0.9512}}, XLARGE)
    run_folder(logs, "glue/QNLI/paddle/seed43", "QNLI", "paddle", 43, {"dev": {"eval_accuracy": 0.9498}}, XLARGE)
    # the same task on another model shape is not the paper's row
    run_folder(logs, "glue/QNLI/torch", "QNLI", "torch", 42, {"dev": {"eval_accuracy": 0.91}},
               {**XLARGE, "d_model": 768})
    tables = render(logs, tmp_path / "out")
    r = row(tables, "funnel_qnli", "QNLI acc")
    paddle = r["ours"]["paddle"]
    assert paddle["n"] == 2
    assert paddle["mean"] == pytest.approx(statistics.fmean([95.12, 94.98]))
    assert paddle["std"] == pytest.approx(statistics.stdev([95.12, 94.98]))
    assert paddle["diff"] == pytest.approx(paddle["mean"] - 95.1)
    assert r["ours"]["torch"] is None
    md = (tmp_path / "out" / "tables.md").read_text()
    qnli_line = next(line for line in md.splitlines() if line.startswith("| QNLI acc |"))
    assert "missing" in qnli_line and "95.05 ± 0.10 (n=2)" in qnli_line and "+(-0.05)" not in qnli_line
    assert "](../logs/glue/QNLI/paddle/seed43)" in qnli_line  # a link to the run folder
    # every row of every other table is missing: no number appears without a run
    for t in tables["tables"]:
        for r2 in t["metric_rows"]:
            if r2["name"] != "QNLI acc" or t["id"] != "funnel_qnli":
                assert r2["ours"] == {"torch": None, "paddle": None}, (t["id"], r2["name"])
    assert json.loads((tmp_path / "out" / "tables.json").read_text()) == json.loads(json.dumps(tables, default=str))
    assert (tmp_path / "out" / "funnel_qnli.png").stat().st_size > 1000


def test_selection_by_arguments_and_nested_metric_keys(tmp_path):
    logs = tmp_path / "logs"
    bert = {"model_type": "bert", "hidden_size": 768, "num_hidden_layers": 12}
    run_folder(logs, "cluener/EGP/torch", "CLUENER", "torch", 42, {"dev": {"micro_f1": 0.8071}}, bert,
               {"global_pointer_head": "EfficientGlobalPointer", "rope": True})
    run_folder(logs, "cluener/GP/torch", "CLUENER", "torch", 42, {"dev": {"micro_f1": 0.7932}}, bert,
               {"global_pointer_head": "GlobalPointer", "rope": False})
    run_folder(logs, "squad/v2.0/torch", "SQuAD v2.0", "torch", 42,
               {"paper": {"v2.0_best_f1": 90.3, "v1.1_f1": 94.6}}, XLARGE)
    tables = render(logs, tmp_path / "out", figures=False)
    assert row(tables, "global_pointer_cluener", "EfficientGlobalPointer")["ours"]["torch"]["mean"] == \
        pytest.approx(80.71)
    assert row(tables, "global_pointer_cluener", "GlobalPointer, no RoPE")["ours"]["torch"]["mean"] == \
        pytest.approx(79.32)
    assert row(tables, "global_pointer_cluener", "GlobalPointer")["ours"]["torch"] is None  # rope True only
    assert row(tables, "funnel_squad", "v2.0 F1 (best threshold)")["ours"]["torch"]["mean"] == 90.3
    assert row(tables, "funnel_squad", "v1.1 EM")["ours"]["torch"] is None


def test_a_changed_paper_number_changes_the_table(tmp_path):
    numbers = json.loads(NUMBERS.read_text())
    numbers["tables"][0]["rows"][0]["paper"] = 97.25
    changed = tmp_path / "numbers.json"
    changed.write_text(json.dumps(numbers))
    logs = tmp_path / "logs"
    run_folder(logs, "glue/QNLI/torch", "QNLI", "torch", 1, {"dev": {"eval_accuracy": 0.95}}, XLARGE)
    tables = render(logs, tmp_path / "out", numbers_path=changed, figures=False)
    r = row(tables, "funnel_qnli", "QNLI acc")
    assert r["paper"] == 97.25 and r["ours"]["torch"]["diff"] == pytest.approx(95.0 - 97.25)
    assert "| QNLI acc | 97.25 |" in (tmp_path / "out" / "tables.md").read_text()


def test_bad_inputs_are_named(tmp_path):
    bad = tmp_path / "numbers.json"
    bad.write_text(json.dumps({"tables": [{"id": "x", "title": "t", "source": "s", "rows": [{"name": "r"}]}]}))
    with pytest.raises(Exception, match=r"numbers.json: table 'x', row 'r' has no 'metric'"):
        load_numbers(bad)
    logs = tmp_path / "logs" / "glue" / "QNLI" / "torch"
    logs.mkdir(parents=True)
    (logs / "eval_results.json").write_text("{not json")
    (logs / "kit_run.json").write_text("{}")
    with pytest.raises(Exception, match=r"eval_results.json: not a readable JSON file"):
        find_runs(tmp_path / "logs")
    out = subprocess.run([sys.executable, str(ROOT / "tables.py"), "--logs", str(tmp_path / "nowhere"),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert out.returncode == 2 and "nowhere: no such folder" in out.stderr and not (tmp_path / "o").exists()


def test_committed_tables_reflect_the_committed_logs(tmp_path):
    """logs/tables/ and the README block are what tables.py renders from the logs/ of this commit."""
    tables = render(ROOT / "logs", tmp_path / "tables", figures=True, link_root=ROOT / "logs" / "tables")
    for name in ("tables.md", "tables.json"):
        committed = (ROOT / "logs" / "tables" / name).read_text(encoding="utf-8")
        assert (tmp_path / "tables" / name).read_text(encoding="utf-8") == committed, \
            f"logs/tables/{name} is stale: run `python tables.py --readme paper/README.md`"
    for t in tables["tables"]:
        assert (ROOT / "logs" / "tables" / f"{t['id']}.png").is_file()
    readme = (ROOT / "paper" / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_BEGIN):readme.index(README_END) + len(README_END)]
    assert block == readme_block(tables), \
        "paper/README.md tables block is stale: run `python tables.py --readme paper/README.md`"

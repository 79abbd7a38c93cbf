"""bench/bench_train_throughput.py (the GPU throughput benchmark of issues #6 / #7) runs end to end on a tiny config on
CPU: every row trains through its own path (plain HF Trainer; the kit's backend via the task scripts' parsers), and
the report holds throughput and the ratio to plain."""
import json

import pytest


@pytest.mark.parametrize("task", ["qnli", "squad"])
def test_throughput_benchmark_runs(tmp_path, task):
    from bench.bench_train_throughput import main
    rows = main(["--task", task, "--config", "tiny", "--batch", "2", "--seq", "32", "--steps", "6", "--warmup", "2",
                 "--rows", "plain,kit,kit-bf16", "--cpu-all", "--out", str(tmp_path)])
    assert [r["row"] for r in rows] == ["plain HF Trainer (fp32)", "kit torch backend fp32", "kit torch backend bf16"]
    assert all(r["samples_per_s"] > 0 and r["timed_steps"] == 3 for r in rows)
    report = json.loads((tmp_path / f"train_{task}_tiny_b2x32.json").read_text())
    assert report["rows"][0]["ratio_to_plain"] == 1.0 and report["meta"]["batch"] == 2
    assert (tmp_path / f"train_{task}_tiny_b2x32.md").read_text().count("| kit torch backend") == 2

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
    report = json.loads((tmp_path / f"train_{task}_tiny_b2x32.json").read_text())
    assert report["meta"]["batch"] == 2
    plain = report["rows"][0]["samples_per_s"]
    for r in report["rows"]:
        # 6 steps, the first 2 left out: samples/s is 2 x 3 steps over the time from the end of step 3 to that of 6
        t = r["step_end_times_s"]
        assert len(t) == r["steps"] == 6 and r["timed_steps"] == 3 and t == sorted(t)
        assert r["samples_per_s"] == pytest.approx(2 * 3 / (t[5] - t[2]), rel=1e-4)
        assert r["ratio_to_plain"] == pytest.approx(r["samples_per_s"] / plain, rel=1e-12)
    assert (tmp_path / f"train_{task}_tiny_b2x32.md").read_text().count("| kit torch backend") == 2

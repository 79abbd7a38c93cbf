"""bench/common.py: the report's two ratios and the command line that produced it."""
import json

from bench.common import time_round_robin, write_report


def test_ratios_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("FLAGS_use_stride_kernel", "1")  # set by the caller, not the kit: part of the command
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_DEBUG_CPU_TYPE", raising=False)
    times = {"torch": [1.0, 2.0, 4.0], "paddle": [1.5, 2.0, 4.4]}  # per round: 1.5, 1.0, 1.1
    text = write_report("t", "r", str(tmp_path), times, "torch",
                        {"repeats": 3, "warmup": 0, "paddle_cpu_env": {"OMP_NUM_THREADS": "2"}})
    rows = {r["implementation"]: r for r in json.loads((tmp_path / "r.json").read_text())["rows"]}
    assert rows["paddle"]["ratio_to_torch"] == 1.0 and abs(rows["paddle"]["paired_ratio"] - 1.1) < 1e-12
    assert "| paddle | 2.000 | 1.00 | 1.10 |" in text
    command = json.loads((tmp_path / "r.json").read_text())["meta"]["command"]
    assert command.startswith("FLAGS_use_stride_kernel=1 python ") and "OMP_NUM_THREADS" not in command


def test_round_robin_order_and_warmup():
    calls = []
    times = time_round_robin({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=2, warmup=1)
    assert calls == ["a", "b"] * 3 and [len(v) for v in times.values()] == [2, 2]

"""bench/bench_fetch.py end to end on a small file: curl and the kit download the same bytes from the server process,
the report's ratios follow from its own timings, and the resumed download after a drop at 50% is verified."""
import importlib.util
import json
from pathlib import Path

import pytest


def test_fetch_benchmark_report(tmp_path):
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_fetch.py"
    spec = importlib.util.spec_from_file_location("bench_fetch", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(["--size-mb", "4", "--repeats", "2", "--out", str(tmp_path)])
    assert report == json.loads((tmp_path / "fetch_local_4mb.json").read_text())
    rows, drop = report["rows"], report["drop_at_50pct"]
    assert report["kit_throughput_vs_curl"] == pytest.approx(rows["curl"]["best_s"] / rows["kit"]["best_s"], rel=2e-3)
    assert min(rows["kit"]["all_s"]) == rows["kit"]["best_s"]
    assert all(len(r["all_s"]) == 2 for r in rows.values())
    assert drop["verified_sha256"] and drop["file_bytes"] == 4 * 2 ** 20
    assert drop["resent_share"] == round((drop["server_sent_bytes"] - drop["file_bytes"]) / drop["file_bytes"], 5)
    assert drop["server_sent_bytes"] >= drop["file_bytes"]  # the server did send the whole file, across two requests

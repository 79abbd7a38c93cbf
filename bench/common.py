"""Round-robin timing of several implementations in one process, with JSON + Markdown output."""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def time_round_robin(runners: dict, repeats: int, warmup: int) -> dict:
    times = {name: [] for name in runners}
    for _ in range(warmup):
        for run in runners.values():
            run()
    for _ in range(repeats):  # round-robin, so machine drift hits every row alike
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def write_report(title: str, stem: str, out: str, times: dict, baseline: str, meta: dict,
                 ratio_to: str = "torch") -> str:
    import paddle
    import torch
    base = statistics.median(times[baseline])
    # per-round ratio: each round times every row back to back, so the median of the rounds' ratios is the figure
    # least moved by a machine whose speed drifts between rounds (a shared 2-core box moved 3.5-5.7 s per step)
    rows = [{"implementation": name, "median_s": statistics.median(ts), "min_s": min(ts),
             f"ratio_to_{ratio_to}": statistics.median(ts) / base,
             "paired_ratio": statistics.median(t / b for t, b in zip(ts, times[baseline])), "times_s": ts}
            for name, ts in times.items()]
    # settings the kit would make but the caller made: part of the command that produced the numbers
    kit_set = meta.get("paddle_cpu_env") or {}
    preset = " ".join(f"{k}={os.environ[k]}" for k in ("FLAGS_use_stride_kernel", "OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE")
                      if k in os.environ and k not in kit_set)
    meta = {"command": (preset + " " if preset else "") + "python " + " ".join(sys.argv), "cores": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
            "paddle": paddle.__version__, **meta}
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    md = [f"# {title}", "", f"`{meta['command']}`  ", f"{meta['cores']} cores, torch {meta['torch']}, paddle "
          f"{meta['paddle']}, median of {meta['repeats']} (round-robin, {meta['warmup']} warm-up); paddle env set by "
          f"the kit: {meta.get('paddle_cpu_env') or 'none'}", "",
          f"| implementation | median s | ratio of medians to {ratio_to} | median of per-round ratios |",
          "|---|---|---|---|"]
    md += [f"| {r['implementation']} | {r['median_s']:.3f} | {r[f'ratio_to_{ratio_to}']:.2f} | {r['paired_ratio']:.2f} |"
           for r in rows]
    text = "\n".join(md) + "\n"
    (folder / f"{stem}.md").write_text(text)
    return text

"""Fetch throughput beside curl, same URL, same run: a random file served by a local HTTP server in its own process
(tests/hub_server.py on 127.0.0.1), downloaded in turn by `curl -s -o` and by the kit's downloader (streamed to a
partial file, sha256 on the way, checked, renamed), best of N each; then a connection dropped at 50% and resumed:
the bytes the server sent again, as a share of the file.

    python bench/bench_fetch.py --size-mb 256 --repeats 5 --out logs/bench
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from artifacts.transfer import Expected, download
from reprokit.files import summary

SERVER = Path(__file__).resolve().parents[1] / "tests" / "hub_server.py"


def main(argv=None):
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="logs/bench")
    args = ap.parse_args(argv)
    size = args.size_mb * 2 ** 20
    server = subprocess.Popen([sys.executable, str(SERVER), str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        url, sha = server.stdout.readline().split()
        times = {"curl": [], "kit": []}
        with tempfile.TemporaryDirectory() as d:
            for r in range(args.repeats):  # round-robin: the machine's drift hits both alike
                t = time.perf_counter()
                subprocess.run(["curl", "-s", "-o", f"{d}/curl.bin", f"{url}/files/big.bin"], check=True)
                times["curl"].append(time.perf_counter() - t)
                assert os.path.getsize(f"{d}/curl.bin") == size
                os.remove(f"{d}/curl.bin")
                t = time.perf_counter()
                download(f"{url}/files/big.bin", Path(d) / "kit.bin", Expected(size=size, sha256=sha), progress=False)
                times["kit"].append(time.perf_counter() - t)
                os.remove(f"{d}/kit.bin")
            server.stdin.write(f"drop {size // 2}\n")
            server.stdin.flush()
            res = download(f"{url}/files/dropped.bin", Path(d) / "dropped.bin", Expected(size=size, sha256=sha),
                           progress=False)
            server.stdin.write("sent\n")
            server.stdin.flush()
            sent = int(server.stdout.readline())
    finally:
        server.terminate()
    import hashlib
    buf = os.urandom(size)  # the floor: one sha256 pass over the same number of bytes, in memory, nothing else
    floor = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        hashlib.sha256(buf).hexdigest()
        floor.append(time.perf_counter() - t)
    times["floor: sha256 alone"] = floor
    best = {k: min(v) for k, v in times.items()}
    rows = {k: {"best_s": round(v, 6), "MB_per_s": round(size / 2 ** 20 / v, 1), "all_s": [round(x, 6) for x in
                                                                                        times[k]]}
            for k, v in best.items()}
    ratio = best["curl"] / best["kit"]
    resent = (sent - size) / size
    meta = {"command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
            "size_bytes": size, "repeats": args.repeats,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "python": platform.python_version()}
    report = {"meta": meta, "rows": rows, "kit_throughput_vs_curl": round(ratio, 3),
              "sha256_floor_vs_curl": round(best["curl"] / best["floor: sha256 alone"], 3),
              "drop_at_50pct": {"server_sent_bytes": sent, "file_bytes": size, "resent_share": round(resent, 5),
                                "kit_sent_in_call": res.sent, "verified_sha256": res.sha256 == sha}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fetch_local_{args.size_mb}mb"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    md = [f"# Fetch throughput: {args.size_mb} MB from a local server", "", f"`{meta['command']}`  ",
          f"{meta['machine']}; server in its own process on 127.0.0.1; best of {args.repeats}, round-robin", "",
          "| client | best s | MB/s | throughput / curl |", "|---|---|---|---|",
          f"| curl -s -o | {rows['curl']['best_s']:.3f} | {rows['curl']['MB_per_s']} | 1.00 |",
          f"| kit (sha256 on the way, verified, atomic rename) | {rows['kit']['best_s']:.3f} | {rows['kit']['MB_per_s']} "
          f"| {ratio:.2f} |",
          f"| floor: one sha256 pass alone (in memory, no network, no disk) | {rows['floor: sha256 alone']['best_s']:.3f} "
          f"| {rows['floor: sha256 alone']['MB_per_s']} | {best['curl'] / best['floor: sha256 alone']:.2f} |", "",
          f"Connection dropped at 50%, resumed with Range: the server sent {sent} bytes for a {size}-byte file: "
          f"{resent:.2%} sent again (target <= 5%); sha256 verified: {res.sha256 == sha}."]
    text = "\n".join(md) + "\n"
    (out / f"{stem}.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()

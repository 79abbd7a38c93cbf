"""The paper tables, rendered from the run folders under logs/ (never a hand-typed number of ours).

A run folder is any folder holding eval_results.json and kit_run.json (every task script writes both into its log
folder: logs/glue/<task>/<backend>, logs/squad/<version>/<backend>, logs/clue/<task>/<backend>,
logs/cluener/<head>/<backend>, or --log_dir), plus args.json (the script's arguments) and, for CLUE test scores,
test_results.json ({"test": {"accuracy": ...}, "source": ...}: the CLUE site's score of that run's submission).
The published numbers and their sources live in paper/numbers.json. A table row selects runs by fields of the run
record {task, backend, seed, config.<model fact>, args.<argument>}; several runs of one row and backend (seeds) give
mean ± std (sample std); a row without a run shows "missing". Output: <out>/tables.md, tables.json and one PNG per
table (bars: paper, earlier reproductions, ours per backend).
"""
from __future__ import annotations

import json
import math
import os
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from reprokit import KitError
from reprokit.files import summary

NUMBERS = Path(__file__).with_name("numbers.json")
BACKENDS = ("torch", "paddle")
MISSING = "missing"
COLORS = ("#4c72b0", "#dd8452", "#8c8c8c", "#55a868", "#c44e52")


def load_numbers(path: Path = NUMBERS) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise KitError(f"{path}: cannot read the paper numbers ({e})") from None
    for t in data.get("tables", []):
        for key in ("id", "title", "source", "rows"):
            if key not in t:
                raise KitError(f"{path}: table {t.get('id', '?')!r} has no {key!r}")
        for r in t["rows"]:
            for key in ("name", "metric", "paper"):
                if key not in r:
                    raise KitError(f"{path}: table {t['id']!r}, row {r.get('name', '?')!r} has no {key!r}")
    return data


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise KitError(f"{path}: not a readable JSON file ({e})") from None


def find_runs(logs: Path) -> List[dict]:
    """Every run folder under `logs`: {"dir", "record", "results"} in path order."""
    runs = []
    for results_path in sorted(Path(logs).rglob("eval_results.json")):
        folder = results_path.parent
        info_path = folder / "kit_run.json"
        if not info_path.is_file():
            continue  # written by an older version or by hand: no provenance, not a table entry
        info = _read_json(info_path)
        args = _read_json(folder / "args.json") if (folder / "args.json").is_file() else {}
        results = _read_json(results_path)
        if (folder / "test_results.json").is_file():
            results = {**results, **_read_json(folder / "test_results.json")}
        record = {**info, "args": args, "config": info.get("config", {})}
        runs.append({"dir": folder, "record": record, "results": results})
    return runs


def _field(record: dict, dotted: str):
    value = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _selected(record: dict, select: dict) -> bool:
    return all(_field(record, k) == v for k, v in select.items())


def _metric(results: dict, dotted: str) -> Optional[float]:
    """The metric at a dotted path; keys may contain dots themselves (v2.0_best_f1), so match greedily."""
    value, rest = results, dotted
    while rest:
        if not isinstance(value, dict):
            return None
        key = next((k for k in sorted(value, key=len, reverse=True) if rest == k or rest.startswith(k + ".")), None)
        if key is None:
            return None
        value, rest = value[key], rest[len(key) + 1:]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _summary(values: List[float]) -> dict:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": mean, "std": std, "n": len(values)}


def build(numbers: dict, runs: List[dict], root: Path, any_model: bool = False) -> dict:
    """The tables as data: per row the paper number, the earlier reproductions, ours per backend (or missing).
    any_model: rows ignore the model's type and shape (a notebook's tiny smoke run fills the paper's table)."""
    tables = []
    for t in numbers["tables"]:
        rows = []
        for r in t["rows"]:
            select = {**t.get("select", {}), **r.get("select", {})}
            if any_model:
                select = {k: v for k, v in select.items() if not k.startswith("config.")}
            row = {"name": r["name"], "paper": r["paper"], "earlier": r.get("earlier", {}), "ours": {}}
            for backend in BACKENDS:
                values, folders = [], []
                for run in runs:
                    if run["record"].get("backend") != backend or not _selected(run["record"], select):
                        continue
                    v = _metric(run["results"], r["metric"])
                    if v is None:
                        continue
                    values.append(v * r.get("scale", 1))
                    folders.append({"dir": os.path.relpath(run["dir"], root), "seed": run["record"].get("seed"),
                                    "git_commit": run["record"].get("git_commit"),
                                    "date": run["record"].get("date"), "machine": run["record"].get("machine"),
                                    "command": run["record"].get("command"),
                                    "trained": run["record"].get("trained", True)})
                if values:
                    s = _summary(values)
                    s["diff"] = None if r["paper"] is None else s["mean"] - r["paper"]
                    s["runs"] = folders
                    row["ours"][backend] = s
                else:
                    row["ours"][backend] = None
            rows.append(row)
        tables.append({"id": t["id"], "title": t["title"] + (" [any model: not the paper's]" if any_model else ""),
                       "source": t["source"],
                       "earlier_source": t.get("earlier_source"), "metric_rows": rows})
    return {"schema": "reprokit.tables/1", "tables": tables}


def _num(x: Optional[float]) -> str:
    """A published number as published (95.149 stays 95.149)."""
    return "—" if x is None else f"{x:g}"


def _ours(s: Optional[dict]) -> str:
    if s is None:
        return MISSING
    text = f"{s['mean']:.2f}" if s["std"] is None else f"{s['mean']:.2f} ± {s['std']:.2f} (n={s['n']})"
    links = ", ".join(f"[{'seed ' + str(run['seed']) if run['seed'] is not None else 'run'}"
                      f"{'' if run['trained'] else ', eval only'}]({run['dir']})" for run in s["runs"])
    return f"{text} {links}"


def _diff(s: Optional[dict]) -> str:
    return "" if s is None or s["diff"] is None else f"{s['diff']:+.2f}"


def markdown(tables: dict, numbers_path: str, figures: Dict[str, str]) -> str:
    lines = ["# Paper tables, rendered from the runs under logs/", "",
             f"Generated by `python tables.py` from the run folders (eval_results.json + kit_run.json) and "
             f"`{numbers_path}` (published numbers with their sources). *missing*: no run of that row on that "
             "backend is committed. Several seeds: mean ± sample std (n). Δ: ours minus the paper. Each link opens the "
             "run's log folder (kit_run.json there: command, git commit, date, machine, seed).", ""]
    for t in tables["tables"]:
        earlier = sorted({k for r in t["metric_rows"] for k in r["earlier"]})
        lines += [f"## {t['title']}", "", f"Source: {t['source']}."]
        if t["earlier_source"]:
            lines.append(f"Earlier reproduction: {t['earlier_source']}.")
        lines += ["", "| | paper | " + "".join(f"{e} | " for e in earlier)
                  + "ours, torch | Δ torch | ours, paddle | Δ paddle |",
                  "|---|---|" + "---|" * len(earlier) + "---|---|---|---|"]
        for r in t["metric_rows"]:
            lines.append(f"| {r['name']} | {_num(r['paper'])} | "
                         + "".join(f"{_num(r['earlier'].get(e))} | " for e in earlier)
                         + " | ".join(f"{_ours(r['ours'][b])} | {_diff(r['ours'][b])}" for b in BACKENDS) + " |")
        if t["id"] in figures:
            lines += ["", f"![{t['title']}]({figures[t['id']]})"]
        lines.append("")
    return "\n".join(lines)


def figure(table: dict, path: Path) -> None:
    """Grouped bars per row: paper, earlier reproductions, ours per backend; a missing value is no bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    rows = table["metric_rows"]
    earlier = sorted({k for r in rows for k in r["earlier"]})
    series = [("paper", [r["paper"] for r in rows])]
    series += [(e, [r["earlier"].get(e) for r in rows]) for e in earlier]
    series += [(f"ours, {b}", [None if r["ours"][b] is None else r["ours"][b]["mean"] for r in rows]) for b in BACKENDS]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(rows) + 2), 3.6))
    present = [v for _, vals in series for v in vals if v is not None]
    low = min(present) - 5 if present else 0
    for i, (label, vals) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(rows))]
        ax.bar([x for x, v in zip(xs, vals) if v is not None], [v - low for v in vals if v is not None],
               width, bottom=low, label=label, color=COLORS[i % len(COLORS)])
        for x, v, r in zip(xs, vals, rows):
            if v is None and label.startswith("ours"):
                ax.text(x, low, "missing", rotation=90, ha="center", va="bottom", fontsize=7, color="gray")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["name"] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_title(table["title"], fontsize=9)
    ax.legend(handles=[Patch(color=COLORS[i % len(COLORS)], label=label) for i, (label, _) in enumerate(series)],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)


def render(logs: Path, out: Path, numbers_path: Path = NUMBERS, figures: bool = True,
           link_root: Optional[Path] = None, any_model: bool = False, only: Sequence[str] = ()) -> dict:
    """Read the runs, write tables.md, tables.json (and the PNGs) under `out`; return the tables. Links to run
    folders are relative to `link_root` (default `out`, where tables.md is)."""
    numbers = load_numbers(numbers_path)
    if only:
        unknown = sorted(set(only) - {t["id"] for t in numbers["tables"]})
        if unknown:
            raise KitError(f"{numbers_path}: no table {unknown[0]!r} (tables: "
                           + ", ".join(t["id"] for t in numbers["tables"]) + ")")
        numbers = {**numbers, "tables": [t for t in numbers["tables"] if t["id"] in only]}
    runs = find_runs(logs)
    root = Path(out)
    tables = build(numbers, runs, Path(link_root or out), any_model)
    root.mkdir(parents=True, exist_ok=True)
    pngs = {}
    if figures:
        for t in tables["tables"]:
            name = f"{t['id']}.png"
            figure(t, root / name)
            pngs[t["id"]] = name
    shown = numbers_path.name if Path(numbers_path).resolve() != NUMBERS.resolve() else "paper/numbers.json"
    for name, text in (("tables.md", markdown(tables, shown, pngs)),
                       ("tables.json", json.dumps(tables, indent=1, ensure_ascii=False) + "\n")):
        tmp = root / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, root / name)
    return tables


README_BEGIN = "<!-- tables:begin (python tables.py --readme paper/README.md) -->"
README_END = "<!-- tables:end -->"


def readme_block(tables: dict) -> str:
    """The README's summary: one line per row, paper vs ours per backend (links to logs/tables/tables.md)."""
    lines = ["| table | row | paper | ours, torch | ours, paddle |", "|---|---|---|---|---|"]
    for t in tables["tables"]:
        for r in t["metric_rows"]:
            cells = [MISSING if r["ours"][b] is None else
                     (f"{r['ours'][b]['mean']:.2f}" + ("" if r["ours"][b]["std"] is None
                                                      else f" ± {r['ours'][b]['std']:.2f}")) for b in BACKENDS]
            lines.append(f"| {t['id']} | {r['name']} | {_num(r['paper'])} | {cells[0]} | {cells[1]} |")
    return "\n".join([README_BEGIN, *lines, README_END])


def update_readme(path: Path, tables: dict) -> bool:
    text = Path(path).read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        raise KitError(f"{path}: no '{README_BEGIN}' ... '{README_END}' block to fill")
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    new = text[:start] + readme_block(tables) + text[end:]
    if new != text:
        Path(path).write_text(new, encoding="utf-8")
    return new != text


def main(argv=None) -> int:
    import argparse
    import sys
    p = argparse.ArgumentParser(description=summary(__doc__))
    p.add_argument("--logs", default="logs", help="folder searched for run folders (default logs)")
    p.add_argument("--out", default="logs/tables", help="where tables.md, tables.json and the PNGs go")
    p.add_argument("--numbers", default=str(NUMBERS), help="the published numbers (default paper/numbers.json)")
    p.add_argument("--no-figures", action="store_true", help="Markdown and JSON only")
    p.add_argument("--readme", default=None, help="also refresh the tables block of this README")
    p.add_argument("--table", action="append", default=[], metavar="ID",
                   help="render only this table (repeatable; ids in paper/numbers.json)")
    p.add_argument("--any-model", action="store_true",
                   help="rows ignore the model's type and shape (smoke runs on tiny models; titles say so)")
    args = p.parse_args(argv)
    try:
        if not Path(args.logs).is_dir():
            raise KitError(f"{args.logs}: no such folder (pass --logs)")
        if args.readme:  # before anything is written
            text = Path(args.readme).read_text(encoding="utf-8") if Path(args.readme).is_file() else ""
            if README_BEGIN not in text or README_END not in text:
                raise KitError(f"{args.readme}: no '{README_BEGIN}' ... '{README_END}' block to fill")
        tables = render(Path(args.logs), Path(args.out), Path(args.numbers), figures=not args.no_figures,
                        any_model=args.any_model, only=args.table)
        if args.readme:
            update_readme(Path(args.readme), tables)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n = sum(len(t["metric_rows"]) for t in tables["tables"])
    have = sum(r["ours"][b] is not None for t in tables["tables"] for r in t["metric_rows"] for b in BACKENDS)
    print(f"wrote {args.out}/tables.md, tables.json ({len(tables['tables'])} tables, {n} rows, "
          f"{have} of {2 * n} backend cells with runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""GLUE, framework-neutral: the raw TSV layout of every task, local HF-datasets files, metrics as HF's GLUE metric,
featurisation with the checkpoint's tokenizer, dynamic padding to numpy, and the leaderboard files.

Labels follow the HF `glue` datasets' order (MNLI: entailment, neutral, contradiction), so a model fine-tuned here and
one fine-tuned on HF's datasets agree on label ids. TSV files are read with quoting disabled (a field starting with a
quote would otherwise swallow tabs and rows).
"""
from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from reprokit import KitError
from tasks.batches import text_pair_features

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class Task:
    name: str                      # folder name in the GLUE download
    text: Tuple[int, Optional[int]]    # train/dev columns of text_a, text_b
    label: int                     # train/dev label column
    test_text: Tuple[int, Optional[int]]
    labels: Optional[Tuple[str, ...]]  # None: regression
    metric: str                    # matthews | pearson_spearman | acc_f1 | acc
    header: bool = True            # train/dev have a header row (CoLA's do not)
    dev: Tuple[str, ...] = ("dev",)
    test: Tuple[str, ...] = ("test",)
    hf_text: Tuple[str, Optional[str]] = ("sentence", None)   # column names in HF `glue` datasets files
    leaderboard: Tuple[str, ...] = ()                       # file stems per test split


TASKS: Dict[str, Task] = {t.name.lower(): t for t in [
    Task("CoLA", (3, None), 1, (1, None), ("0", "1"), "matthews", header=False, leaderboard=("CoLA",)),
    Task("SST-2", (0, None), 1, (1, None), ("0", "1"), "acc", leaderboard=("SST-2",)),
    Task("MRPC", (3, 4), 0, (3, 4), ("0", "1"), "acc_f1", hf_text=("sentence1", "sentence2"), leaderboard=("MRPC",)),
    Task("STS-B", (7, 8), -1, (7, 8), None, "pearson_spearman", hf_text=("sentence1", "sentence2"),
         leaderboard=("STS-B",)),
    Task("QQP", (3, 4), 5, (1, 2), ("0", "1"), "acc_f1", hf_text=("question1", "question2"), leaderboard=("QQP",)),
    Task("MNLI", (8, 9), -1, (8, 9), ("entailment", "neutral", "contradiction"), "acc",
         dev=("dev_matched", "dev_mismatched"), test=("test_matched", "test_mismatched"),
         hf_text=("premise", "hypothesis"), leaderboard=("MNLI-m", "MNLI-mm")),
    Task("QNLI", (1, 2), 3, (1, 2), ("entailment", "not_entailment"), "acc", hf_text=("question", "sentence"),
         leaderboard=("QNLI",)),
    Task("RTE", (1, 2), 3, (1, 2), ("entailment", "not_entailment"), "acc", hf_text=("sentence1", "sentence2"),
         leaderboard=("RTE",)),
    Task("WNLI", (1, 2), 3, (1, 2), ("0", "1"), "acc", hf_text=("sentence1", "sentence2"), leaderboard=("WNLI",)),
    Task("AX", (1, 2), -1, (1, 2), ("entailment", "neutral", "contradiction"), "acc", dev=(), test=("AX",),
         hf_text=("premise", "hypothesis"), leaderboard=("AX",)),
]}
ALIASES = {"sst2": "sst-2", "stsb": "sts-b", "mnli-m": "mnli", "mnli_matched": "mnli"}


def get_task(name: str) -> Task:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in TASKS:
        raise KitError(f"--task_name {name!r}: use one of {[t.name for t in TASKS.values()]}")
    return TASKS[key]


@dataclass
class Example:
    guid: str                 # "file:line" for TSV rows (the leaderboard index for test rows)
    text_a: str
    text_b: Optional[str]
    label: Optional[float]    # class id, or the score for STS-B; None on test rows
    index: Optional[str] = None


@dataclass
class ReadReport:
    path: str
    rows: int = 0
    skipped: List[Tuple[int, str]] = field(default_factory=list)


def read_tsv(task: Task, path, split: str, skip_bad_rows: bool = False) -> Tuple[List[Example], ReadReport]:
    """Rows of one GLUE TSV file. A malformed row is a KitError naming file and line, or with skip_bad_rows is
    skipped and counted in the report."""
    path = Path(path)
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    test = split == "test"
    cols = task.test_text if test else task.text
    header = True if test else task.header
    report = ReadReport(str(path))
    out = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if n == 1 and header:
                continue
            try:
                out.append(_example(task, row, cols, test, f"{path.name}:{n}"))
            except ValueError as e:
                if not skip_bad_rows:
                    raise KitError(f"{path}, line {n}: {e}") from None
                report.skipped.append((n, str(e)))
    report.rows = len(out)
    return out, report


def _example(task: Task, row: List[str], cols, test: bool, guid: str) -> Example:
    need = max([c for c in cols if c is not None and c >= 0] + ([task.label] if not test and task.label >= 0 else []))
    if len(row) <= need:
        raise ValueError(f"{len(row)} columns, need at least {need + 1}")
    a = row[cols[0]]
    b = row[cols[1]] if cols[1] is not None else None
    if test:
        return Example(guid, a, b, None, index=row[0])
    return Example(guid, a, b, parse_label(task, row[task.label]))


def parse_label(task: Task, value) -> float:
    if task.labels is None:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"score {value!r} is not a number") from None
    value = str(value).strip()
    if value not in task.labels:
        raise ValueError(f"label {value!r} is not one of {list(task.labels)}")
    return float(task.labels.index(value))


def load_split(task: Task, data_dir, split: str, skip_bad_rows: bool = False):
    """{split name: examples} from the raw GLUE folder: train -> train.tsv; dev -> dev.tsv (MNLI: dev_matched and
    dev_mismatched); test -> test.tsv (MNLI: test_matched, test_mismatched; AX: AX.tsv)."""
    names = {"train": ("train",), "dev": task.dev, "test": task.test}[split]
    if not names:
        raise KitError(f"{task.name} has no {split} split")
    out, reports = {}, []
    for name in names:
        examples, report = read_tsv(task, Path(data_dir) / f"{name}.tsv", split, skip_bad_rows)
        out[name] = examples
        reports.append(report)
    return out, reports


def read_hf_file(task: Task, path, split: str) -> List[Example]:
    """A local HF-datasets file (json / jsonl / csv / parquet) with the `glue` dataset's columns (`label` an int in
    the HF order, -1 on test rows; `idx`)."""
    import datasets
    path = Path(path)
    kind = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix)
    if kind is None:
        raise KitError(f"{path}: use a .json, .jsonl, .csv or .parquet file")
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    ds = datasets.load_dataset(kind, data_files=str(path), split="train")
    return examples_from_dataset(task, ds, str(path), split)


def examples_from_dataset(task: Task, ds, origin: str, split: str) -> List[Example]:
    """Examples of a `datasets` split with the `glue` dataset's columns (from a file, or --dataset_name)."""
    a, b = task.hf_text
    missing = [c for c in (a, b, None if split == "test" else "label") if c and c not in ds.column_names]
    if missing:
        raise KitError(f"{origin}: missing column(s) {missing} for {task.name} (has {ds.column_names})")
    out = []
    for i, r in enumerate(ds):
        label = None
        if split != "test":
            label = r["label"]
            if task.labels is not None and not (isinstance(label, (int, np.integer)) and 0 <= label < len(task.labels)):
                raise KitError(f"{origin}, row {i}: label {label!r} is not a class id 0..{len(task.labels) - 1}")
            label = float(label)
        out.append(Example(f"{Path(origin).name}:{i}", r[a], r[b] if b else None, label,
                           index=str(r.get("idx", i))))
    return out


def dataset_splits(task: Task, dataset) -> Dict[str, Dict[str, List[Example]]]:
    """{"train": {...}, "dev": {...}, "test": {...}} from a loaded `datasets` DatasetDict (HF's split names:
    train, validation[_matched/_mismatched], test[_matched/_mismatched]) in the kit's split names."""
    out = {"train": {}, "dev": {}, "test": {}}
    for name, ds in dataset.items():
        kind = "dev" if name.startswith("validation") else "test" if name.startswith("test") else \
            "train" if name == "train" else None
        if kind is None:
            continue
        kit_name = {"dev": name.replace("validation", "dev") if task.dev != ("dev",) else "dev",
                    "test": name if task.test != ("test",) else task.test[0], "train": "train"}[kind]
        out[kind][kit_name] = examples_from_dataset(task, ds, f"{name} split", kind)
    return out


# ---- metrics, as HF's `glue` metric ----------------------------------------------------------------------------------
def matthews(y_true, y_pred) -> float:
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = int(max(t.max(initial=0), p.max(initial=0))) + 1
    c = np.zeros((k, k))
    np.add.at(c, (t, p), 1)
    tk, pk, n, correct = c.sum(1), c.sum(0), c.sum(), np.trace(c)
    cov = correct * n - tk @ pk
    den = np.sqrt((n * n - pk @ pk) * (n * n - tk @ tk))
    return float(cov / den) if den else 0.0


def _rank(x):
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):  # ties: average rank
        m = x == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    return ranks


def pearson(x, y) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den else 0.0


def f1_binary(y_true, y_pred) -> float:
    t, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    tp = float((t & p).sum())
    den = float(t.sum() + p.sum())
    return 2 * tp / den if den else 0.0


def compute_metrics(task: Task, predictions: np.ndarray, labels: np.ndarray) -> Dict[str, float]:
    """predictions: logits [N, C] (or [N] / [N, 1] scores for STS-B); labels as read."""
    predictions = np.asarray(predictions)
    if task.labels is None:
        scores = predictions.reshape(-1)
        p, s = pearson(scores, labels), pearson(_rank(scores), _rank(labels))
        return {"pearson": p, "spearmanr": s, "combined_score": (p + s) / 2}
    pred = predictions.argmax(-1) if predictions.ndim > 1 else predictions
    labels = np.asarray(labels).astype(np.int64)
    if task.metric == "matthews":
        return {"matthews_correlation": matthews(labels, pred)}
    acc = float((pred == labels).mean())
    if task.metric == "acc_f1":
        f1 = f1_binary(labels, pred)
        return {"accuracy": acc, "f1": f1, "combined_score": (acc + f1) / 2}
    return {"accuracy": acc}


# ---- features: the sentence(-pair) featuriser every classification task shares -------------------------------------
featurize = text_pair_features


# ---- leaderboard files -----------------------------------------------------------------------------------------------
def leaderboard_values(task: Task, predictions: np.ndarray) -> List[str]:
    predictions = np.asarray(predictions)
    if task.labels is None:
        return [f"{float(v):.3f}" for v in predictions.reshape(-1)]
    return [task.labels[int(i)] for i in predictions.argmax(-1)]


def write_leaderboard(path, indices: Sequence[str], values: Sequence[str]) -> None:
    """`index<TAB>prediction` with a header, written to a temporary file and renamed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("index\tprediction\n")
        for i, v in zip(indices, values):
            f.write(f"{i}\t{v}\n")
    os.replace(tmp, path)

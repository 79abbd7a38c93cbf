"""CLUE classification, framework-neutral: the JSON-lines files of the 7 tasks (afqmc, tnews, iflytek, cmnli, ocnli,
cluewsc2020, csl), the inputs the GAU-alpha recipe builds from them, accuracy, and the submission files.

Inputs: pairs as (text_a, text_b) - the recipe gives them all-0 token types (run_clue.py --pair_token_types);
csl = its keywords joined by "；" paired with the abstract; cluewsc2020 = the text with the noun span marked `_noun_`
and the pronoun `[pronoun]`. Labels are the data's strings in a fixed order per task (the submission writes them back);
rows labelled "-" (annotators disagreed: cmnli, ocnli) are dropped and counted. A malformed line is an error naming
the file and line.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from reprokit import KitError

NLI = ("entailment", "neutral", "contradiction")


def _pair(a, b):
    return lambda r: (r[a], r[b])


def _single(a):
    return lambda r: (r[a], None)


def _csl(r):
    if not isinstance(r["keyword"], list):
        raise ValueError("'keyword' is not a list")
    return "；".join(r["keyword"]), r["abst"]


def _wsc(r):
    """The text with span1 (the noun) marked _noun_ and span2 (the pronoun) [pronoun]; the later span first, so the
    earlier one's index stays valid. Each span must be at its index."""
    text, t = r["text"], r["target"]
    spans = [(int(t["span1_index"]), t["span1_text"], "_", "_"), (int(t["span2_index"]), t["span2_text"], "[", "]")]
    chars = list(text)
    for index, span, left, right in sorted(spans, reverse=True):
        if text[index:index + len(span)] != span:
            raise ValueError(f"span {span!r} is not at index {index}")
        chars.insert(index + len(span), right)
        chars.insert(index, left)
    return "".join(chars), None


@dataclass(frozen=True)
class Task:
    name: str
    files: Dict[str, str]                       # split -> file name in the task folder
    inputs: Callable[[dict], Tuple[str, Optional[str]]]
    labels: Tuple[str, ...]
    submission: str                             # the leaderboard's file name


TASKS = {
    "afqmc": Task("afqmc", {"train": "train.json", "dev": "dev.json", "test": "test.json"},
                  _pair("sentence1", "sentence2"), ("0", "1"), "afqmc_predict.json"),
    "tnews": Task("tnews", {"train": "train.json", "dev": "dev.json", "test": "test.json"}, _single("sentence"),
                  tuple(str(i) for i in range(100, 117) if i not in (105, 111)), "tnews11_predict.json"),
    "iflytek": Task("iflytek", {"train": "train.json", "dev": "dev.json", "test": "test.json"}, _single("sentence"),
                    tuple(str(i) for i in range(119)), "iflytek_predict.json"),
    "cmnli": Task("cmnli", {"train": "train.json", "dev": "dev.json", "test": "test.json"},
                  _pair("sentence1", "sentence2"), NLI, "cmnli_predict.json"),
    "ocnli": Task("ocnli", {"train": "train.50k.json", "dev": "dev.json", "test": "test.json"},
                  _pair("sentence1", "sentence2"), NLI, "ocnli_50k_predict.json"),
    "cluewsc2020": Task("cluewsc2020", {"train": "train.json", "dev": "dev.json", "test": "test.json"}, _wsc,
                        ("true", "false"), "cluewsc11_predict.json"),
    "csl": Task("csl", {"train": "train.json", "dev": "dev.json", "test": "test.json"}, _csl, ("0", "1"),
                "csl_predict.json"),
}
ALIASES = {"wsc": "cluewsc2020", "cluewsc": "cluewsc2020"}


def get_task(name: str) -> Task:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in TASKS:
        raise KitError(f"--task_name {name!r}: use one of {list(TASKS)}")
    return TASKS[key]


@dataclass
class Example:
    id: str
    text_a: str
    text_b: Optional[str]
    label: Optional[int]      # index into the task's labels; None on test rows


@dataclass
class ReadReport:
    path: str
    rows: int = 0
    dropped: int = 0          # "-" labels


def read_split(task: Task, path, split: str) -> Tuple[List[Example], ReadReport]:
    """One split's JSON-lines file as examples. Test rows keep their "id" (the submission needs it)."""
    path = Path(path)
    if not path.is_file():
        raise KitError(f"{path}: file not found (the {task.name} {split} split)")
    report, out = ReadReport(str(path)), []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            report.rows += 1
            try:
                row = json.loads(line)
                label = None
                if split != "test":
                    value = str(row["label"])
                    if value == "-":
                        report.dropped += 1
                        continue
                    if value not in task.labels:
                        raise ValueError(f"label {value!r} is not one of the {len(task.labels)} {task.name} labels")
                    label = task.labels.index(value)
                text_a, text_b = task.inputs(row)
                rid = str(row.get("id", n - 1))
            except (json.JSONDecodeError, KeyError, ValueError, TypeError) as e:
                what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
                raise KitError(f"{path}, line {n}: {what}") from None
            out.append(Example(rid, text_a, text_b, label))
    if not out:
        raise KitError(f"{path}: no usable row")
    return out, report


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> Dict[str, float]:
    return {"accuracy": float((np.asarray(predictions).argmax(-1) == np.asarray(labels)).mean())}


def write_submission(task: Task, examples: Sequence[Example], logits: np.ndarray, out_dir: Path) -> Path:
    """One {"id", "label"} line per test row, in test order, labels as the data writes them; written to a temporary
    file and renamed."""
    if len(logits) != len(examples):
        raise KitError(f"{task.name}: {len(logits)} predictions for {len(examples)} test rows")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / task.submission
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for ex, k in zip(examples, np.asarray(logits).argmax(-1)):
            f.write(json.dumps({"id": int(ex.id) if ex.id.isdigit() else ex.id, "label": task.labels[int(k)]},
                               ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def zip_submissions(out_dir: Path) -> Path:
    """Every *_predict.json in out_dir in one zip for the CLUE upload."""
    out_dir = Path(out_dir)
    path = out_dir.with_suffix(".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(out_dir.glob("*_predict.json")):
            z.write(f, f.name)
    return path

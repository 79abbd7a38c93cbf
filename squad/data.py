"""SQuAD data, framework-neutral: read v1.1 / v2.0 JSON files (bad records reported by id and counted, never silently
mislabelled) and featurise with the checkpoint's fast tokenizer as HF run_qa does: (question, context) pairs truncated
on the context side, overflowing chunks with doc_stride, offset mappings; a training answer outside a chunk points to
CLS; for evaluation, offsets outside the context are None so post-processing never picks them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from reprokit import KitError


@dataclass
class QAExample:
    id: str
    question: str
    context: str
    answers: List[Tuple[str, int]]   # (text, character start); empty when impossible
    is_impossible: bool = False


@dataclass
class QAReadReport:
    path: str
    examples: int = 0
    bad: List[Tuple[str, str]] = field(default_factory=list)   # (question id, why)


def read_squad(path) -> Tuple[List[QAExample], QAReadReport]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise KitError(f"{path}: cannot read ({e})") from None
    except json.JSONDecodeError as e:
        raise KitError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise KitError(f"{path}: no 'data' list (not a SQuAD file)")
    report = QAReadReport(str(path))
    out, seen = [], set()
    for article in data["data"]:
        for para in article.get("paragraphs", []):
            context = para.get("context")
            for qa in para.get("qas", []):
                qid = str(qa.get("id", "?"))
                why = _check(qa, context) or ("a duplicate id" if qid in seen else None)
                seen.add(qid)
                if why:
                    report.bad.append((qid, why))
                    continue
                answers = [(a["text"], int(a["answer_start"])) for a in qa.get("answers", [])]
                out.append(QAExample(qid, qa["question"], context, answers, bool(qa.get("is_impossible", False))))
    report.examples = len(out)
    return out, report


def read_qa_file(path) -> Tuple[List[QAExample], QAReadReport]:
    """A SQuAD JSON file ({"version", "data": [...]}) or a local HF-datasets file of the `squad` / `squad_v2` dataset
    (json lines / parquet / csv: id, title, context, question, answers {text: [...], answer_start: [...]})."""
    path = Path(path)
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    if path.suffix == ".json":
        with open(path, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
        if head.startswith("{") and '"data"' in head and not head.startswith('{"id"'):
            return read_squad(path)
    return read_hf_squad(path)


def read_hf_squad(path) -> Tuple[List[QAExample], QAReadReport]:
    import datasets
    path = Path(path)
    kind = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix)
    if kind is None:
        raise KitError(f"{path}: use a SQuAD .json file or a .jsonl / .parquet / .csv HF-datasets file")
    try:
        ds = datasets.load_dataset(kind, data_files=str(path), split="train")
    except Exception as e:  # datasets raises many types for a malformed file
        raise KitError(f"{path}: cannot read as {kind} ({type(e).__name__}: {e})") from None
    return examples_from_dataset(ds, str(path))


def examples_from_dataset(ds, origin: str) -> Tuple[List[QAExample], QAReadReport]:
    """A `datasets` split with the `squad` / `squad_v2` columns (a file's, or --dataset_name's), checked record by
    record as a SQuAD file is."""
    missing = [c for c in ("id", "context", "question", "answers") if c not in ds.column_names]
    if missing:
        raise KitError(f"{origin}: missing column(s) {missing} (has {ds.column_names})")
    report, out, seen = QAReadReport(origin), [], set()
    for r in ds:
        ans = r["answers"] or {}
        qa = {"id": r["id"], "question": r["question"], "is_impossible": not ans.get("text"),
              "answers": [{"text": t, "answer_start": st} for t, st in zip(ans.get("text") or [],
                                                                           ans.get("answer_start") or [])]}
        why = _check(qa, r["context"]) or ("a duplicate id" if str(r["id"]) in seen else None)
        seen.add(str(r["id"]))
        if why:
            report.bad.append((str(r["id"]), why))
            continue
        out.append(QAExample(str(r["id"]), r["question"], r["context"],
                             [(a["text"], int(a["answer_start"])) for a in qa["answers"]], qa["is_impossible"]))
    report.examples = len(out)
    return out, report


def reference_data(examples: List[QAExample]) -> List[dict]:
    """The `data` list of a SQuAD file holding exactly these examples: what squad_eval scores against (so a run on a
    subset, --max_eval_samples, is scored on the questions it answered)."""
    return [{"title": "", "paragraphs": [{"context": e.context, "qas": [
        {"id": e.id, "question": e.question, "is_impossible": e.is_impossible,
         "answers": [{"text": t, "answer_start": s} for t, s in e.answers]}]} for e in examples]}]


def _check(qa: dict, context) -> Optional[str]:
    if not isinstance(context, str):
        return "paragraph without a context"
    for key in ("id", "question"):
        if key not in qa:
            return f"missing field {key!r}"
    answers = qa.get("answers")
    if answers is None:
        return "missing field 'answers'"
    if not answers and not qa.get("is_impossible", False):
        return "no answers and not marked is_impossible"
    for a in answers:
        if "text" not in a or "answer_start" not in a:
            return "an answer without text or answer_start"
        start = a["answer_start"]
        if not isinstance(start, int) or context[start:start + len(a["text"])] != a["text"]:
            return f"answer_start {start} does not point at {a['text']!r} in the context"
    return None


def featurize(examples: List[QAExample], tokenizer, max_seq_length: int = 384, doc_stride: int = 128,
              train: bool = True) -> List[dict]:
    """One feature per chunk: input_ids, token_type_ids, example_index and, for training, start_positions /
    end_positions (CLS index 0 when the answer is not inside the chunk or the question is impossible), else
    offset_mapping with None outside the context."""
    if not getattr(tokenizer, "is_fast", False):
        raise KitError("SQuAD features need a fast tokenizer (offset mappings)")
    try:
        enc = tokenizer([e.question.lstrip() for e in examples], [e.context for e in examples],
                        truncation="only_second", max_length=max_seq_length, stride=doc_stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
    except ValueError as e:  # e.g. a stride too large for the room a question leaves, or a question too long
        raise KitError(f"SQuAD features (max_seq_length {max_seq_length}, doc_stride {doc_stride}): {e}") from None
    feats = []
    for i in range(len(enc["input_ids"])):
        ex_index = enc["overflow_to_sample_mapping"][i]
        seq_ids = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        f = {"input_ids": enc["input_ids"][i], "example_index": ex_index,
             "token_type_ids": enc["token_type_ids"][i] if "token_type_ids" in enc else [0] * len(offsets)}
        if train:
            f["start_positions"], f["end_positions"] = _positions(examples[ex_index], offsets, seq_ids)
        else:
            f["offset_mapping"] = [tuple(o) if s == 1 else None for o, s in zip(offsets, seq_ids)]
        feats.append(f)
    return feats


def _positions(ex: QAExample, offsets, seq_ids) -> Tuple[int, int]:
    cls = 0
    if not ex.answers:
        return cls, cls
    text, start_char = ex.answers[0]
    end_char = start_char + len(text)
    first = next(i for i, s in enumerate(seq_ids) if s == 1)
    last = len(seq_ids) - 1 - next(i for i, s in enumerate(reversed(seq_ids)) if s == 1)
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return cls, cls
    s = first
    while s <= last and offsets[s][0] <= start_char:
        s += 1
    e = last
    while e >= first and offsets[e][1] >= end_char:
        e -= 1
    return s - 1, e + 1

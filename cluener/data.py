"""CLUENER 2020, framework-neutral: the JSON-lines files (end index INCLUSIVE), entity spans mapped between characters
and tokens through the tokenizer's offsets (what is written back is always an exact substring of the input at the
printed positions - no lowercasing), both metrics, named, and the submission file.

Metrics: `micro_f1` - entity-level micro F1 over (start, end, type), what the GlobalPointer papers report;
`official` - the CLUENER scorer's view: per type, F1 over the entity strings of each example, macro-averaged over the
10 types (an entity string found twice in one text counts once; a right span with the wrong type counts for neither).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from reprokit import KitError

TYPES = ("address", "book", "company", "game", "government", "movie", "name", "organization", "position", "scene")

Span = Tuple[int, int, str]  # (start, end inclusive, type), in characters


@dataclass
class Example:
    id: str
    text: str
    spans: List[Span] = field(default_factory=list)   # empty on test rows


def read_file(path, has_labels: bool = True) -> List[Example]:
    """Every line of a CLUENER file; each labelled span checked against the text (end inclusive)."""
    path = Path(path)
    if not path.is_file():
        raise KitError(f"{path}: file not found")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                spans = []
                for etype, entities in (row.get("label") or {}).items() if has_labels else ():
                    if etype not in TYPES:
                        raise ValueError(f"entity type {etype!r} is not one of the 10 CLUENER types")
                    for entity, positions in entities.items():
                        for start, end in positions:
                            if not 0 <= start <= end < len(text) or text[start:end + 1] != entity:
                                raise ValueError(f"{etype} {entity!r} is not at [{start}, {end}] (end inclusive): "
                                                 f"the text there is {text[start:end + 1]!r}")
                            spans.append((start, end, etype))
            except (json.JSONDecodeError, KeyError, ValueError, TypeError) as e:
                what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
                raise KitError(f"{path}, line {n}: {what}") from None
            out.append(Example(str(row.get("id", n - 1)), text, sorted(spans)))
    return out


def examples_from_dataset(ds, origin: str) -> List[Example]:
    """A `datasets` split of CLUENER: the raw files' `label` column ({type: {entity: [[start, end]]}}), or the
    `span_tags` layout the CLUENER GlobalPointer repo's loading script gives ({tag: [class ids], start: [...],
    end: [...]}, end inclusive); each span checked against the text, as read_file does."""
    cols = ds.column_names
    if "text" not in cols:
        raise KitError(f"{origin}: no 'text' column (has {cols})")
    tag_names = None
    if "span_tags" in cols:
        feature = ds.features["span_tags"]
        inner = getattr(feature, "feature", feature)
        tag = inner["tag"] if isinstance(inner, dict) else None
        tag_names = list(getattr(getattr(tag, "feature", tag), "names", None) or TYPES)
    out = []
    for n, row in enumerate(ds):
        text, spans = row["text"], []
        if tag_names is not None:
            st = row["span_tags"] or {}
            if isinstance(st, list):  # a list of {tag, start, end} records
                st = {"tag": [r["tag"] for r in st], "start": [r["start"] for r in st], "end": [r["end"] for r in st]}
            items = [(tag_names[t] if isinstance(t, int) else t, s, e)
                     for t, s, e in zip(st.get("tag", []), st.get("start", []), st.get("end", []))]
        else:
            items = [(etype, s, e) for etype, entities in (row.get("label") or {}).items() if entities
                     for positions in entities.values() if positions for s, e in positions]
        for etype, start, end in items:
            if etype not in TYPES:
                raise KitError(f"{origin}, row {n}: entity type {etype!r} is not one of the 10 CLUENER types")
            if not 0 <= start <= end < len(text):
                raise KitError(f"{origin}, row {n}: {etype} span [{start}, {end}] is outside the text "
                               f"({len(text)} characters; end inclusive)")
            spans.append((int(start), int(end), etype))
        out.append(Example(str(row.get("id", n)), text, sorted(set(spans))))
    return out


def token_spans(spans: Sequence[Span], offsets: Sequence[Optional[Tuple[int, int]]]) -> Tuple[List[Tuple[int, int, int]],
                                                                                           int]:
    """Character spans -> (type id, start token, end token), through the tokens' character offsets (None for special
    tokens). Returns the spans and how many could not be placed (cut off by truncation, or not on token bounds)."""
    starts = {o[0]: i for i, o in enumerate(offsets) if o is not None and o[1] > o[0]}
    ends = {o[1] - 1: i for i, o in enumerate(offsets) if o is not None and o[1] > o[0]}
    out, lost = [], 0
    for start, end, etype in spans:
        if start in starts and end in ends and starts[start] <= ends[end]:
            out.append((TYPES.index(etype), starts[start], ends[end]))
        else:
            lost += 1
    return out, lost


def char_spans(text: str, decoded: Sequence[Tuple[int, int, int]], offsets) -> List[Span]:
    """Decoded (type id, start token, end token) -> character spans of the original text."""
    out = []
    for t, s, e in decoded:
        if offsets[s] is None or offsets[e] is None:
            continue
        out.append((offsets[s][0], offsets[e][1] - 1, TYPES[t]))
    return sorted(set(out))


def micro_f1(gold: Sequence[Set[Span]], pred: Sequence[Set[Span]]) -> Dict[str, float]:
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    n_gold, n_pred = sum(map(len, gold)), sum(map(len, pred))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def official(texts: Sequence[str], gold: Sequence[Set[Span]], pred: Sequence[Set[Span]]) -> Dict[str, object]:
    """Per type: F1 over the entity strings of each example; the macro average over the 10 types."""
    per_type = {}
    for t in TYPES:
        tp = n_gold = n_pred = 0
        for text, g, p in zip(texts, gold, pred):
            gs = {text[s:e + 1] for s, e, k in g if k == t}
            ps = {text[s:e + 1] for s, e, k in p if k == t}
            tp, n_gold, n_pred = tp + len(gs & ps), n_gold + len(gs), n_pred + len(ps)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        per_type[t] = {"precision": precision, "recall": recall,
                       "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
                       "gold": n_gold, "predicted": n_pred}
    return {"macro_f1": sum(v["f1"] for v in per_type.values()) / len(TYPES), "per_type": per_type}


def label_of(text: str, spans: Sequence[Span]) -> Dict[str, Dict[str, List[List[int]]]]:
    """The CLUENER label object of spans: {type: {entity string: [[start, end], ...]}}, end inclusive."""
    out: Dict[str, Dict[str, List[List[int]]]] = {}
    for s, e, t in sorted(spans):
        out.setdefault(t, {}).setdefault(text[s:e + 1], []).append([s, e])
    return out


def write_submission(examples: Sequence[Example], spans: Sequence[Sequence[Span]], path) -> Path:
    """cluener_predict.json: one {"id", "label"} line per test example, in order; temporary file, then renamed."""
    if len(examples) != len(spans):
        raise KitError(f"{len(spans)} predictions for {len(examples)} test examples")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for ex, sp in zip(examples, spans):
            f.write(json.dumps({"id": int(ex.id) if ex.id.isdigit() else ex.id, "label": label_of(ex.text, sp)},
                               ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path

"""SQuAD post-processing, framework-neutral (numpy), with HF run_qa's conventions: from per-chunk start/end logits to
an answer per question, the n-best list, and (v2.0) the null odds used as no-answer probabilities.

Per question: the null score is the minimum over its chunks of start[0] + end[0] (the CLS position); in each chunk the
n_best_size highest start and end positions are paired, skipping positions outside the context (offset None), end <
start and spans longer than max_answer_length; a candidate's score is start + end logit and its text the context
between the offsets. v2.0: score_diff = null score - best non-null score; the answer is "" when score_diff >
null_score_diff_threshold, and null_odds[qid] = score_diff (feed it to squad_eval as --na-prob-file).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np


def postprocess(examples: Sequence[dict], features: Sequence[dict], start_logits: np.ndarray,
                end_logits: np.ndarray, version_2_with_negative: bool = False, n_best_size: int = 20,
                max_answer_length: int = 30, null_score_diff_threshold: float = 0.0):
    """examples: {"id", "context"}; features: {"example_index", "offset_mapping": [(start, end) or None per token]}.
    Returns (predictions {id: text}, nbest {id: [{"text", "score", "start_logit", "end_logit", "probability"}]},
    null_odds {id: score_diff} (empty for v1.1))."""
    by_example: Dict[int, List[int]] = {}
    for i, f in enumerate(features):
        by_example.setdefault(f["example_index"], []).append(i)
    predictions, nbest_out, null_odds = {}, {}, {}
    for ei, ex in enumerate(examples):
        context = ex["context"]
        null = None
        candidates = []
        for fi in by_example.get(ei, []):
            s, e = np.asarray(start_logits[fi]), np.asarray(end_logits[fi])
            offsets = features[fi]["offset_mapping"]
            score_null = float(s[0] + e[0])
            if null is None or score_null < null["score"]:
                null = {"text": "", "score": score_null, "start_logit": float(s[0]), "end_logit": float(e[0])}
            starts = np.argsort(s)[::-1][:n_best_size]
            ends = np.argsort(e)[::-1][:n_best_size]
            for a in starts:
                for b in ends:
                    if a >= len(offsets) or b >= len(offsets) or offsets[a] is None or offsets[b] is None:
                        continue
                    if b < a or b - a + 1 > max_answer_length:
                        continue
                    candidates.append({"text": context[offsets[a][0]:offsets[b][1]], "score": float(s[a] + e[b]),
                                       "start_logit": float(s[a]), "end_logit": float(e[b]),
                                       "offsets": (offsets[a][0], offsets[b][1])})
        if version_2_with_negative and null is not None:
            candidates.append(null)
        best = sorted(candidates, key=lambda c: c["score"], reverse=True)[:n_best_size]
        if version_2_with_negative and null is not None and not any(c is null for c in best):
            best.append(null)
        if not best or (len(best) == 1 and best[0]["text"] == ""):
            best.insert(0, {"text": "empty", "score": 0.0, "start_logit": 0.0, "end_logit": 0.0})
        scores = np.array([c["score"] for c in best])
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        for c, p in zip(best, probs):
            c["probability"] = float(p)
        if not version_2_with_negative:
            predictions[ex["id"]] = best[0]["text"]
        else:
            non_null = next((c for c in best if c["text"] != ""), None)
            diff = null["score"] - (non_null["score"] if non_null else -np.inf) if null else np.inf
            null_odds[ex["id"]] = float(diff)
            predictions[ex["id"]] = "" if diff > null_score_diff_threshold or non_null is None else non_null["text"]
        nbest_out[ex["id"]] = [{k: v for k, v in c.items() if k != "offsets"} for c in best]
    return predictions, nbest_out, null_odds


def write_predictions(out_dir, predictions, nbest, null_odds: Optional[dict] = None) -> List[Path]:
    """predictions.json, nbest_predictions.json and (v2.0) null_odds.json, each written to a temp file and renamed."""
    import os
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in (("predictions.json", predictions), ("nbest_predictions.json", nbest),
                      ("null_odds.json", null_odds)):
        if obj is None or (name == "null_odds.json" and not obj):
            continue
        path = out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


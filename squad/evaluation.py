"""SQuAD evaluation identical to the official scripts, v1.1 (`evaluate-v1.1.py`) and v2.0 (`evaluate-v2.0.py`).

    python -m squad.evaluation dev-v1.1.json predictions.json                       # v1.1: exact_match, f1
    python -m squad.evaluation dev-v2.0.json predictions.json --na-prob-file null_odds.json   # v2.0 (+ best_*)

The version is read from the data file (`version` field; a file with unanswerable questions is v2.0); --version
overrides. v1.1: a question with no prediction scores 0 and still counts. v2.0: it is skipped (not counted); gold
answers that normalise to "" are dropped ([""] when none is left); with --na-prob-file, questions whose no-answer
probability exceeds --na-prob-thresh (default 1.0) are treated as abstaining, and best_exact / best_f1 with their
thresholds are searched over the null odds.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import string
import sys
from pathlib import Path
from typing import Dict, List, Optional

from reprokit import KitError

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (both official scripts)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _tokens(s: str) -> List[str]:
    return normalize_answer(s).split() if s else []


# ---- v1.1 ---------------------------------------------------------------------------------------------------------------
def f1_v1(prediction: str, ground_truth: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(ground_truth).split()
    num_same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(p), num_same / len(g)
    return 2 * precision * recall / (precision + recall)


def evaluate_v1(dataset: List[dict], predictions: Dict[str, str]) -> Dict[str, float]:
    f1 = exact = total = 0.0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue  # counts as 0
                golds = [a["text"] for a in qa["answers"]]
                pred = predictions[qa["id"]]
                exact += max(float(normalize_answer(pred) == normalize_answer(g)) for g in golds)
                f1 += max(f1_v1(pred, g) for g in golds)
    return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}


# ---- v2.0 ---------------------------------------------------------------------------------------------------------------
def compute_exact(a_gold: str, a_pred: str) -> int:
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float:
    g, p = _tokens(a_gold), _tokens(a_pred)
    if len(g) == 0 or len(p) == 0:
        return float(g == p)  # no-answer: 1 if both are empty, else 0
    num_same = sum((collections.Counter(g) & collections.Counter(p)).values())
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(p), num_same / len(g)
    return 2 * precision * recall / (precision + recall)


def _has_answer(dataset) -> Dict[str, bool]:
    return {qa["id"]: bool(qa["answers"]) for article in dataset for p in article["paragraphs"] for qa in p["qas"]}


def raw_scores(dataset, preds):
    exact, f1 = {}, {}
    for article in dataset:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                qid = qa["id"]
                golds = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])] or [""]
                if qid not in preds:
                    continue  # skipped, as the official v2.0 script does
                exact[qid] = max(compute_exact(a, preds[qid]) for a in golds)
                f1[qid] = max(compute_f1(a, preds[qid]) for a in golds)
    return exact, f1


def apply_no_ans_threshold(scores, na_probs, qid_to_has_ans, thresh):
    return {qid: float(not qid_to_has_ans[qid]) if na_probs[qid] > thresh else s for qid, s in scores.items()}


def make_eval_dict(exact, f1, qid_list: Optional[List[str]] = None):
    if not qid_list:
        total = len(exact)
        return collections.OrderedDict([("exact", 100.0 * sum(exact.values()) / total),
                                        ("f1", 100.0 * sum(f1.values()) / total), ("total", total)])
    total = len(qid_list)
    return collections.OrderedDict([("exact", 100.0 * sum(exact[k] for k in qid_list) / total),
                                    ("f1", 100.0 * sum(f1[k] for k in qid_list) / total), ("total", total)])


def find_best_thresh(preds, scores, na_probs, qid_to_has_ans):
    num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
    cur = best = num_no_ans
    best_thresh = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in scores:
            continue
        if qid_to_has_ans[qid]:
            diff = scores[qid]
        else:
            diff = -1 if preds[qid] else 0
        cur += diff
        if cur > best:
            best, best_thresh = cur, na_probs[qid]
    return 100.0 * best / len(scores), best_thresh


def evaluate_v2(dataset, preds, na_probs: Optional[Dict[str, float]] = None, na_prob_thresh: float = 1.0):
    qid_to_has_ans = _has_answer(dataset)
    given = na_probs is not None
    na_probs = na_probs if given else {k: 0.0 for k in preds}
    has_ans = [k for k, v in qid_to_has_ans.items() if v and k in preds]
    no_ans = [k for k, v in qid_to_has_ans.items() if not v and k in preds]
    exact_raw, f1_raw = raw_scores(dataset, preds)
    missing = sorted(set(exact_raw) - set(na_probs))
    if missing:
        raise KitError(f"no-answer probabilities missing for {len(missing)} question(s), e.g. {missing[0]}")
    exact = apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    f1 = apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans, na_prob_thresh)
    out = make_eval_dict(exact, f1)
    if has_ans:
        out.update((f"HasAns_{k}", v) for k, v in make_eval_dict(exact, f1, has_ans).items())
    if no_ans:
        out.update((f"NoAns_{k}", v) for k, v in make_eval_dict(exact, f1, no_ans).items())
    if given:
        out["best_exact"], out["best_exact_thresh"] = find_best_thresh(preds, exact_raw, na_probs, qid_to_has_ans)
        out["best_f1"], out["best_f1_thresh"] = find_best_thresh(preds, f1_raw, na_probs, qid_to_has_ans)
    return dict(out)


# ---- files ----------------------------------------------------------------------------------------------------------
def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise KitError(f"{path}: cannot read the {what} ({e})") from None
    except json.JSONDecodeError as e:
        raise KitError(f"{path}: the {what} is not valid JSON ({e})") from None


def evaluate_files(data_file, pred_file, na_prob_file=None, na_prob_thresh=1.0, version=None) -> Dict[str, float]:
    data = _read_json(data_file, "SQuAD data file")
    if not isinstance(data, dict) or "data" not in data:
        raise KitError(f"{data_file}: no 'data' list (not a SQuAD file)")
    preds = _read_json(pred_file, "predictions file")
    if not isinstance(preds, dict):
        raise KitError(f"{pred_file}: predictions must be a JSON object {{question id: answer text}}")
    if version is None:
        v2 = str(data.get("version", "")).startswith("v2") or any(
            qa.get("is_impossible") for a in data["data"] for p in a["paragraphs"] for qa in p["qas"])
        version = "2.0" if v2 else "1.1"
    if version == "1.1":
        return evaluate_v1(data["data"], preds)
    na = _read_json(na_prob_file, "no-answer probability file") if na_prob_file else None
    return evaluate_v2(data["data"], preds, na, na_prob_thresh)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Official SQuAD v1.1 / v2.0 evaluation.")
    ap.add_argument("data_file")
    ap.add_argument("pred_file")
    ap.add_argument("--na-prob-file", "-n", default=None)
    ap.add_argument("--na-prob-thresh", "-t", type=float, default=1.0)
    ap.add_argument("--version", choices=["1.1", "2.0"], default=None)
    ap.add_argument("--out-file", "-o", default=None)
    args = ap.parse_args(argv)
    try:
        result = evaluate_files(args.data_file, args.pred_file, args.na_prob_file, args.na_prob_thresh, args.version)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    if args.out_file:
        Path(args.out_file).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

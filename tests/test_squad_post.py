"""SQuAD post-processing on hand-built logits: spans, skipped positions, length limit, null answers (v2.0), several
chunks per question, and the written files."""
import json

import numpy as np
import pytest

from squad.postprocess import postprocess, write_predictions

CONTEXT = "The cat sat on the mat in Paris ."
# token offsets of the context words; position 0 is CLS, 1-2 the question (None: not context)
WORDS = [(0, 3), (4, 7), (8, 11), (12, 14), (15, 18), (19, 22), (23, 25), (26, 31), (32, 33)]
OFFSETS = [None, None, None] + WORDS


def logits(start_at, end_at, n=len(OFFSETS), cls=0.0, high=5.0):
    s, e = np.zeros(n), np.zeros(n)
    s[0] = e[0] = cls
    s[start_at], e[end_at] = high, high
    return s, e


def run(s, e, v2=False, **kw):
    ex = [{"id": "q", "context": CONTEXT}]
    feats = [{"example_index": 0, "offset_mapping": OFFSETS}]
    return postprocess(ex, feats, np.array([s]), np.array([e]), version_2_with_negative=v2, **kw)


def test_best_span():
    s, e = logits(3 + 7, 3 + 7)  # "Paris"
    preds, nbest, odds = run(s, e)
    assert preds == {"q": "Paris"} and odds == {}
    assert nbest["q"][0]["text"] == "Paris" and nbest["q"][0]["score"] == 10.0
    assert sum(c["probability"] for c in nbest["q"]) == pytest.approx(1.0)


def test_question_tokens_reversed_and_long_spans_are_skipped():
    s, e = logits(1, 2, high=50.0)  # the question tokens: not context, never an answer
    s[3 + 1], e[3 + 2] = 5.0, 5.0    # "cat sat"
    assert run(s, e)[0]["q"] == "cat sat"
    s, e = logits(3 + 5, 3 + 2)       # end before start: skipped; the best valid pair wins
    s[3 + 1] = 4.0
    assert run(s, e)[0]["q"] == "cat sat"
    s, e = logits(3 + 0, 3 + 8)       # "The ... ." is 9 tokens long (score 10)
    e[3 + 2] = 4.0                    # "The cat sat": 3 tokens, score 9
    assert run(s, e, max_answer_length=3)[0]["q"] == "The cat sat"
    assert run(s, e, max_answer_length=9)[0]["q"] == CONTEXT


def test_null_answer_v2():
    s, e = logits(3 + 7, 3 + 7, cls=6.0)  # null 12 vs "Paris" 10
    preds, nbest, odds = run(s, e, v2=True)
    assert preds == {"q": ""} and odds["q"] == pytest.approx(2.0)
    assert run(s, e, v2=True, null_score_diff_threshold=2.5)[0] == {"q": "Paris"}
    s, e = logits(3 + 7, 3 + 7, cls=1.0)
    preds, _, odds = run(s, e, v2=True)
    assert preds == {"q": "Paris"} and odds["q"] == pytest.approx(-8.0)


def test_several_chunks():
    """Two chunks of the same question: the null score is the minimum over chunks, the best span may come from
    either."""
    ex = [{"id": "q", "context": CONTEXT}]
    first = [None, None, None] + WORDS[:5]
    second = [None, None, None] + WORDS[4:]
    feats = [{"example_index": 0, "offset_mapping": first}, {"example_index": 0, "offset_mapping": second}]
    s1, e1 = np.zeros(8), np.zeros(8)
    s1[0] = e1[0] = 3.0
    s1[3 + 1] = e1[3 + 1] = 2.0          # "cat": 4
    s2, e2 = np.zeros(8), np.zeros(8)
    s2[0] = e2[0] = 1.0                  # this chunk's null (2) is the minimum
    s2[3 + 3] = e2[3 + 3] = 2.5          # "Paris": 5
    preds, nbest, odds = postprocess(ex, feats, np.array([s1, s2]), np.array([e1, e2]), version_2_with_negative=True)
    assert preds == {"q": "Paris"} and odds["q"] == pytest.approx(2.0 - 5.0)
    texts = [c["text"] for c in nbest["q"]]
    assert texts[0] == "Paris" and "cat" in texts and "" in texts


def test_no_valid_span_and_files(tmp_path):
    s, e = np.zeros(len(OFFSETS)), np.zeros(len(OFFSETS))
    ex = [{"id": "q", "context": CONTEXT}]
    feats = [{"example_index": 0, "offset_mapping": [None] * len(OFFSETS)}]
    preds, nbest, _ = postprocess(ex, feats, np.array([s]), np.array([e]))
    assert preds == {"q": "empty"}  # HF run_qa's placeholder when nothing is valid
    written = write_predictions(tmp_path, *run(*logits(3 + 7, 3 + 7, cls=6.0), v2=True))
    assert [p.name for p in written] == ["predictions.json", "nbest_predictions.json", "null_odds.json"]
    assert json.loads((tmp_path / "null_odds.json").read_text()) == {"q": 2.0}

"""squad.evaluation equals the official scripts' logic: v2.0 against transformers' squad_metrics (the same code)
on many generated cases (unicode, punctuation, articles, empty answers, null odds), v1.1 on hand-checked cases,
and the command line."""
import json
import random

import pytest

from squad import evaluation as S

WORDS = ["the", "a", "an", "Cat", "cat.", "über", "naïve", "東京", "dog,", "(ran)", "fast!", "An", "answer", "", "—"]


def phrase(rng, n=None):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4) if n is None else n))


def dataset(rng, n=60):
    qas = []
    for i in range(n):
        impossible = rng.random() < 0.4
        answers = [] if impossible else [{"text": phrase(rng, rng.randint(1, 3)), "answer_start": 0}
                                         for _ in range(rng.randint(1, 3))]
        qas.append({"id": f"q{i}", "question": "?", "answers": answers, "is_impossible": impossible})
    return [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]


def test_v2_equals_transformers_squad_metrics():
    from transformers.data.metrics import squad_metrics as M
    from transformers.data.processors.squad import SquadExample
    for seed in range(25):
        rng = random.Random(seed)
        data = dataset(rng)
        qas = data[0]["paragraphs"][0]["qas"]
        preds = {qa["id"]: (phrase(rng) if rng.random() < 0.7 else "") for qa in qas}
        na = {qa["id"]: round(rng.random(), 2) for qa in qas}  # rounded: ties in the threshold search
        examples = [SquadExample(qa["id"], "?", "c", None, None, "t", answers=qa["answers"],
                                 is_impossible=qa["is_impossible"]) for qa in qas]
        for given in (None, na):
            ours = S.evaluate_v2(data, preds, given)
            theirs = M.squad_evaluate(examples, preds, no_answer_probs=given)
            if given is None:  # transformers searches best_* over all-zero odds then (meaningless); the script does not
                assert {k for k in theirs if k not in ours} == {"best_exact", "best_exact_thresh", "best_f1",
                                                                "best_f1_thresh"}
                theirs = {k: v for k, v in theirs.items() if not k.startswith("best_")}
            assert set(ours) == set(theirs)
            for k, v in theirs.items():
                assert ours[k] == pytest.approx(v, abs=1e-9), (seed, k)
        for qa in qas:
            for g in [a["text"] for a in qa["answers"]] or [""]:
                assert S.compute_f1(g, preds[qa["id"]]) == pytest.approx(M.compute_f1(g, preds[qa["id"]]))
                assert S.compute_exact(g, preds[qa["id"]]) == M.compute_exact(g, preds[qa["id"]])


def test_v1_rules():
    data = [{"paragraphs": [{"qas": [
        {"id": "1", "answers": [{"text": "The Cat"}, {"text": "a dog"}]},
        {"id": "2", "answers": [{"text": "über naïve"}]},
        {"id": "3", "answers": [{"text": "ran fast"}]}]}]}]
    r = S.evaluate_v1(data, {"1": "cat!", "2": "über"})  # 3 missing: counts as 0 and stays in the total
    assert r["exact_match"] == pytest.approx(100 / 3)
    assert r["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)  # "über" vs "über naïve": P 1, R 1/2 -> F1 2/3
    assert S.f1_v1("", "the") == 0.0  # v1.1 has no empty-answer rule


def test_v2_missing_prediction_is_skipped():
    data = [{"paragraphs": [{"qas": [{"id": "1", "answers": [{"text": "x"}]}, {"id": "2", "answers": []}]}]}]
    r = S.evaluate_v2(data, {"2": ""})
    assert r["total"] == 1 and r["exact"] == 100.0 and "HasAns_total" not in r


def test_command_line(tmp_path, capsys):
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": "a", "answers": [{"text": "the answer"}], "is_impossible": False},
        {"id": "b", "answers": [], "is_impossible": True}]}]}]}
    (tmp_path / "d.json").write_text(json.dumps(data))
    (tmp_path / "p.json").write_text(json.dumps({"a": "answer", "b": "something"}))
    (tmp_path / "n.json").write_text(json.dumps({"a": 0.1, "b": 0.9}))
    assert S.main([str(tmp_path / "d.json"), str(tmp_path / "p.json"), "-n", str(tmp_path / "n.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] == 50.0 and out["best_exact"] == 100.0 and out["best_exact_thresh"] == 0.1
    (tmp_path / "bad.json").write_text("{")
    assert S.main([str(tmp_path / "d.json"), str(tmp_path / "bad.json")]) == 2
    assert "bad.json: the predictions file is not valid JSON" in capsys.readouterr().err

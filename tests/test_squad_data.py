"""SQuAD reading and featurisation: bad records reported by id, chunks with doc_stride, answers outside a chunk at CLS,
offsets outside the context hidden from post-processing; features -> ideal logits -> post-processing -> official
evaluation gives 100."""
import json

import numpy as np
import pytest

from reprokit import KitError
from squad.data import featurize, read_squad
from squad.evaluation import evaluate_v2
from squad.postprocess import postprocess

WORDS = "the a cat dog sat ran on in mat park paris london city river blue red big small what where who is did".split()


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import FunnelTokenizerFast
    d = tmp_path_factory.mktemp("tok")
    (d / "vocab.txt").write_text("\n".join(["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", ".", ",", "?"] + WORDS)
                                 + "\n")
    return FunnelTokenizerFast(vocab_file=str(d / "vocab.txt"))


def squad_file(tmp_path):
    rng = np.random.RandomState(0)
    filler = " ".join(rng.choice(WORDS[:10], size=60))
    context = f"{filler} the cat sat in paris . {filler}"
    start = context.index("paris")
    qas = [{"id": "q1", "question": "where did the cat sit ?", "answers": [{"text": "paris", "answer_start": start}]},
           {"id": "q2", "question": "who ran ?", "answers": [], "is_impossible": True},
           {"id": "bad1", "question": "?", "answers": [{"text": "london", "answer_start": 3}]},
           {"id": "bad2", "answers": [{"text": "paris", "answer_start": start}]},
           {"id": "bad3", "question": "what ?", "answers": []},
           {"id": "q1", "question": "again ?", "answers": [{"text": "paris", "answer_start": start}]}]
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
    (tmp_path / "train.json").write_text(json.dumps(data))
    return tmp_path / "train.json", data


def test_read_reports_bad_records(tmp_path):
    path, _ = squad_file(tmp_path)
    examples, report = read_squad(path)
    assert [e.id for e in examples] == ["q1", "q2"]
    assert [qid for qid, _ in report.bad] == ["bad1", "bad2", "bad3", "q1"]
    assert report.bad[3][1] == "a duplicate id"
    assert "answer_start 3 does not point at 'london'" in report.bad[0][1]
    assert "missing field 'question'" in report.bad[1][1]
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(KitError, match="x.json: not valid JSON"):
        read_squad(tmp_path / "x.json")


def test_chunks_answers_and_offsets(tmp_path, tokenizer):
    path, _ = squad_file(tmp_path)
    examples, _ = read_squad(path)
    train = featurize(examples, tokenizer, max_seq_length=48, doc_stride=16, train=True)
    q1 = [f for f in train if f["example_index"] == 0]
    assert len(q1) > 2  # a long context: several chunks
    with_answer = [f for f in q1 if f["start_positions"] != 0]
    assert with_answer and any(f["start_positions"] == 0 for f in q1)  # chunks without the answer point to CLS
    for f in with_answer:
        span = f["input_ids"][f["start_positions"]:f["end_positions"] + 1]
        assert tokenizer.decode(span) == "paris"
    assert all(f["start_positions"] == f["end_positions"] == 0 for f in train if f["example_index"] == 1)
    assert all(len(f["input_ids"]) <= 48 for f in train)
    evals = featurize(examples, tokenizer, max_seq_length=48, doc_stride=16, train=False)
    f0 = evals[0]
    assert f0["offset_mapping"][0] is None and f0["offset_mapping"][1] is None  # CLS and question tokens
    assert f0["token_type_ids"][0] == 2  # Funnel's CLS token type


def test_ideal_logits_score_100(tmp_path, tokenizer):
    path, data = squad_file(tmp_path)
    examples, _ = read_squad(path)
    train = featurize(examples, tokenizer, max_seq_length=48, doc_stride=16, train=True)
    evals = featurize(examples, tokenizer, max_seq_length=48, doc_stride=16, train=False)
    L = max(len(f["input_ids"]) for f in evals)
    start, end = np.full((len(evals), L), -5.0), np.full((len(evals), L), -5.0)
    for i, (t, f) in enumerate(zip(train, evals)):
        start[i, t["start_positions"]] += 10.0
        end[i, t["end_positions"]] += 10.0
    preds, _, odds = postprocess([{"id": e.id, "context": e.context} for e in examples], evals, start, end,
                                 version_2_with_negative=True)
    assert preds == {"q1": "paris", "q2": ""}
    result = evaluate_v2(data["data"], preds, odds)
    assert result["HasAns_exact"] == 100.0 and result["NoAns_exact"] == 100.0

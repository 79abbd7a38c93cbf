"""CLUENER data and metrics on hand-computed cases: end-inclusive spans checked against the text, spans through
token offsets (Latin letters, an entity at position 0 and at the last character, truncation counted), exact
substrings written back, micro F1 over (start, end, type) and the official per-type string F1."""
import json

import pytest

from cluener import data as N
from reprokit import KitError


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_read_checks_every_span(tmp_path):
    write(tmp_path / "train.json", [{"text": "浙商银行企业信贷部叶老桂博士", "label": {
        "name": {"叶老桂": [[9, 11]]}, "company": {"浙商银行": [[0, 3]]}}},
        {"text": "玩WOW的人", "label": {"game": {"WOW": [[1, 3]]}}}])
    ex = N.read_file(tmp_path / "train.json")
    assert ex[0].spans == [(0, 3, "company"), (9, 11, "name")] and ex[1].spans == [(1, 3, "game")]
    write(tmp_path / "bad.json", [{"text": "浙商银行", "label": {"company": {"浙商银行": [[0, 4]]}}}])
    with pytest.raises(KitError, match=r"bad.json, line 1: company '浙商银行' is not at \[0, 4\] \(end inclusive\)"):
        N.read_file(tmp_path / "bad.json")
    write(tmp_path / "type.json", [{"text": "浙商", "label": {"bank": {"浙商": [[0, 1]]}}}])
    with pytest.raises(KitError, match="entity type 'bank' is not one of the 10 CLUENER types"):
        N.read_file(tmp_path / "type.json")


def test_spans_through_offsets_and_back():
    text = "WOW玩家在北京"  # "WOW" is one word piece (3 characters); 京 is the last character
    offsets = [None, (0, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), None]  # [CLS] ... [SEP]
    spans = [(0, 2, "game"), (6, 7, "address"), (1, 2, "game")]  # the last one is not on token bounds
    tok, lost = N.token_spans(spans, offsets)
    assert tok == [(N.TYPES.index("game"), 1, 1), (N.TYPES.index("address"), 5, 6)] and lost == 1
    back = N.char_spans(text, tok, offsets)
    assert back == [(0, 2, "game"), (6, 7, "address")]
    assert [text[s:e + 1] for s, e, _ in back] == ["WOW", "北京"]
    truncated = offsets[:5] + [None]  # the text cut after 在: 北京 is lost, and counted
    assert N.token_spans(spans[:2], truncated) == ([(N.TYPES.index("game"), 1, 1)], 1)


def test_metrics_on_hand_computed_cases():
    texts = ["北京和北京的故宫", "叶老桂在浙商银行", "无实体"]
    gold = [{(0, 1, "address"), (3, 4, "address"), (6, 7, "scene")}, {(0, 2, "name"), (4, 7, "company")}, set()]
    pred = [{(0, 1, "address"), (6, 7, "address")},   # one right; the scene span predicted with the wrong type
            {(0, 2, "name"), (4, 7, "company"), (4, 5, "company")}, set()]
    m = N.micro_f1(gold, pred)
    # tp = 3 (北京@0, 叶老桂, 浙商银行), predicted 5, gold 5
    assert m == pytest.approx({"precision": 3 / 5, "recall": 3 / 5, "f1": 3 / 5})
    o = N.official(texts, gold, pred)
    # address: gold strings {北京} (twice in the text: once), predicted {北京, 故宫}: p 1/2, r 1, f1 2/3
    assert o["per_type"]["address"]["f1"] == pytest.approx(2 / 3)
    assert o["per_type"]["scene"]["f1"] == 0.0 and o["per_type"]["name"]["f1"] == 1.0
    # company: gold {浙商银行}, predicted {浙商银行, 浙商}: p 1/2, r 1
    assert o["per_type"]["company"]["f1"] == pytest.approx(2 / 3)
    assert o["macro_f1"] == pytest.approx((2 / 3 + 0 + 1 + 2 / 3) / 10)  # types never seen score 0
    empty = N.micro_f1(gold, [set(), set(), set()])
    assert empty == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_submission_format(tmp_path):
    ex = [N.Example("0", "WOW玩家在北京"), N.Example("1", "无实体")]
    path = N.write_submission(ex, [[(6, 7, "address"), (0, 2, "game")], []], tmp_path / "cluener_predict.json")
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [{"id": 0, "label": {"address": {"北京": [[6, 7]]}, "game": {"WOW": [[0, 2]]}}},
                     {"id": 1, "label": {}}]


def test_nested_and_adjacent_entities():
    """GlobalPointer scores every (start, end) cell: a span inside another span and two touching spans all survive
    the trip to tokens and back."""
    text = "北京大学在北京上海"
    offsets = [None] + [(i, i + 1) for i in range(len(text))] + [None]
    spans = [(0, 3, "organization"), (0, 1, "address"), (5, 6, "address"), (7, 8, "address")]
    tok, lost = N.token_spans(spans, offsets)
    assert lost == 0 and len(tok) == 4
    back = N.char_spans(text, tok, offsets)
    assert sorted(back) == sorted(spans)
    assert N.label_of(text, back) == {"organization": {"北京大学": [[0, 3]]},
                                      "address": {"北京": [[0, 1], [5, 6]], "上海": [[7, 8]]}}

"""CLUENER with GlobalPointer heads on GAU-alpha, both backends: a learnable synthetic task solved (> 90% micro F1),
predictions that are exact substrings of the input at the printed positions (Latin letters kept as written), two
training steps equal across backends for both heads, long texts counted, bad input named."""
import json
from pathlib import Path

import numpy as np
import pytest

from cluener import data as N

FILLER = list("今天我们去玩了很好的地方看见他说这是那个人在")
ENTITIES = {"name": ["张三", "李四", "王五"], "address": ["北京", "上海", "杭州"], "game": ["WOW", "Dota"],
            "company": ["浙商银行", "阿里巴巴"]}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。", "wow", "dot", "##a"] + \
    sorted(set(FILLER + [c for v in ENTITIES.values() for e in v for c in e if "\u4e00" <= c <= "\u9fff"]))


def synthetic(path: Path, n: int, seed: int, test: bool = False, long_text: bool = False):
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(n):
        text, label = "", {}
        for _ in range(rng.randint(1, 3)):
            text += "".join(rng.choice(FILLER, size=rng.randint(0 if i % 4 == 0 else 1, 4)))
            t = str(rng.choice(sorted(ENTITIES)))
            e = str(rng.choice(ENTITIES[t]))
            label.setdefault(t, {}).setdefault(e, []).append([len(text), len(text) + len(e) - 1])
            text += e
        text += "".join(rng.choice(FILLER, size=rng.randint(0, 3)))  # some texts end with an entity
        if long_text and i == 0:
            text += "".join(rng.choice(FILLER, size=80)) + "北京"
            label.setdefault("address", {}).setdefault("北京", []).append([len(text) - 2, len(text) - 1])
        rows.append({"id": i, "text": text} if test else {"text": text, "label": label})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def gau_checkpoint(tmp_path):
    from parity import gau_alpha as GA
    kw = GA.config_kwargs(GA.TINY, "GAUAlphaModel", vocab_size=len(VOCAB), max_position_embeddings=128)
    d = tmp_path / "tiny-gau"
    GA.build_torch(kw, "GAUAlphaModel").save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run_cluener(*argv):
    from cluener.run_cluener import main
    return main([str(a) for a in argv])


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_learnable_task_and_exact_predictions(tmp_path, backend, capsys):
    data = tmp_path / "data"
    synthetic(data / "train.json", 300, 0)
    synthetic(data / "dev.json", 60, 1, long_text=True)
    synthetic(data / "test.json", 8, 2, test=True)
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_cluener("--backend", backend, "--model_name_or_path", gau_checkpoint(tmp_path), "--data_dir", data,
                       "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--num_train_epochs", 8,
                       "--per_device_train_batch_size", 16, "--learning_rate", 5e-3, "--head_size", 16,
                       "--max_seq_length", 48, "--logging_steps", 20, "--log_dir", logs, "--report_to", "none") == 0
    assert "dev: 1 entities beyond --max_seq_length 48" in capsys.readouterr().err
    res = json.loads((logs / "eval_results.json").read_text())["dev"]
    assert res["micro_f1"] > 0.9, res
    assert set(res["official_per_type"]) == set(N.TYPES) and res["official_macro_f1"] > 0
    texts = [json.loads(x)["text"] for x in (data / "test.json").read_text().splitlines()]
    lines = [json.loads(x) for x in (out / "cluener_predict.json").read_text().splitlines()]
    assert [x["id"] for x in lines] == list(range(8))
    found = 0
    for text, line in zip(texts, lines):
        for t, entities in line["label"].items():
            assert t in N.TYPES
            for entity, positions in entities.items():
                for s, e in positions:
                    assert text[s:e + 1] == entity  # exact substring, end inclusive, case kept
                    found += 1
    assert found >= 8
    # predict.py on the saved model, on both backends: the same file as the run's own predictions
    import subprocess
    import sys
    for other in ("torch", "paddle"):
        r = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "cluener" / "predict.py"), "test",
                            str(out), str(tmp_path / f"p-{other}.json"), "--test_file", str(data / "test.json"),
                            "--backend", other, "--max_seq_length", "48"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        assert (tmp_path / f"p-{other}.json").read_text() == (out / "cluener_predict.json").read_text()
    r = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "cluener" / "predict.py"),
                        "predict", str(out), "--backend", backend, "--max_seq_length", "48"],
                       input=texts[0] + "\n", capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[-1]) == {"text": texts[0], "label": lines[0]["label"]}


@pytest.mark.parametrize("head", ["GlobalPointer", "EfficientGlobalPointer"])
def test_two_steps_same_losses_on_both_backends(tmp_path, head):
    data = tmp_path / "data"
    synthetic(data / "train.json", 16, 0)
    from torch_ref.global_pointer import GlobalPointerForNER
    ckpt = tmp_path / "with-head"  # one starting point: the head initialised once, on the torch side
    GlobalPointerForNER.from_pretrained(gau_checkpoint(tmp_path), heads=len(N.TYPES), head_size=8,
                                        efficient=head == "EfficientGlobalPointer").save_pretrained(ckpt)
    (ckpt / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    losses = {}
    for backend in ("torch", "paddle"):
        assert run_cluener("--backend", backend, "--model_name_or_path", ckpt, "--data_dir", data, "--output_dir",
                           tmp_path / f"o-{backend}", "--do_train", "--max_steps", 3, "--per_device_train_batch_size",
                           4, "--learning_rate", 5e-3, "--global_pointer_head", head, "--head_size", 8,
                           "--max_seq_length", 32, "--logging_steps", 1, "--log_dir", tmp_path / f"l-{backend}",
                           "--report_to", "none") == 0
        losses[backend] = json.loads((tmp_path / f"l-{backend}" / "step_losses.json").read_text())
    t, p = np.array(losses["torch"]), np.array(losses["paddle"])
    assert len(t) == 3 and abs(t[2] - t[0]) > 1e-5
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=0)
    # the fine-tuned directory of either backend predicts alike on the other
    cfg = json.loads((tmp_path / "o-paddle" / "config.json").read_text())
    assert cfg["global_pointer"]["efficient"] == (head == "EfficientGlobalPointer")


def test_bad_input_is_named(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.json").write_text('{"text": "北京", "label": {"address": {"北京": [[0, 2]]}}}\n', encoding="utf-8")
    (data / "dev.json").write_text('{"text": "北京", "label": {}}\n', encoding="utf-8")
    assert run_cluener("--model_name_or_path", gau_checkpoint(tmp_path), "--data_dir", data, "--output_dir",
                       tmp_path / "o", "--do_train") == 2
    assert "train.json, line 1: address '北京' is not at [0, 2]" in capsys.readouterr().err

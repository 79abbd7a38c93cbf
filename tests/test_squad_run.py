"""squad/run_squad_v1.py on both backends, on SQuAD-format fixtures the tests write: long contexts that need several
chunks, unanswerable questions, multiple gold answers, bad records; two training steps give the same losses and the
same predictions on both backends; the paper protocol reports v2.0 best_* and v1.1 scores; a learnable synthetic QA
task is solved (EM > 80%) on both backends."""
import json
from pathlib import Path

import numpy as np
import pytest

from parity import funnel as H

FILLER = ["the", "a", "man", "went", "to", "and", "saw", "river", "city", "old", "new", "big", "small", "walked"]
CITIES = ["paris", "london", "rome", "tokyo", "cairo", "lima", "oslo", "delhi"]
VOCAB = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", ".", "?", "where", "did", "go", "who", "he"] + FILLER + CITIES


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Relative default paths (logs/, figure/) land in the test's folder, never in the repository."""
    monkeypatch.chdir(tmp_path)


def tiny_qa_checkpoint(tmp_path):
    d = tmp_path / "tiny-funnel-qa"
    H.save_tiny_checkpoint(d, "FunnelForQuestionAnswering", VOCAB, max_position_embeddings=512)
    return d


def synthetic_squad(path: Path, n: int, seed: int, v2: bool = False, long: int = 0, bad: bool = False):
    """Each context is filler words with one city in it; "where did he go ?" is answered by that city. v2: a third
    of the questions ask about a context without a city (unanswerable). long: that many filler words around it (several
    chunks at a short max_seq_length). Every fifth answerable question also lists "<word before> <city>" (multiple gold
    answers)."""
    rng = np.random.RandomState(seed)
    paragraphs = []
    for i in range(n):
        words = list(rng.choice(FILLER, size=long or rng.randint(4, 12)))
        impossible = v2 and i % 3 == 2
        qa = {"id": f"q{i}", "question": "where did he go ?", "answers": []}
        if impossible:
            qa["is_impossible"] = True
        else:
            city = str(rng.choice(CITIES))
            pos = rng.randint(len(words) + 1)
            context = " ".join(words[:pos] + [city] + words[pos:])
            start = len(" ".join(words[:pos] + [""])) if pos else 0
            qa["answers"] = [{"text": city, "answer_start": start}]
            if i % 5 == 0 and pos:  # a second, longer gold answer: the word before and the city
                prev = words[pos - 1]
                qa["answers"].append({"text": f"{prev} {city}", "answer_start": start - len(prev) - 1})
            if v2:
                qa["is_impossible"] = False
        if impossible:
            context = " ".join(words)
        paragraphs.append({"context": context, "qas": [qa]})
    if bad:
        paragraphs.append({"context": "the man went to paris", "qas": [
            {"id": "bad-start", "question": "where ?", "answers": [{"text": "paris", "answer_start": 3}]}]})
    data = {"version": "v2.0" if v2 else "1.1", "data": [{"title": "synthetic", "paragraphs": paragraphs}]}
    path.write_text(json.dumps(data))
    return path


def run_squad(*argv):
    from squad.run_squad_v1 import main
    return main(list(map(str, argv)))


def test_fixture_both_backends_equal_paper_protocol(tmp_path):
    """v2.0 training file (long contexts, unanswerable questions, a bad record), 2 steps on each backend from one
    checkpoint: same losses (1e-5), same answers, null odds within 1e-4; v2.0 results with HasAns/NoAns and searched
    best_* thresholds, and the same model's v1.1 scores (always answering)."""
    train = synthetic_squad(tmp_path / "train-v2.json", 12, 0, v2=True, long=40, bad=True)
    dev2 = synthetic_squad(tmp_path / "dev-v2.json", 6, 1, v2=True, long=40)
    dev1 = synthetic_squad(tmp_path / "dev-v1.json", 4, 2, long=40)
    ckpt = tiny_qa_checkpoint(tmp_path)
    outs = {}
    for backend in ("torch", "paddle"):
        out, logs = tmp_path / f"out-{backend}", tmp_path / f"logs-{backend}"
        assert run_squad("--backend", backend, "--model_name_or_path", ckpt, "--train_file", train,
                         "--validation_file", dev2, "--validation_file_v1", dev1, "--paper_protocol",
                         "--output_dir", out, "--do_train", "--max_steps", 2, "--per_device_train_batch_size", 4,
                         "--learning_rate", 1e-3, "--warmup_steps", 1, "--weight_decay", 0.01, "--layer_lr_decay",
                         0.75, "--max_seq_length", 32, "--doc_stride", 8, "--logging_steps", 1, "--log_dir", logs,
                         "--report_to", "none") == 0
        outs[backend] = (out, logs)
        bad = json.loads((logs / "bad_records.json").read_text())
        assert bad[str(train)]["bad"][0]["id"] == "bad-start" and bad[str(train)]["used"] == 12
        res = json.loads((logs / "eval_results.json").read_text())
        assert res["eval"]["total"] == 6 and res["eval"]["HasAns_total"] == 4 and res["eval"]["NoAns_total"] == 2
        assert {"best_f1", "best_f1_thresh", "best_exact"} <= set(res["eval"])
        assert set(res["eval_v1.1"]) == {"exact_match", "f1"}
        assert res["paper"]["v1.1_f1"] == res["eval_v1.1"]["f1"] and res["paper"]["v2.0_best_f1"] == \
            res["eval"]["best_f1"]
        for name in ("predictions.json", "nbest_predictions.json", "null_odds.json", "results.json"):
            assert (out / "eval" / name).is_file(), name
        assert not (out / "eval_v1.1" / "null_odds.json").exists()  # v1.1: always answering
        assert all(v != "" for v in json.loads((out / "eval_v1.1" / "predictions.json").read_text()).values())
        assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    losses = {b: json.loads((logs / "step_losses.json").read_text()) for b, (_, logs) in outs.items()}
    assert len(losses["torch"]) == 2 and abs(losses["torch"][1] - losses["torch"][0]) > 1e-6
    np.testing.assert_allclose(losses["paddle"], losses["torch"], rtol=1e-5, atol=0)
    for sub in ("eval", "eval_v1.1"):
        p = {b: json.loads((o / sub / "predictions.json").read_text()) for b, (o, _) in outs.items()}
        assert p["paddle"] == p["torch"], sub
    odds = {b: json.loads((o / "eval" / "null_odds.json").read_text()) for b, (o, _) in outs.items()}
    assert odds["torch"].keys() == odds["paddle"].keys()
    np.testing.assert_allclose([odds["paddle"][k] for k in odds["torch"]], list(odds["torch"].values()),
                               rtol=0, atol=1e-4)
    # the official-script interface on the written files gives the same v2.0 numbers
    from squad.evaluation import evaluate_files
    out = outs["torch"][0] / "eval"
    official = evaluate_files(dev2, out / "predictions.json", out / "null_odds.json")
    assert official == pytest.approx(json.loads((out / "results.json").read_text()))


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_learnable_qa_task(tmp_path, backend):
    """A tiny Funnel learns to answer with the context's city: EM > 80 on a held-out dev set, then --do_eval alone on
    the saved model reproduces the numbers."""
    train = synthetic_squad(tmp_path / "train.json", 320, 0)
    dev = synthetic_squad(tmp_path / "dev.json", 60, 1)
    ckpt = tiny_qa_checkpoint(tmp_path)
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_squad("--backend", backend, "--model_name_or_path", ckpt, "--train_file", train, "--validation_file",
                     dev, "--output_dir", out, "--do_train", "--num_train_epochs", 4, "--per_device_train_batch_size",
                     16, "--learning_rate", 3e-3, "--warmup_ratio", 0.1, "--max_seq_length", 32, "--doc_stride", 8,
                     "--logging_steps", 10, "--log_dir", logs, "--report_to", "none", "--seed", 1) == 0
    res = json.loads((logs / "eval_results.json").read_text())["eval"]
    assert res["exact_match"] > 80, res
    assert run_squad("--backend", backend, "--model_name_or_path", out, "--validation_file", dev, "--output_dir",
                     tmp_path / "again", "--do_eval", "--max_seq_length", 32, "--doc_stride", 8, "--log_dir", tmp_path / "l2",
                     "--report_to", "none") == 0
    again = json.loads((tmp_path / "l2" / "eval_results.json").read_text())["eval"]
    assert again == pytest.approx(res)


def test_bad_inputs_exit_2(tmp_path, capsys):
    ckpt = tiny_qa_checkpoint(tmp_path)
    v2 = synthetic_squad(tmp_path / "v2.json", 6, 0, v2=True)
    assert run_squad("--model_name_or_path", ckpt, "--train_file", v2, "--output_dir", tmp_path / "o",
                     "--do_train") == 2
    assert "pass --version_2_with_negative" in capsys.readouterr().err
    assert run_squad("--model_name_or_path", ckpt, "--train_file", tmp_path / "missing.json", "--output_dir",
                     tmp_path / "o", "--do_train") == 2
    assert "missing.json: file not found" in capsys.readouterr().err
    assert run_squad("--model_name_or_path", ckpt, "--paper_protocol", "--validation_file", v2, "--output_dir",
                     tmp_path / "o", "--do_eval") == 2
    assert "--validation_file_v1" in capsys.readouterr().err
    assert run_squad("--model_name_or_path", ckpt, "--validation_file", v2, "--version_2_with_negative",
                     "--output_dir", tmp_path / "o", "--do_eval", "--max_seq_length", 16, "--doc_stride", 64) == 2
    assert "doc_stride 64" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_hf_datasets_file_reads_like_the_json(tmp_path):
    from squad.data import read_qa_file
    path = synthetic_squad(tmp_path / "v2.json", 9, 0, v2=True, bad=True)
    rows = []
    for p in json.loads(path.read_text())["data"][0]["paragraphs"]:
        for qa in p["qas"]:
            rows.append({"id": qa["id"], "title": "t", "context": p["context"], "question": qa["question"],
                         "answers": {"text": [a["text"] for a in qa["answers"]],
                                     "answer_start": [a["answer_start"] for a in qa["answers"]]}})
    (tmp_path / "v2.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    a, ra = read_qa_file(path)
    b, rb = read_qa_file(tmp_path / "v2.jsonl")
    assert a == b and ra.bad == rb.bad and [i for i, _ in ra.bad] == ["bad-start"]


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_resume_reaches_the_same_losses(tmp_path, backend):
    """Stop after the step-2 checkpoint, resume from it: steps 3-4 have the losses of an uninterrupted run."""
    import shutil
    train = synthetic_squad(tmp_path / "train.json", 16, 0)
    ckpt = tiny_qa_checkpoint(tmp_path)
    common = ["--backend", backend, "--model_name_or_path", ckpt, "--train_file", train, "--do_train", "--max_steps",
              4, "--per_device_train_batch_size", 4, "--learning_rate", 1e-3, "--warmup_steps", 1,
              "--layer_lr_decay", 0.75, "--save_steps", 2, "--logging_steps", 1, "--max_seq_length", 32,
              "--doc_stride", 8, "--report_to", "none"]
    assert run_squad(*common, "--output_dir", tmp_path / "full", "--log_dir", tmp_path / "l-full") == 0
    full = json.loads((tmp_path / "l-full" / "step_losses.json").read_text())
    assert len(full) == 4
    shutil.copytree(tmp_path / "full" / "checkpoint-2", tmp_path / "resumed" / "checkpoint-2")  # what survived
    assert run_squad(*common, "--output_dir", tmp_path / "resumed", "--log_dir", tmp_path / "l-res",
                     "--resume_from_checkpoint", tmp_path / "resumed" / "checkpoint-2") == 0
    resumed = json.loads((tmp_path / "l-res" / "step_losses.json").read_text())
    np.testing.assert_allclose(resumed, full[2:], rtol=1e-6, atol=0)

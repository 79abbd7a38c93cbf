"""CLUE classification: the 7 tasks' files in their real formats (unicode, "-" labels, WSC spans, CSL keywords),
the recipe's inputs, bad lines named; Adafactor on Paddle equal to HF's step by step; two steps from one checkpoint
give the same losses on both backends (AdamW and Adafactor); a learnable task a tiny GAU-alpha solves on both
backends, with the submission file written and zipped."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from clue import data as C
from reprokit import KitError

CHARS = list("今天气很好坏我们去公园玩心情不错的是了吗他她它这个那人说")
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。", "；", "_", "[", "]"] + CHARS


def write_jsonl(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def clue_fixture(root: Path):
    """Two or three rows per split of every task, in the CLUE files' own fields."""
    pair = lambda i, y: {"sentence1": "今天天气很好", "sentence2": "我们去公园", "label": y, "id": i}  # noqa: E731
    for t, labels in (("afqmc", ["0", "1"]), ("cmnli", ["entailment", "-", "contradiction"]),
                      ("ocnli", ["neutral", "entailment", "-"])):
        train = "train.50k.json" if t == "ocnli" else "train.json"
        write_jsonl(root / t / train, [pair(i, y) for i, y in enumerate(labels)])
        write_jsonl(root / t / "dev.json", [pair(0, labels[0])])
        write_jsonl(root / t / "test.json", [{"id": i, "sentence1": "他说", "sentence2": "好"} for i in range(3)])
    for t, labels in (("tnews", ["100", "116"]), ("iflytek", ["0", "118"])):
        write_jsonl(root / t / "train.json", [{"label": y, "label_des": "x", "sentence": "今天很好", "keywords": ""}
                                             for y in labels])
        write_jsonl(root / t / "dev.json", [{"label": labels[0], "sentence": "心情不错"}])
        write_jsonl(root / t / "test.json", [{"id": i, "sentence": "公园"} for i in range(2)])
    wsc = lambda i, y: {"target": {"span2_index": 7, "span1_index": 0, "span1_text": "我们", "span2_text": "他"},  # noqa
                        "idx": i, "label": y, "text": "我们去公园玩，他说好"}
    write_jsonl(root / "cluewsc2020" / "train.json", [wsc(0, "true"), wsc(1, "false")])
    write_jsonl(root / "cluewsc2020" / "dev.json", [wsc(0, "false")])
    write_jsonl(root / "cluewsc2020" / "test.json", [{**wsc(0, "true"), "id": 0}])
    csl = lambda i, y: {"id": i, "abst": "今天天气很好我们去公园", "keyword": ["天气", "公园"], "label": y}  # noqa
    write_jsonl(root / "csl" / "train.json", [csl(0, "1"), csl(1, "0")])
    write_jsonl(root / "csl" / "dev.json", [csl(0, "1")])
    write_jsonl(root / "csl" / "test.json", [{k: v for k, v in csl(5, "0").items() if k != "label"}])
    return root


def test_every_task_reads_its_files_and_builds_the_recipe_inputs(tmp_path):
    root = clue_fixture(tmp_path)
    counts = {"afqmc": 2, "cmnli": 2, "ocnli": 2, "tnews": 2, "iflytek": 2, "cluewsc2020": 2, "csl": 2}
    for name, n in counts.items():
        task = C.get_task(name)
        train, report = C.read_split(task, root / name / task.files["train"], "train")
        assert len(train) == n, name
        assert report.dropped == (1 if name in ("cmnli", "ocnli") else 0)
        test, _ = C.read_split(task, root / name / task.files["test"], "test")
        assert all(e.label is None for e in test) and test[0].id == "0" or name == "csl"
    wsc, _ = C.read_split(C.get_task("wsc"), root / "cluewsc2020" / "train.json", "train")
    assert wsc[0].text_a == "_我们_去公园玩，[他]说好" and wsc[0].label == 0
    csl, _ = C.read_split(C.get_task("csl"), root / "csl" / "train.json", "train")
    assert (csl[0].text_a, csl[0].text_b, csl[0].label) == ("天气；公园", "今天天气很好我们去公园", 1)
    tnews, _ = C.read_split(C.get_task("tnews"), root / "tnews" / "train.json", "train")
    assert [e.label for e in tnews] == [0, 14] and len(C.get_task("tnews").labels) == 15
    assert len(C.get_task("iflytek").labels) == 119


def test_bad_lines_are_named(tmp_path):
    task = C.get_task("afqmc")
    write_jsonl(tmp_path / "a.json", [{"sentence1": "好", "sentence2": "坏", "label": "1"},
                                      {"sentence1": "好", "label": "1"}])
    with pytest.raises(KitError, match=r"a.json, line 2: missing field 'sentence2'"):
        C.read_split(task, tmp_path / "a.json", "train")
    write_jsonl(tmp_path / "b.json", [{"sentence1": "好", "sentence2": "坏", "label": "7"}])
    with pytest.raises(KitError, match=r"b.json, line 1: label '7' is not one of the 2 afqmc labels"):
        C.read_split(task, tmp_path / "b.json", "train")
    (tmp_path / "c.json").write_text('{"sentence1": "好"\n')
    with pytest.raises(KitError, match=r"c.json, line 1:"):
        C.read_split(task, tmp_path / "c.json", "train")
    wsc = {"target": {"span2_index": 3, "span1_index": 0, "span1_text": "我们", "span2_text": "他"}, "label": "true",
           "text": "我们去公园"}
    write_jsonl(tmp_path / "w.json", [wsc])
    with pytest.raises(KitError, match=r"w.json, line 1: span '他' is not at index 3"):
        C.read_split(C.get_task("cluewsc2020"), tmp_path / "w.json", "train")


def test_paddle_adafactor_equals_hf_step_by_step():
    """Same weights (a matrix in each framework's layout, a vector), the same gradients, three steps with layer-decay
    multipliers and weight decay: the weights agree after every step."""
    import paddle
    from transformers.optimization import Adafactor as HFAdafactor

    from tasks.adafactor import Adafactor
    rng = np.random.RandomState(0)
    w, b = rng.standard_normal((6, 5)).astype("float32"), rng.standard_normal(6).astype("float32")
    tw, tb = torch.nn.Parameter(torch.tensor(w)), torch.nn.Parameter(torch.tensor(b))
    opt_t = HFAdafactor([{"params": [tw], "lr": 5e-4 * 0.8, "weight_decay": 0.01},
                         {"params": [tb], "lr": 5e-4, "weight_decay": 0.0}], lr=5e-4, scale_parameter=False,
                        relative_step=False)
    pw = paddle.create_parameter([5, 6], "float32", default_initializer=paddle.nn.initializer.Assign(w.T))
    pb = paddle.create_parameter([6], "float32", default_initializer=paddle.nn.initializer.Assign(b))
    pw.optimize_attr["learning_rate"] = 0.8
    opt_p = Adafactor(5e-4, [pw, pb], weight_decay=0.01, apply_decay_param_fun=lambda n: n == pw.name)
    for step in range(3):
        gw, gb = rng.standard_normal((6, 5)).astype("float32"), rng.standard_normal(6).astype("float32") * 10
        tw.grad, tb.grad = torch.tensor(gw), torch.tensor(gb)
        opt_t.step()
        (paddle.sum(pw * paddle.to_tensor(gw.T)) + paddle.sum(pb * paddle.to_tensor(gb))).backward()
        opt_p.step()
        opt_p.clear_grad()
        np.testing.assert_allclose(pw.numpy().T, tw.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
        np.testing.assert_allclose(pb.numpy(), tb.detach().numpy(), rtol=1e-6, atol=1e-7, err_msg=f"step {step}")
    assert np.abs(pw.numpy().T - w).max() > 1e-4  # the weights really moved


def gau_checkpoint(tmp_path, num_labels=2):
    from parity import gau_alpha as GA
    arch = "GAUAlphaForSequenceClassification"
    kw = GA.config_kwargs(GA.TINY, arch, vocab_size=len(VOCAB), num_labels=num_labels, max_position_embeddings=64)
    d = tmp_path / "tiny-gau"
    GA.build_torch(kw, arch).save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return d


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run_clue(*argv):
    from clue.run_clue import main
    return main([str(a) for a in argv])


@pytest.mark.parametrize("optim", ["adamw", "adafactor"])
def test_two_steps_same_losses_on_both_backends(tmp_path, optim):
    root = clue_fixture(tmp_path / "clue")
    rows = [{"sentence1": "今天天气很好" * (i % 3 + 1), "sentence2": "我们去公园" [:i % 5 + 1], "label": str(i % 2)}
            for i in range(16)]
    write_jsonl(root / "afqmc" / "train.json", rows)
    ckpt = gau_checkpoint(tmp_path)
    losses = {}
    for backend in ("torch", "paddle"):
        assert run_clue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "afqmc", "--data_dir",
                        root / "afqmc", "--output_dir", tmp_path / f"o-{backend}", "--do_train", "--max_steps", 3,
                        "--per_device_train_batch_size", 4, "--learning_rate", 5e-3, "--optim", optim,
                        "--lr_scheduler_type", "constant", "--layer_lr_decay", 0.9, "--weight_decay", 0.01,
                        "--logging_steps", 1, "--log_dir", tmp_path / f"logs-{backend}", "--report_to", "none") == 0
        losses[backend] = json.loads((tmp_path / f"logs-{backend}" / "step_losses.json").read_text())
    t, p = np.array(losses["torch"]), np.array(losses["paddle"])
    assert len(t) == 3 and abs(t[2] - t[0]) > 1e-5
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=0)


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_learnable_task_and_submission(tmp_path, backend):
    """tnews-shaped data whose class is decided by one character: > 90% dev accuracy; the test predictions as
    tnews11_predict.json (one {id, label} line per test row, the data's label strings) and a zip."""
    rng = np.random.RandomState(0)
    filler = list("今天气我们去公园玩心情的是了他说")

    def rows(n, test=False):
        out = []
        for i in range(n):
            y = rng.randint(2)
            s = list(rng.choice(filler, size=rng.randint(3, 8)))
            s.insert(rng.randint(len(s) + 1), "好" if y else "坏")
            out.append({"id": i, "sentence": "".join(s)} if test else {"sentence": "".join(s), "label": ["100", "101"][y]})
        return out
    folder = tmp_path / "tnews"
    write_jsonl(folder / "train.json", rows(240))
    write_jsonl(folder / "dev.json", rows(60))
    write_jsonl(folder / "test.json", rows(7, test=True))
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_clue("--backend", backend, "--model_name_or_path", gau_checkpoint(tmp_path, 15), "--task_name", "tnews",
                    "--data_dir", folder, "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--zip",
                    "--num_train_epochs", 6, "--per_device_train_batch_size", 16, "--learning_rate", 3e-3,
                    "--logging_steps", 10, "--log_dir", logs, "--report_to", "none") == 0
    assert json.loads((logs / "eval_results.json").read_text())["dev"]["eval_accuracy"] > 0.9
    lines = [json.loads(x) for x in (out / "tnews11_predict.json").read_text().splitlines()]
    assert [x["id"] for x in lines] == list(range(7)) and all(x["label"] in C.get_task("tnews").labels for x in lines)
    assert (tmp_path / "out.zip").is_file()
    assert json.loads((out / "kit_run.json").read_text())["task"] == "CLUE tnews"


def test_missing_data_names_the_fetch_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPROKIT_HOME", str(tmp_path / "home"))
    assert run_clue("--model_name_or_path", gau_checkpoint(tmp_path), "--task_name", "csl", "--output_dir",
                    tmp_path / "o", "--do_train") == 2
    assert "run: python fetch.py clue/csl" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(C.TASKS))
def test_every_task_trains_evaluates_and_predicts(tmp_path, name):
    """Each task's fixture in its real format, a step of training on each backend, evaluation, and the submission
    file in the leaderboard's format (one {id, label} line per test row, the data's label strings)."""
    root = clue_fixture(tmp_path / "clue")
    task = C.get_task(name)
    ckpt = gau_checkpoint(tmp_path, len(task.labels))
    tests = [json.loads(x) for x in (root / name / "test.json").read_text(encoding="utf-8").splitlines()]
    for backend in ("torch", "paddle"):
        out, logs = tmp_path / f"out-{backend}", tmp_path / f"logs-{backend}"
        assert run_clue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", name, "--data_dir",
                        root / name, "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--max_steps", 1,
                        "--per_device_train_batch_size", 2, "--log_dir", logs, "--report_to", "none") == 0
        assert "eval_accuracy" in json.loads((logs / "eval_results.json").read_text())["dev"]
        lines = [json.loads(x) for x in (out / task.submission).read_text(encoding="utf-8").splitlines()]
        assert [x["id"] for x in lines] == [t["id"] for t in tests]
        assert all(set(x) == {"id", "label"} and x["label"] in task.labels for x in lines)


@pytest.mark.parametrize("backend,flag", [("torch", "--gradient_checkpointing"), ("paddle", "--recompute"),
                                          ("torch", "--recompute"), ("paddle", "--gradient_checkpointing")])
def test_recompute_from_the_script_same_losses(tmp_path, backend, flag, monkeypatch, capsys):
    """Either spelling switches gradient checkpointing on for either backend's trainer: every GAU layer of every
    training step runs again in the backward pass, and the step losses equal the run without it."""
    import paddlenlp_ext.gau_alpha.modeling as PG
    import torch_ref.gau_alpha as RG
    root = clue_fixture(tmp_path / "clue")
    write_jsonl(root / "afqmc" / "train.json", [{"sentence1": "今天天气很好" * (i % 3 + 1), "sentence2": "我们去公园",
                                                 "label": str(i % 2)} for i in range(8)])
    ckpt = gau_checkpoint(tmp_path)
    cls = RG.GAULayer if backend == "torch" else PG.GAULayer
    forward, calls = cls.forward, []

    def counted(self, *a, **k):
        calls.append(1)
        return forward(self, *a, **k)
    monkeypatch.setattr(cls, "forward", counted)
    losses, counts = {}, {}
    for on in (False, True):
        calls.clear()
        logs = tmp_path / f"logs-{on}"
        assert run_clue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "afqmc", "--data_dir",
                        root / "afqmc", "--output_dir", tmp_path / f"o-{on}", "--do_train", "--max_steps", 2,
                        "--per_device_train_batch_size", 4, "--learning_rate", 5e-3, "--logging_steps", 1,
                        "--log_dir", logs, "--report_to", "none", *([flag] if on else [])) == 0
        losses[on] = json.loads((logs / "step_losses.json").read_text())
        counts[on] = len(calls)
    assert ("recompute: on" if backend == "paddle" else "gradient checkpointing: on") in capsys.readouterr().out
    assert counts[True] - counts[False] == 2 * 2  # 2 steps x 2 layers, each run again in the backward pass
    np.testing.assert_allclose(losses[True], losses[False], rtol=1e-6)


def test_gradient_checkpointing_unsupported_is_one_line(tmp_path, capsys):
    """transformers' Funnel has no gradient checkpointing: one line and exit 2 before training, nothing written."""
    from test_glue import run_glue, synthetic_sst2, tiny_checkpoint
    data = synthetic_sst2(tmp_path / "SST-2", n_train=8, n_dev=4)
    ckpt = tiny_checkpoint(tmp_path)
    assert run_glue("--backend", "torch", "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                    "--output_dir", tmp_path / "o", "--do_train", "--max_steps", 1, "--gradient_checkpointing") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "has no gradient checkpointing on the torch backend" in err[-1]
    assert not (tmp_path / "o" / "config.json").exists()

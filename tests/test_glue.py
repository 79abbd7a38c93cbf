"""GLUE pipeline on tiny fixtures the tests write: every task's raw TSV layout (tricky quoting included), metrics equal
to scikit-learn / scipy, leaderboard files, the same per-parameter rates on both backends, two training steps with
equal losses on both backends, and a learnable synthetic task both backends solve."""
import json
from pathlib import Path

import numpy as np
import pytest

from parity import funnel as H
from reprokit import KitError
from glue import data as G

WORDS = ["good", "great", "fine", "bad", "awful", "poor", "the", "movie", "was", "plot", "a", "is", "it", "\"quoted"]
VOCAB = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"] + WORDS


def write(path: Path, rows, header=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (["\t".join(header)] if header else []) + ["\t".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def glue_fixture(root: Path):
    """One folder per task with train/dev/test in the raw GLUE column layout (2-3 rows each)."""
    q = '"quoted start, never closed'  # with quoting on, this would swallow the next tabs and rows
    write(root / "CoLA/train.tsv", [["gj04", 1, "", "the movie was good"], ["gj04", 0, "*", q]])
    write(root / "CoLA/dev.tsv", [["gj04", 1, "", "it is fine"]])
    write(root / "CoLA/test.tsv", [[0, "the plot"]], header=["index", "sentence"])
    write(root / "SST-2/train.tsv", [["a good movie", 1], [q, 0]], header=["sentence", "label"])
    write(root / "SST-2/dev.tsv", [["awful", 0]], header=["sentence", "label"])
    write(root / "SST-2/test.tsv", [[0, "great"], [1, "poor"]], header=["index", "sentence"])
    mh = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    write(root / "MRPC/train.tsv", [[1, 1, 2, "it is good", "it is great"], [0, 3, 4, q, "bad"]], header=mh)
    write(root / "MRPC/dev.tsv", [[1, 1, 2, "fine", "fine"]], header=mh)
    write(root / "MRPC/test.tsv", [[0, 1, 2, "a", "b"]], header=["index"] + mh[1:])
    sh = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2", "score"]
    write(root / "STS-B/train.tsv", [[0, "g", "f", "y", 0, "s", "s", "good", "great", 4.2],
                                     [1, "g", "f", "y", 1, "s", "s", q, "bad", 0.5]], header=sh)
    write(root / "STS-B/dev.tsv", [[0, "g", "f", "y", 0, "s", "s", "fine", "fine", 5.0]], header=sh)
    write(root / "STS-B/test.tsv", [[0, "g", "f", "y", 0, "s", "s", "a", "b"]], header=sh[:-1])
    qh = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    write(root / "QQP/train.tsv", [[0, 1, 2, "is it good", "is it great", 1], [1, 3, 4, q, "bad", 0]], header=qh)
    write(root / "QQP/dev.tsv", [[0, 1, 2, "fine", "fine", 1]], header=qh)
    write(root / "QQP/test.tsv", [[0, "a", "b"]], header=["id", "question1", "question2"])
    nh = ["index", "promptID", "pairID", "genre", "b1", "b2", "p1", "p2", "sentence1", "sentence2", "label1",
          "gold_label"]
    row = lambda i, a, b, y: [i, 0, 0, "g", "", "", "", "", a, b, y, y]  # noqa: E731
    write(root / "MNLI/train.tsv", [row(0, "good", "great", "entailment"), row(1, q, "bad", "contradiction"),
                                    row(2, "fine", "the plot", "neutral")], header=nh)
    write(root / "MNLI/dev_matched.tsv", [row(0, "good", "great", "entailment")], header=nh)
    write(root / "MNLI/dev_mismatched.tsv", [row(0, "bad", "great", "contradiction")], header=nh)
    for split in ("test_matched", "test_mismatched"):
        write(root / f"MNLI/{split}.tsv", [[0, 0, 0, "g", "", "", "", "", "a", "b"]], header=nh[:10])
    for name, labels in (("QNLI", ("entailment", "not_entailment")), ("RTE", ("entailment", "not_entailment")),
                         ("WNLI", (0, 1))):
        h = ["index", "question" if name == "QNLI" else "sentence1", "sentence" if name == "QNLI" else "sentence2",
             "label"]
        write(root / f"{name}/train.tsv", [[0, "is it good", "it is good", labels[0]], [1, q, "bad", labels[1]]],
              header=h)
        write(root / f"{name}/dev.tsv", [[0, "fine", "fine", labels[0]]], header=h)
        write(root / f"{name}/test.tsv", [[0, "a", "b"]], header=h[:3])
    write(root / "AX/AX.tsv", [[0, "a", "b"], [1, "good", "bad"]], header=["index", "sentence1", "sentence2"])
    return root


@pytest.fixture(scope="module")
def glue_dir(tmp_path_factory):
    return glue_fixture(tmp_path_factory.mktemp("glue"))


EXPECTED_TRAIN = {"CoLA": 2, "SST-2": 2, "MRPC": 2, "STS-B": 2, "QQP": 2, "MNLI": 3, "QNLI": 2, "RTE": 2, "WNLI": 2}


@pytest.mark.parametrize("name", list(EXPECTED_TRAIN))
def test_every_task_reads_its_raw_layout(glue_dir, name):
    task = G.get_task(name)
    train, _ = G.load_split(task, glue_dir / name, "train")
    ex = train["train"]
    assert len(ex) == EXPECTED_TRAIN[name]
    quoted = [e for e in ex if e.text_a.startswith('"quoted start')]
    assert len(quoted) == 1 and quoted[0].text_a == '"quoted start, never closed'  # nothing swallowed
    if task.labels is None:
        assert [e.label for e in ex] == [4.2, 0.5]
    else:
        assert all(e.label in range(len(task.labels)) for e in ex)
    dev, _ = G.load_split(task, glue_dir / name, "dev")
    assert list(dev) == list(task.dev)
    test, _ = G.load_split(task, glue_dir / name, "test")
    assert list(test) == list(task.test) and all(e.label is None and e.index == "0" for t in test.values()
                                                   for e in t[:1])


def test_mnli_labels_follow_the_hf_order(glue_dir):
    task = G.get_task("MNLI")
    ex = G.load_split(task, glue_dir / "MNLI", "train")[0]["train"]
    assert [e.label for e in ex] == [0.0, 2.0, 1.0]  # entailment, contradiction, neutral
    assert G.load_split(G.get_task("AX"), glue_dir / "AX", "test")[0]["AX"][1].text_b == "bad"


def test_malformed_rows_name_file_and_line(tmp_path):
    task = G.get_task("SST-2")
    write(tmp_path / "train.tsv", [["good", 1], ["no label column"], ["bad", 7]], header=["sentence", "label"])
    with pytest.raises(KitError, match=r"train\.tsv, line 3: 1 columns, need at least 2"):
        G.read_tsv(task, tmp_path / "train.tsv", "train")
    ex, report = G.read_tsv(task, tmp_path / "train.tsv", "train", skip_bad_rows=True)
    assert len(ex) == 1 and [n for n, _ in report.skipped] == [3, 4]
    assert "label '7' is not one of ['0', '1']" in report.skipped[1][1]
    write(tmp_path / "stsb.tsv", [[0] * 7 + ["a", "b", "x"]], header=["h"] * 10)
    with pytest.raises(KitError, match=r"stsb\.tsv, line 2: score 'x' is not a number"):
        G.read_tsv(G.get_task("STS-B"), tmp_path / "stsb.tsv", "train")


def test_hf_datasets_files(tmp_path):
    task = G.get_task("MRPC")
    rows = [{"sentence1": "good", "sentence2": "great", "label": 1, "idx": 0},
            {"sentence1": "bad", "sentence2": "fine", "label": 0, "idx": 1}]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ex = G.read_hf_file(task, tmp_path / "train.jsonl", "train")
    assert [(e.text_a, e.text_b, e.label) for e in ex] == [("good", "great", 1.0), ("bad", "fine", 0.0)]
    (tmp_path / "bad.jsonl").write_text(json.dumps({"sentence1": "a", "label": 1}) + "\n")
    with pytest.raises(KitError, match=r"bad\.jsonl: missing column\(s\) \['sentence2'\]"):
        G.read_hf_file(task, tmp_path / "bad.jsonl", "train")


def test_metrics_equal_sklearn_and_scipy():
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
    rng = np.random.RandomState(0)
    for _ in range(20):
        y = rng.randint(0, 2, size=50)
        logits = rng.standard_normal((50, 2))
        pred = logits.argmax(-1)
        m = G.compute_metrics(G.get_task("MRPC"), logits, y)
        assert m["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
        assert m["f1"] == pytest.approx(f1_score(y, pred), abs=1e-12)
        assert G.compute_metrics(G.get_task("CoLA"), logits, y)["matthews_correlation"] == pytest.approx(
            matthews_corrcoef(y, pred), abs=1e-12)
        s, t = rng.standard_normal(40), np.round(rng.uniform(0, 5, 40), 1)  # rounded: ties for spearman
        m = G.compute_metrics(G.get_task("STS-B"), s[:, None], t)
        assert m["pearson"] == pytest.approx(pearsonr(s, t)[0], abs=1e-12)
        assert m["spearmanr"] == pytest.approx(spearmanr(s, t)[0], abs=1e-12)
    y3 = rng.randint(0, 3, 60)
    l3 = rng.standard_normal((60, 3))
    assert G.compute_metrics(G.get_task("MNLI"), l3, y3)["accuracy"] == pytest.approx(
        accuracy_score(y3, l3.argmax(-1)))
    assert G.matthews([1, 1, 1], [1, 1, 1]) == 0.0 == matthews_corrcoef([1, 1, 1], [1, 1, 1])


def test_leaderboard_values():
    assert G.leaderboard_values(G.get_task("MNLI"), np.array([[0, 1, 5.0], [3, 0, 0]])) == ["contradiction",
                                                                                          "entailment"]
    assert G.leaderboard_values(G.get_task("STS-B"), np.array([[1.23456], [4.0]])) == ["1.235", "4.000"]
    assert G.leaderboard_values(G.get_task("QNLI"), np.array([[0.0, 1.0]])) == ["not_entailment"]
    assert G.leaderboard_values(G.get_task("CoLA"), np.array([[0.0, 1.0]])) == ["1"]


# ---- training on both backends --------------------------------------------------------------------------------------
def tiny_checkpoint(tmp_path, num_labels=2):
    """A tiny Funnel with a sequence-classification head and a Funnel tokenizer on a fixed vocabulary."""
    d = tmp_path / "tiny-funnel"
    H.save_tiny_checkpoint(d, "FunnelForSequenceClassification", VOCAB, num_labels=num_labels)
    return d


def synthetic_sst2(root: Path, n_train=240, n_dev=60, seed=0):
    """Sentiment decided by one word: positive words -> 1, negative -> 0, among filler words."""
    rng = np.random.RandomState(seed)
    pos, neg, filler = ["good", "great", "fine"], ["bad", "awful", "poor"], ["the", "movie", "was", "plot", "a", "it"]

    def rows(n):
        out = []
        for _ in range(n):
            y = rng.randint(2)
            words = list(rng.choice(filler, size=rng.randint(2, 6)))
            words.insert(rng.randint(len(words) + 1), rng.choice(pos if y else neg))
            out.append([" ".join(words), y])
        return out
    write(root / "train.tsv", rows(n_train), header=["sentence", "label"])
    write(root / "dev.tsv", rows(n_dev), header=["sentence", "label"])
    write(root / "test.tsv", [[i, r[0]] for i, r in enumerate(rows(5))], header=["index", "sentence"])
    return root


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Relative default paths (logs/, figure/) land in the test's folder, never in the repository."""
    monkeypatch.chdir(tmp_path)


def run_glue(*argv):
    from glue.run_glue import main
    try:
        return main(list(map(str, argv)))
    except SystemExit as e:  # the parser's exit on a bad flag
        return e.code


def test_same_rates_on_both_backends(tmp_path):
    """Layer-wise decay 0.8 and weight decay 0.01: the torch optimizer's groups and paddle's per-parameter
    multipliers and decay set give every parameter the same (lr, weight decay)."""
    from tasks.backends import get_backend
    from glue.run_glue import parse_args
    ckpt = tiny_checkpoint(tmp_path)
    tables = {}
    for name in ("torch", "paddle"):
        a = parse_args(["--backend", name, "--model_name_or_path", str(ckpt), "--task_name", "SST-2", "--output_dir",
                        str(tmp_path / "o"), "--layer_lr_decay", "0.8", "--weight_decay", "0.01", "--learning_rate",
                        "1e-3", "--report_to", "none"])
        b = get_backend(name)
        model = b.load_model(str(ckpt), "sequence_classification", 2)
        trainer = b.make_trainer(a.training, a.kit, "sequence_classification", model, None, None, None,
                                 tmp_path / f"{name}.jsonl", 0)
        if name == "torch":
            opt = trainer.create_optimizer()
            by_id = {id(p): (g["lr"], g["weight_decay"]) for g in opt.param_groups for p in g["params"]}
            tables[name] = {n: by_id[id(p)] for n, p in model.named_parameters()}
        else:
            trainer.create_scheduler(10)
            opt = trainer.create_optimizer()
            tables[name] = {n: (1e-3 * p.optimize_attr["learning_rate"],
                                0.01 if opt._apply_decay_param_fun(p.name) else 0.0)
                            for n, p in model.named_parameters()}
    assert tables["torch"].keys() == tables["paddle"].keys()
    for n, (lr, wd) in tables["torch"].items():
        assert tables["paddle"][n] == pytest.approx((lr, wd), rel=1e-12), n
    lrs = {n: lr for n, (lr, _) in tables["torch"].items()}
    assert lrs["funnel.embeddings.word_embeddings.weight"] == pytest.approx(1e-3 * 0.8 ** 8)  # 5 enc + 2 dec + 1
    assert lrs["classifier.linear_out.weight"] == pytest.approx(1e-3)
    assert tables["torch"]["funnel.encoder.blocks.0.0.attention.r_w_bias"][1] == 0.0


def test_two_steps_same_losses_on_both_backends(tmp_path, monkeypatch):
    # what an earlier --bf16 run leaves in this process (HF's TrainingArguments sets it and never clears it): the fp32
    # run below must not train under bf16 autocast
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    data = synthetic_sst2(tmp_path / "SST-2", n_train=16, n_dev=8)
    ckpt = tiny_checkpoint(tmp_path)
    losses = {}
    for backend in ("torch", "paddle"):
        out = tmp_path / f"out-{backend}"
        assert run_glue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                        "--output_dir", out, "--do_train", "--max_steps", 2, "--per_device_train_batch_size", 4,
                        "--learning_rate", 1e-3, "--warmup_ratio", 0.5, "--weight_decay", 0.01,
                        "--layer_lr_decay", 0.9, "--logging_steps", 1, "--log_dir", tmp_path / f"logs-{backend}",
                        "--report_to", "none") == 0
        losses[backend] = json.loads((tmp_path / f"logs-{backend}" / "step_losses.json").read_text())
    t, p = np.array(losses["torch"]), np.array(losses["paddle"])
    assert len(t) == len(p) == 2 and abs(t[1] - t[0]) > 1e-6  # the second step saw an updated model
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=0)


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_learnable_task_trains_evaluates_predicts(tmp_path, backend):
    data = synthetic_sst2(tmp_path / "SST-2")
    ckpt = tiny_checkpoint(tmp_path)
    out, logs = tmp_path / "out", tmp_path / "logs"
    assert run_glue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                    "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--num_train_epochs", 4,
                    "--per_device_train_batch_size", 16, "--learning_rate", 3e-3, "--warmup_ratio", 0.1,
                    "--logging_steps", 5, "--log_dir", logs, "--report_to", "none", "--seed", 1) == 0
    res = json.loads((logs / "eval_results.json").read_text())["dev"]
    assert res["eval_accuracy"] > 0.9, res
    rows = (out / "SST-2.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 6
    assert all(r.split("\t")[1] in ("0", "1") for r in rows[1:])
    lines = [json.loads(x) for x in (logs / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in x for x in lines) and any("eval_accuracy" in x for x in lines)
    assert json.loads((logs / "args.json").read_text())["backend"] == backend
    # run_predict.py on the saved model writes the same file
    from glue.run_predict import main as predict
    assert predict(["--backend", backend, "--model_name_or_path", str(out), "--task_name", "SST-2", "--data_dir",
                    str(data), "--output_dir", str(tmp_path / "sub"), "--zip"]) == 0
    assert (tmp_path / "sub" / "SST-2.tsv").read_text() == (out / "SST-2.tsv").read_text()
    assert (tmp_path / "sub.zip").is_file()


def test_bad_inputs_exit_2(tmp_path, capsys):
    ckpt = tiny_checkpoint(tmp_path)
    assert run_glue("--model_name_or_path", ckpt, "--task_name", "XNLI", "--output_dir", tmp_path / "o",
                    "--do_train") == 2
    assert "--task_name 'XNLI'" in capsys.readouterr().err
    (tmp_path / "SST-2").mkdir()
    assert run_glue("--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", tmp_path / "SST-2",
                    "--output_dir", tmp_path / "o", "--do_train") == 2
    assert "train.tsv: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_resume_reaches_the_same_losses(tmp_path, backend):
    """Stop after a checkpoint at step 3, resume from it: steps 4-6 have the losses of an uninterrupted run."""
    data = synthetic_sst2(tmp_path / "SST-2", n_train=24, n_dev=8)
    ckpt = tiny_checkpoint(tmp_path)
    common = ["--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
              "--do_train", "--max_steps", 6, "--per_device_train_batch_size", 4, "--learning_rate", 1e-3,
              "--warmup_ratio", 0.2, "--weight_decay", 0.01, "--save_steps", 3, "--logging_steps", 1,
              "--report_to", "none"]
    assert run_glue(*common, "--output_dir", tmp_path / "full", "--log_dir", tmp_path / "l-full") == 0
    full = json.loads((tmp_path / "l-full" / "step_losses.json").read_text())
    assert len(full) == 6
    resumed_dir = tmp_path / "resumed"
    import shutil
    shutil.copytree(tmp_path / "full" / "checkpoint-3", resumed_dir / "checkpoint-3")  # what survived the kill
    assert run_glue(*common, "--output_dir", resumed_dir, "--log_dir", tmp_path / "l-res",
                    "--resume_from_checkpoint", resumed_dir / "checkpoint-3") == 0
    resumed = json.loads((tmp_path / "l-res" / "step_losses.json").read_text())
    np.testing.assert_allclose(resumed, full[3:], rtol=1e-6, atol=0)


LAUNCHERS = {  # 2 CPU processes (gloo) under each framework's launcher
    "torch": (["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29571"], {}),
    "paddle": (["-m", "paddle.distributed.launch", "--nproc_per_node", "2"], {"PADDLE_DISTRI_BACKEND": "gloo"}),
}


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_launcher_two_processes_equal_one_process(tmp_path, backend):
    """torchrun / python -m paddle.distributed.launch with 2 CPU processes (gloo), 2 rows each, equals one process
    with batch 4: per-step loss (the mean of the two shards' losses) and the final dev loss. Batches are padded to
    max_seq_length: Funnel's pooling sees padded positions, so dynamic padding would make a batch's result depend on
    how it is split."""
    import os
    import subprocess
    import sys
    data = synthetic_sst2(tmp_path / "SST-2", n_train=32, n_dev=16)
    ckpt = tiny_checkpoint(tmp_path)
    root = Path(__file__).resolve().parents[1]
    common = ["glue/run_glue.py", "--backend", backend, "--model_name_or_path", str(ckpt), "--task_name", "SST-2",
              "--data_dir", str(data), "--do_train", "--do_eval", "--max_steps", "4", "--learning_rate", "1e-3",
              "--logging_steps", "1", "--report_to", "none", "--pad_to_max_length", "--max_seq_length", "16",
              "--figure_dir", str(tmp_path / "fig")]
    one = subprocess.run([sys.executable, *common, "--output_dir", str(tmp_path / "o1"), "--log_dir",
                          str(tmp_path / "l1"), "--per_device_train_batch_size", "4"], cwd=root, capture_output=True,
                         text=True)
    assert one.returncode == 0, one.stderr[-2000:]
    launcher, env = LAUNCHERS[backend]
    if backend == "paddle":
        launcher = launcher + ["--log_dir", str(tmp_path / "launch")]
    two = subprocess.run([sys.executable, *launcher, *common, "--output_dir", str(tmp_path / "o2"), "--log_dir",
                          str(tmp_path / "l2"), "--per_device_train_batch_size", "2"], cwd=root, capture_output=True,
                         text=True, env={**os.environ, **env})
    assert two.returncode == 0, (two.stdout + two.stderr)[-2000:]
    single = np.array(json.loads((tmp_path / "l1" / "step_losses.json").read_text()))
    ranks = [np.array(json.loads((tmp_path / "l2" / f"step_losses.rank{r}.json").read_text())) for r in (0, 1)]
    np.testing.assert_allclose((ranks[0] + ranks[1]) / 2, single, rtol=1e-5, atol=0)
    assert not np.allclose(ranks[0], ranks[1])  # the two processes really saw different rows
    e1 = json.loads((tmp_path / "l1" / "eval_results.json").read_text())["dev"]["eval_loss"]
    e2 = json.loads((tmp_path / "l2" / "eval_results.json").read_text())["dev"]["eval_loss"]
    assert e2 == pytest.approx(e1, rel=1e-5)


def tiny_gau_checkpoint(tmp_path, num_labels=2):
    from parity import gau_alpha as GA
    arch = "GAUAlphaForSequenceClassification"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    kw = GA.config_kwargs(GA.TINY, arch, vocab_size=len(vocab), num_labels=num_labels, max_position_embeddings=64)
    tm, _ = GA.build_pair(kw, arch)
    d = tmp_path / "tiny-gau"
    tm.save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return d


def test_gau_alpha_two_steps_same_losses_and_predict(tmp_path):
    data = synthetic_sst2(tmp_path / "SST-2", n_train=16, n_dev=8)
    ckpt = tiny_gau_checkpoint(tmp_path)
    losses = {}
    for backend in ("torch", "paddle"):
        out = tmp_path / f"out-{backend}"
        assert run_glue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                        "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--max_steps", 2,
                        "--per_device_train_batch_size", 4, "--learning_rate", 1e-3, "--layer_lr_decay", 0.9,
                        "--weight_decay", 0.01, "--logging_steps", 1, "--log_dir", tmp_path / f"logs-{backend}",
                        "--report_to", "none") == 0
        losses[backend] = json.loads((tmp_path / f"logs-{backend}" / "step_losses.json").read_text())
        assert (out / "config.json").is_file() and (out / "SST-2.tsv").is_file()
    np.testing.assert_allclose(losses["paddle"], losses["torch"], rtol=1e-5, atol=0)


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_refine_tune_a_checkpoint_with_another_head_size(tmp_path, backend):
    """An MNLI-sized (3-label) fine-tuned checkpoint re-fine-tuned on a 2-label task: the head is re-initialised
    (HF's ignore_mismatched_sizes / the kit's allow_new_head), the body is kept."""
    data = synthetic_sst2(tmp_path / "SST-2", n_train=8, n_dev=4)
    ckpt = tiny_checkpoint(tmp_path, num_labels=3)
    out = tmp_path / "out"
    assert run_glue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                    "--output_dir", out, "--do_train", "--max_steps", 1, "--per_device_train_batch_size", 4,
                    "--log_dir", tmp_path / "logs", "--report_to", "none") == 0
    assert json.loads((out / "config.json").read_text()).get("num_labels", 2) == 2 or \
        len(json.loads((out / "config.json").read_text())["id2label"]) == 2


def test_best_model_checkpoints_follow_the_evaluations(tmp_path, capsys):
    """--load_best_model_at_end with step evaluations (HF's flags, the README's QNLI command): checkpoints are saved at
    every evaluation, the best one is reloaded; save steps that are not a multiple of eval steps: the trainers' own
    check, as one line, exit 2, nothing written."""
    data = synthetic_sst2(tmp_path / "SST-2", n_train=16, n_dev=8)
    ckpt = tiny_checkpoint(tmp_path)
    common = ["--backend", "torch", "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
              "--do_train", "--do_eval", "--max_steps", 4, "--per_device_train_batch_size", 4, "--eval_strategy",
              "steps", "--eval_steps", 2, "--save_strategy", "steps", "--load_best_model_at_end",
              "--metric_for_best_model", "accuracy", "--report_to", "none"]
    for backend in ("torch", "paddle"):
        out = tmp_path / f"out-{backend}"
        common[1] = backend
        assert run_glue(*common, "--save_steps", 2, "--output_dir", out, "--log_dir", tmp_path / f"logs-{backend}") == 0
        assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
        capsys.readouterr()
        assert run_glue(*common, "--output_dir", tmp_path / "bad", "--save_steps", 3) == 2
        assert not (tmp_path / "bad").exists() and not (tmp_path / "logs").exists()  # nothing written
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: training arguments: --load_best_model_at_end requires "
                                                   "the saving steps to be a round multiple of the evaluation "
                                                   "steps"), err

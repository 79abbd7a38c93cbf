"""A fine-tuned directory written by either backend's trainer runs on the other backend in every task script, with
the same predictions: GLUE (Funnel and GAU-alpha, run_predict.py) and SQuAD (run_squad_v1.py --do_eval)."""
import json

import numpy as np
import pytest

from test_glue import WORDS, run_glue, tiny_checkpoint, write
from test_squad_run import run_squad, synthetic_squad, tiny_qa_checkpoint

OTHER = {"torch": "paddle", "paddle": "torch"}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def stsb(root, n=12, seed=0):
    """STS-B in its raw layout: a regression task, so the leaderboard file holds each row's score (3 decimals)
    rather than a class that many models would share."""
    rng = np.random.RandomState(seed)
    words = ["good", "great", "fine", "bad", "awful", "poor", "the", "movie", "was", "plot", "a", "it"]
    h = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2", "score"]

    def row(i, score=True):
        a, b = (" ".join(rng.choice(words, size=rng.randint(2, 7))) for _ in range(2))
        return [i, "g", "f", "y", i, "s", "s", a, b] + ([round(float(rng.uniform(0, 5)), 2)] if score else [])
    write(root / "train.tsv", [row(i) for i in range(n)], header=h)
    write(root / "dev.tsv", [row(i) for i in range(4)], header=h)
    write(root / "test.tsv", [row(i, score=False) for i in range(n)], header=h[:-1])
    return root


def gau_checkpoint(tmp_path):
    """A tiny GAU-alpha regressor at trained weight scale (at init scale its CLS output hardly depends on the input)."""
    from parity import gau_alpha as GA
    arch = "GAUAlphaForSequenceClassification"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    kw = GA.config_kwargs(GA.TINY, arch, vocab_size=len(vocab), num_labels=1, max_position_embeddings=64)
    d = tmp_path / "tiny-gau"
    GA.build_torch(kw, arch, realistic=True).save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return d


@pytest.mark.parametrize("model", ["funnel", "gau_alpha"])
@pytest.mark.parametrize("trained_on", ["torch", "paddle"])
def test_glue_checkpoint_predicts_alike_on_both_backends(tmp_path, model, trained_on):
    data = stsb(tmp_path / "STS-B")
    ckpt = tiny_checkpoint(tmp_path, num_labels=1) if model == "funnel" else gau_checkpoint(tmp_path)
    out = tmp_path / "fine-tuned"
    assert run_glue("--backend", trained_on, "--model_name_or_path", ckpt, "--task_name", "STS-B", "--data_dir", data,
                    "--output_dir", out, "--do_train", "--max_steps", 2, "--per_device_train_batch_size", 4,
                    "--learning_rate", 1e-4, "--log_dir", tmp_path / "logs", "--report_to", "none") == 0
    from glue.run_predict import main as predict
    files = {}
    for backend in ("torch", "paddle"):
        sub = tmp_path / f"sub-{backend}"
        assert predict(["--backend", backend, "--model_name_or_path", str(out), "--task_name", "STS-B",
                        "--data_dir", str(data), "--output_dir", str(sub)]) == 0
        files[backend] = (sub / "STS-B.tsv").read_text().splitlines()
    values = [float(line.split("\t")[1]) for line in files[trained_on][1:]]
    assert len(values) == 12 and len(set(values)) > 6  # real per-row outputs, not one constant
    assert files[OTHER[trained_on]] == files[trained_on]


@pytest.mark.parametrize("trained_on", ["torch", "paddle"])
def test_squad_checkpoint_answers_alike_on_both_backends(tmp_path, trained_on):
    train = synthetic_squad(tmp_path / "train-v2.json", 8, 0, v2=True)
    dev = synthetic_squad(tmp_path / "dev-v2.json", 9, 1, v2=True, long=30)
    out = tmp_path / "fine-tuned"
    common = ["--version_2_with_negative", "--max_seq_length", 32, "--doc_stride", 8, "--report_to", "none"]
    assert run_squad("--backend", trained_on, "--model_name_or_path", tiny_qa_checkpoint(tmp_path), "--train_file",
                     train, "--output_dir", out, "--do_train", "--max_steps", 2, "--per_device_train_batch_size", 4,
                     "--learning_rate", 1e-2, "--log_dir", tmp_path / "logs", *common) == 0
    answers, odds = {}, {}
    for backend in ("torch", "paddle"):
        ev = tmp_path / f"eval-{backend}"
        assert run_squad("--backend", backend, "--model_name_or_path", out, "--validation_file", dev,
                         "--output_dir", ev, "--do_eval", "--log_dir", tmp_path / f"logs-{backend}", *common) == 0
        answers[backend] = json.loads((ev / "eval" / "predictions.json").read_text())
        odds[backend] = json.loads((ev / "eval" / "null_odds.json").read_text())
    assert len(answers[trained_on]) == 9 and len(set(odds[trained_on].values())) > 4
    assert answers["torch"] == answers["paddle"]
    np.testing.assert_allclose([odds["paddle"][k] for k in odds["torch"]], list(odds["torch"].values()),
                               rtol=0, atol=1e-4)

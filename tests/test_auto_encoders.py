"""Encoders the ecosystems' Auto classes load (a BERT here) run in the task scripts on both backends: transformers'
AutoModelFor... on torch, PaddleNLP's on Paddle (converted from the torch checkpoint on load); two training steps
from one checkpoint give the same losses (GLUE), and the CLUE script trains and predicts with it."""
import json

import numpy as np
import pytest

from test_glue import VOCAB, run_glue, synthetic_sst2


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def tiny_bert(tmp_path, num_labels=2):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + VOCAB[5:]
    d = tmp_path / "tiny-bert"
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=len(vocab), hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=num_labels, max_position_embeddings=64))
    model.save_pretrained(d, safe_serialization=False)
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(d)
    return d


def test_bert_two_steps_same_losses_on_both_backends(tmp_path):
    data = synthetic_sst2(tmp_path / "SST-2", n_train=16, n_dev=8)
    ckpt = tiny_bert(tmp_path)
    losses = {}
    for backend in ("torch", "paddle"):
        out = tmp_path / f"out-{backend}"
        assert run_glue("--backend", backend, "--model_name_or_path", ckpt, "--task_name", "SST-2", "--data_dir", data,
                        "--output_dir", out, "--do_train", "--do_eval", "--max_steps", 2,
                        "--per_device_train_batch_size", 4, "--learning_rate", 1e-3, "--layer_lr_decay", 0.9,
                        "--weight_decay", 0.01, "--logging_steps", 1, "--log_dir", tmp_path / f"logs-{backend}",
                        "--report_to", "none") == 0
        losses[backend] = json.loads((tmp_path / f"logs-{backend}" / "step_losses.json").read_text())
        assert (out / "config.json").is_file()
    t, p = np.array(losses["torch"]), np.array(losses["paddle"])
    assert len(t) == 2 and abs(t[1] - t[0]) > 1e-6
    np.testing.assert_allclose(p, t, rtol=1e-5, atol=0)


def test_paddle_trained_bert_runs_on_torch(tmp_path, capsys):
    """The Paddle trainer writes transformers' layout beside PaddleNLP's files (through PaddleNLP's name mapping):
    the fine-tuned BERT evaluates alike on torch and on Paddle. Without that file, torch refuses it in one line."""
    data = synthetic_sst2(tmp_path / "SST-2", n_train=8, n_dev=6)
    out = tmp_path / "out"
    assert run_glue("--backend", "paddle", "--model_name_or_path", tiny_bert(tmp_path), "--task_name", "SST-2",
                    "--data_dir", data, "--output_dir", out, "--do_train", "--max_steps", 2, "--learning_rate", 1e-2,
                    "--report_to", "none", "--log_dir", tmp_path / "l1") == 0
    assert (out / "model.safetensors").is_file() and (out / "model_state.pdparams").is_file()
    results = {}
    for backend in ("torch", "paddle"):
        assert run_glue("--backend", backend, "--model_name_or_path", out, "--task_name", "SST-2", "--data_dir", data,
                        "--output_dir", tmp_path / f"e-{backend}", "--do_eval", "--report_to", "none", "--log_dir",
                        tmp_path / f"l-{backend}") == 0
        results[backend] = json.loads((tmp_path / f"l-{backend}" / "eval_results.json").read_text())["dev"]
    assert results["torch"]["eval_loss"] == pytest.approx(results["paddle"]["eval_loss"], rel=1e-5)
    assert results["torch"]["eval_accuracy"] == results["paddle"]["eval_accuracy"]
    (out / "model.safetensors").unlink()
    capsys.readouterr()
    assert run_glue("--backend", "torch", "--model_name_or_path", out, "--task_name", "SST-2", "--data_dir", data,
                    "--output_dir", tmp_path / "o2", "--do_eval", "--report_to", "none", "--log_dir",
                    tmp_path / "l2") == 2
    assert "a Paddle-layout bert checkpoint" in capsys.readouterr().err
"""CLUENER with GlobalPointer on a BERT encoder (the seeds' bert-base-chinese recipes), on both backends: transformers'
BertModel on torch, PaddleNLP's on Paddle with the parameters mapped by PaddleNLP's own name mapping. Three steps
from one checkpoint give the same losses on both backends (both heads), and a model fine-tuned on either backend
predicts the same file on the other."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cluener import data as N
from test_cluener_run import VOCAB, run_cluener, synthetic

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def bert_checkpoint(tmp_path: Path, d: Path = None) -> Path:
    """A tiny transformers BERT saved as bert-base-chinese is (BertForMaskedLM: `bert.*` + `cls.*`), with its
    tokenizer, in `d` (default tmp_path/tiny-bert-chinese)."""
    from transformers import BertTokenizerFast

    from parity.ecosystem import SPECS
    spec = SPECS["bert"]
    kw = dict(spec.TINY, vocab_size=len(VOCAB), max_position_embeddings=512)
    import torch
    import transformers
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(transformers.BertConfig(**kw))
    d = d or tmp_path / "tiny-bert-chinese"
    model.save_pretrained(d)
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(d)
    return d


@pytest.mark.parametrize("head", ["GlobalPointer", "EfficientGlobalPointer"])
def test_bert_span_model_same_losses_on_both_backends(tmp_path, head):
    data = tmp_path / "data"
    synthetic(data / "train.json", 16, 0)
    from torch_ref.global_pointer import GlobalPointerForNER
    ckpt = tmp_path / "with-head"  # one starting point: the head initialised once, on the torch side
    model = GlobalPointerForNER.from_pretrained(bert_checkpoint(tmp_path), heads=len(N.TYPES), head_size=8,
                                                efficient=head == "EfficientGlobalPointer")
    model.save_pretrained(ckpt)
    for f in (tmp_path / "tiny-bert-chinese").glob("*token*"):
        (ckpt / f.name).write_bytes(f.read_bytes())
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
    # the Paddle run saved transformers' names in the torch layout
    cfg = json.loads((tmp_path / "o-paddle" / "config.json").read_text())
    assert cfg["model_type"] == "bert" and cfg["global_pointer"]["efficient"] == (head == "EfficientGlobalPointer")
    assert (tmp_path / "o-paddle" / "model.safetensors").is_file()


def test_bert_span_model_crosses_backends(tmp_path):
    """Fine-tuned on one backend from the pretrained (MLM) checkpoint, predicted on both: the same file."""
    data = tmp_path / "data"
    synthetic(data / "train.json", 24, 0)
    synthetic(data / "dev.json", 8, 1)
    synthetic(data / "test.json", 6, 2, test=True)
    ckpt = bert_checkpoint(tmp_path)
    for trained_on in ("paddle", "torch"):
        out = tmp_path / f"out-{trained_on}"
        assert run_cluener("--backend", trained_on, "--model_name_or_path", ckpt, "--data_dir", data,
                           "--output_dir", out, "--do_train", "--do_eval", "--do_predict", "--max_steps", 4,
                           "--per_device_train_batch_size", 8, "--learning_rate", 5e-3, "--head_size", 8,
                           "--max_seq_length", 32, "--log_dir", tmp_path / f"logs-{trained_on}",
                           "--report_to", "none") == 0
        assert json.loads((tmp_path / f"logs-{trained_on}" / "kit_run.json").read_text())["config"]["model_type"] \
            == "bert"
        for other in ("torch", "paddle"):
            r = subprocess.run([sys.executable, str(ROOT / "cluener" / "predict.py"), "test", str(out),
                                str(tmp_path / f"p-{trained_on}-{other}.json"), "--test_file", str(data / "test.json"),
                                "--backend", other, "--max_seq_length", "32"], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[-2000:]
            assert (tmp_path / f"p-{trained_on}-{other}.json").read_text() == \
                (out / "cluener_predict.json").read_text(), (trained_on, other)

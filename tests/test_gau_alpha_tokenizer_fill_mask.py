"""The GAU-α tokenizer (Chinese chars, pair token types) and the fill-mask example on a tiny random model."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_ref.gau_alpha as R
from reprokit import KitError
from tasks.tokenization import GAUAlphaTokenizer

CHARS = list("今天气很好我们去公园玩心情不错的是了")
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。", "hello", "##s"] + CHARS


@pytest.fixture()
def model_dir(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    cfg = R.GAUAlphaConfig(vocab_size=len(VOCAB), hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                           attention_key_size=16, max_position_embeddings=64, initializer_range=0.2)
    model = R.GAUAlphaForMaskedLM(cfg)
    d = tmp_path / "model"
    model.save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return d


def test_chars_pairs_and_token_types(model_dir):
    tok = GAUAlphaTokenizer.from_pretrained(model_dir)
    assert tok.tokenize("今天Hellos，好") == ["今", "天", "hello", "##s", "，", "好"]
    enc = tok("今天", "很好")
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == ["[CLS]", "今", "天", "[SEP]", "很", "好", "[SEP]"]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]
    zeros = GAUAlphaTokenizer.from_pretrained(model_dir, pair_token_types="zeros")("今天", "很好")
    assert zeros["token_type_ids"] == [0] * 7 and zeros["input_ids"] == enc["input_ids"]
    assert len(tok("今天气很好", "我们去公园玩", max_length=8)["input_ids"]) == 8
    assert tok("火")["input_ids"][1] == tok.unk_token_id


def test_bad_vocab(tmp_path):
    (tmp_path / "vocab.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(KitError, match=r"vocab.txt: special tokens missing from the vocabulary: \[PAD\]"):
        GAUAlphaTokenizer(tmp_path / "vocab.txt")
    with pytest.raises(KitError, match="vocabulary file not found"):
        GAUAlphaTokenizer(tmp_path / "nope.txt")


def load_example(name):
    """An example script as a module (examples/ is not a package: it shows what a user writes)."""
    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fill_mask_both_backends(model_dir, capsys):
    fm = load_example("gau_alpha_fill_mask")
    text = "今天[MASK]气很好，我们去[MASK]园玩。"
    outputs = {}
    for backend in ("torch", "paddle"):
        assert fm.main(["--model", str(model_dir), "--text", text, "--backend", backend]) == 0
        outputs[backend] = capsys.readouterr().out.splitlines()
    lines = outputs["torch"]
    assert lines[0] == text and len(lines) == 3
    assert all(line.startswith(f"[MASK] {n}: ") and line.count(" | ") == 4 for n, line in enumerate(lines[1:], 1))
    # same candidates in the same order on both backends; probabilities to 4 decimals
    assert outputs["torch"] == outputs["paddle"]
    # the candidates are the argsort of the model's own logits
    tok = GAUAlphaTokenizer.from_pretrained(model_dir)
    ids = fm.encode_with_masks(tok, text, 64)
    logits = fm.mlm_logits(model_dir, "torch", ids)
    pos = int(np.nonzero(ids[0] == tok.mask_token_id)[0][0])
    best = [tok.ids_to_tokens[i] for i in np.argsort(-logits[0, pos], kind="stable")[:5]]
    assert [c.split(" ")[0] for c in lines[1][len("[MASK] 1: "):].split(" | ")] == best


def test_fill_mask_errors(model_dir):
    r = subprocess.run([sys.executable, "examples/gau_alpha_fill_mask.py", "--model", str(model_dir), "--text",
                        "今天很好"], capture_output=True, text=True)
    assert r.returncode == 2 and "the text has no [MASK]" in r.stderr

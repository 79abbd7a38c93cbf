"""compare.py as a user runs it: exit codes, the JSON schema, the figure, real checkpoints (torch and Paddle
directories) with text tokenised by the checkpoint's vocabulary, and clear errors for bad input."""
import json

import pytest

from parity import report as compare
import paddlenlp_ext.funnel.modeling as FM
from parity import funnel as H
from parity import gau_alpha as G

# Funnel's tokenizer names its special tokens <pad> <unk> <cls> <sep> <mask>
VOCAB = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"] + list("abcdefghijklmnopqrstuvwxyz") + \
        ["the", "cat", "sat", "on", "mat", "dog", "ran", "##s", "."]


def run(tmp_path, *args):
    code = compare.main([*args, "--out", str(tmp_path / "logs"), "--figure", str(tmp_path / "fig"), "--name", "r"])
    report = json.loads((tmp_path / "logs" / "r.json").read_text()) if (tmp_path / "logs" / "r.json").exists() \
        else None
    return code, report


def test_clean_run_passes_and_writes_report_and_figure(tmp_path):
    code, report = run(tmp_path, "--model", "funnel", "--arch", "FunnelForMaskedLM", "--scale", "trained",
                       "--steps", "1")
    assert code == 0 and report["verdict"] == "PASS" and report["schema"] == compare.SCHEMA
    (r,) = report["runs"]
    assert r["layers"]["first_divergence"] == {"forward": None, "backward": None}
    assert {"forward_ids", "backward_ids", "train_losses", "float64_forward_ids"} <= set(r["checks"])
    cols = r["layers"]["columns"]
    assert cols[:2] == ["name", "ok"] and len(r["layers"]["forward"]) > 50
    assert (tmp_path / "fig" / "compare_funnel_r.png").stat().st_size > 10_000
    assert "| funnel | FunnelForMaskedLM | trained |" in (tmp_path / "logs" / "r.md").read_text()


def test_a_bug_fails_the_run_and_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(FM, "INF", -FM.INF)
    code, report = run(tmp_path, "--model", "funnel", "--arch", "FunnelModel", "--scale", "trained", "--steps", "0")
    assert code == 1 and report["verdict"] == "FAIL"
    first = report["runs"][0]["layers"]["first_divergence"]["forward"]
    assert first["layer"].startswith("encoder.blocks.0.0.attention.")
    assert "first forward divergence" in (tmp_path / "logs" / "r.md").read_text()


def test_no_float64_and_custom_tolerances(tmp_path):
    code, report = run(tmp_path, "--model", "gau_alpha", "--arch", "GAUAlphaModel", "--scale", "trained",
                       "--steps", "0", "--no-float64", "--fwd-max", "1e-9")
    assert code == 1  # float32 outputs differ by ~1e-7: a 1e-9 bar must fail, and no noise floor rescues it
    checks = report["runs"][0]["checks"]
    assert "float64_forward_ids" not in checks and checks["forward_ids"]["failed"] > 0
    assert report["tolerances"]["forward"]["tol_max"] == 1e-9


def _funnel_checkpoint(tmp_path):
    d = tmp_path / "hf"
    return d, H.save_tiny_checkpoint(d, "FunnelForSequenceClassification", VOCAB, realistic=True)


def test_real_torch_checkpoint_with_text(tmp_path):
    d, _ = _funnel_checkpoint(tmp_path)
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat .\na dog ran\tthe cats ran .\n\nabc\n")
    code, report = run(tmp_path, "--checkpoint", str(d), "--text", str(text))
    assert code == 0, report and report["runs"][0]
    (r,) = report["runs"]
    assert r["arch"] == "FunnelForSequenceClassification" and r["scale"] == "checkpoint"
    shapes = {t[0]: t[1] for t in r["checks"]["forward_ids"]["tensors"]}
    assert shapes["logits"] == [3, 3]  # three non-empty lines, one row each; the checkpoint's 3 labels


def test_real_paddle_checkpoint(tmp_path):
    import paddlenlp_ext.funnel as P
    d, tm = _funnel_checkpoint(tmp_path)
    pm = P.FunnelForSequenceClassification.from_pretrained(d)
    pm.save_pretrained(tmp_path / "pd")
    code, report = run(tmp_path, "--checkpoint", str(tmp_path / "pd"), "--lengths", "9,5")
    assert code == 0 and report["runs"][0]["arch"] == "FunnelForSequenceClassification"


def test_real_gau_alpha_checkpoint_with_text(tmp_path):
    arch = "GAUAlphaForMaskedLM"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("今天天气很好我们去公园玩吧")
    kw = G.config_kwargs(G.TINY, arch, vocab_size=len(vocab))
    tm, _ = G.build_pair(kw, arch, realistic=True)
    tm.save_pretrained(tmp_path / "gau")
    (tmp_path / "gau" / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    text = tmp_path / "t.txt"
    text.write_text("今天天气很好\n我们去公园玩吧\t好\n", encoding="utf-8")
    code, report = run(tmp_path, "--checkpoint", str(tmp_path / "gau"), "--text", str(text), "--steps", "0")
    assert code == 0 and report["runs"][0]["arch"] == arch


@pytest.mark.parametrize("args, message", [
    (["--config", "huge"], "--config 'huge' is not tiny"),
    (["--model", "funnel", "--arch", "BertModel"], "--arch 'BertModel' is not one of"),
    (["--text", "x.txt"], "--text needs --checkpoint"),
    (["--model", "funnel", "--lengths", "4,x"], "comma-separated integers"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    code, report = run(tmp_path, *args)
    assert code == 2 and report is None
    assert message in capsys.readouterr().err


def test_bad_checkpoint_and_text_exit_2(tmp_path, capsys):
    d, _ = _funnel_checkpoint(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    assert run(tmp_path, "--checkpoint", str(bad))[0] == 2
    assert "model_type 'gpt2'" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert run(tmp_path, "--checkpoint", str(d), "--text", str(empty))[0] == 2
    assert "empty.txt: no text" in capsys.readouterr().err
    three = tmp_path / "three.txt"
    three.write_text("a\tb\tc\n")
    assert run(tmp_path, "--checkpoint", str(d), "--text", str(three))[0] == 2
    assert "three.txt, line 1: 3 tab-separated fields" in capsys.readouterr().err
    assert not (tmp_path / "logs" / "r.json").exists()

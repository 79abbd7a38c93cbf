"""convert.py: every class of both models, torch -> paddle -> torch bit-identical, converted models give the source's
outputs, and bad input fails cleanly with DST untouched."""
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
import torch
from safetensors.numpy import load_file

import paddlenlp_ext.funnel as PF
import paddlenlp_ext.gau_alpha as PA
import torch_ref.funnel as TF
import torch_ref.gau_alpha as RA
from parity import funnel as H
from reprokit import KitError
from reprokit.convert import convert
from reprokit.funnel_table import ARCHITECTURES as FUNNEL_ARCHS
from reprokit.gau_alpha_table import ARCHITECTURES as GAU_ARCHS

GAU = dict(vocab_size=60, hidden_size=32, intermediate_size=48, num_hidden_layers=2, attention_key_size=16,
           max_position_embeddings=32, num_labels=3)
IDS = np.random.RandomState(0).randint(1, 60, (2, 9)).astype("int64")


def save_torch(model_type, arch, path):
    torch.manual_seed(0)
    if model_type == "funnel":
        model = TF.CLASSES[arch](TF.FunnelConfig(**H.config_kwargs(H.TINY, arch))).eval()
    else:
        model = getattr(RA, arch)(RA.GAUAlphaConfig(**GAU)).eval()
    model.save_pretrained(path)
    (path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    return model


def first(out):
    for k in ("logits", "start_logits", "last_hidden_state"):
        if k in out and out[k] is not None:
            return out[k]


CASES = [("funnel", a) for a in FUNNEL_ARCHS] + [("gau_alpha", a) for a in GAU_ARCHS]


@pytest.mark.parametrize("model_type,arch", CASES)
def test_roundtrip_is_bit_identical_and_outputs_equal(tmp_path, model_type, arch):
    tm = save_torch(model_type, arch, tmp_path / "torch")
    convert(tmp_path / "torch", tmp_path / "paddle")
    convert(tmp_path / "paddle", tmp_path / "back")
    a, b = load_file(str(tmp_path / "torch" / "model.safetensors")), load_file(str(tmp_path / "back" /
                                                                                   "model.safetensors"))
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
    assert (tmp_path / "paddle" / "vocab.txt").is_file() and (tmp_path / "back" / "config.json").is_file()
    manifest = json.loads((tmp_path / "paddle" / "kit_manifest.json").read_text())
    assert manifest["class"] == arch and manifest["source_layout"] == "torch" and manifest["source_files"]
    assert any(m["transpose"] for m in manifest["mapping"])
    ids = IDS[None].repeat(2, 0) if arch.endswith("MultipleChoice") else IDS
    cls = getattr(PF if model_type == "funnel" else PA, arch)
    pm = cls.from_pretrained(tmp_path / "paddle")
    with torch.no_grad():
        ref = first(tm(torch.tensor(ids)))
    got = first(pm(paddle.to_tensor(ids)))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-5, rtol=0)


def test_class_is_detected_from_key_names(tmp_path):
    save_torch("funnel", "FunnelForQuestionAnswering", tmp_path / "t")
    cfg = json.loads((tmp_path / "t" / "config.json").read_text())
    cfg.pop("architectures")
    (tmp_path / "t" / "config.json").write_text(json.dumps(cfg))
    convert(tmp_path / "t", tmp_path / "p", paddle_format="safetensors")
    assert json.loads((tmp_path / "p" / "kit_manifest.json").read_text())["class"] == "FunnelForQuestionAnswering"
    PF.FunnelForQuestionAnswering.from_pretrained(tmp_path / "p")  # paddle-layout safetensors load too


def test_cli_errors_leave_nothing(tmp_path):
    save_torch("funnel", "FunnelModel", tmp_path / "t")
    run = lambda *a: subprocess.run([sys.executable, "convert.py", *map(str, a)], capture_output=True, text=True)  # noqa
    (tmp_path / "exists").mkdir()
    r = run(tmp_path / "t", tmp_path / "exists")
    assert r.returncode == 2 and "already exists" in r.stderr and os.listdir(tmp_path / "exists") == []
    w = tmp_path / "t" / "model.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 3])
    r = run(tmp_path / "t", tmp_path / "out")
    assert r.returncode == 2 and "model.safetensors: truncated: tensor " in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["exists", "t"]  # no DST, no temporary folder left
    w.write_bytes(data)
    cfg = json.loads((tmp_path / "t" / "config.json").read_text())
    (tmp_path / "t" / "config.json").write_text(json.dumps(dict(cfg, model_type="bert")))
    r = run(tmp_path / "t", tmp_path / "out")
    assert r.returncode == 2 and "model_type 'bert' is not one of" in r.stderr
    (tmp_path / "t" / "config.json").write_text(json.dumps(cfg))
    r = run(tmp_path / "t", tmp_path / "out")
    assert r.returncode == 0 and (tmp_path / "out" / "model_state.pdparams").is_file()


def test_unknown_key_is_named(tmp_path):
    from safetensors.numpy import save_file
    save_torch("gau_alpha", "GAUAlphaModel", tmp_path / "t")
    state = load_file(str(tmp_path / "t" / "model.safetensors"))
    state["pooler.dense.weight"] = np.zeros((2, 2), "float32")
    save_file(state, str(tmp_path / "t" / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(KitError, match="unexpected keys: pooler.dense.weight"):
        convert(tmp_path / "t", tmp_path / "o", arch="GAUAlphaModel")
    assert not (tmp_path / "o").exists()


# ---- streaming safetensors path: bfloat16, truncation, hashes ----------------------------------------------------
def _hf_dir(tmp_path, arch="FunnelForQuestionAnswering"):
    kw = H.config_kwargs(H.TINY, arch)
    tm, _ = H.build_pair(kw, arch, realistic=True)
    tm.save_pretrained(tmp_path / "hf")
    return tmp_path / "hf", tm


def test_bfloat16_kept_bit_exact_both_ways(tmp_path):
    from reprokit.safetensors_io import Reader
    src, tm = _hf_dir(tmp_path)
    convert(src, tmp_path / "bf16", to="torch", dtype="bfloat16")  # torch -> torch, cast once
    bf = Reader(tmp_path / "bf16" / "model.safetensors")
    assert {bf.dtype(k) for k in bf.keys()} == {"BF16"}
    w = tm.state_dict()["funnel.encoder.blocks.0.0.attention.q_head.weight"]
    want = w.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)  # torch's own rounding
    np.testing.assert_array_equal(bf.read("funnel.encoder.blocks.0.0.attention.q_head.weight"), want)
    convert(tmp_path / "bf16", tmp_path / "pd", to="paddle", paddle_format="safetensors")
    convert(tmp_path / "pd", tmp_path / "back", to="torch")
    back = Reader(tmp_path / "back" / "model.safetensors")
    for k in bf.keys():
        assert back.dtype(k) == "BF16"
        np.testing.assert_array_equal(back.read(k), bf.read(k))
    pd = Reader(tmp_path / "pd" / "model.safetensors")
    np.testing.assert_array_equal(pd.read("funnel.encoder.blocks.0.0.attention.q_head.weight"), want.T)


def test_streamed_manifest_hashes_are_the_files_hashes(tmp_path):
    from reprokit.files import sha256_file
    src, _ = _hf_dir(tmp_path)
    out = convert(src, tmp_path / "pd", to="paddle", paddle_format="safetensors")
    manifest = json.loads((out / "kit_manifest.json").read_text())
    assert manifest["streamed"] is True
    assert manifest["source_files"] == {"model.safetensors": sha256_file(src / "model.safetensors")}
    assert manifest["files"]["model.safetensors"] == sha256_file(out / "model.safetensors")


@pytest.mark.parametrize("cut", [4, 100, -10])
def test_truncated_safetensors_is_refused_and_nothing_written(tmp_path, cut):
    src, _ = _hf_dir(tmp_path)
    data = (src / "model.safetensors").read_bytes()
    (src / "model.safetensors").write_bytes(data[:cut] if cut > 0 else data[:cut])
    with pytest.raises(KitError, match=r"model\.safetensors: (truncated|corrupt)"):
        convert(src, tmp_path / "pd", to="paddle", paddle_format="safetensors")
    assert not (tmp_path / "pd").exists() and not list(tmp_path.glob(".pd.tmp-*"))


def test_bfloat16_to_pdparams_is_refused(tmp_path):
    src, _ = _hf_dir(tmp_path)
    with pytest.raises(KitError, match="bfloat16 needs safetensors"):
        convert(src, tmp_path / "pd", to="paddle", dtype="bfloat16")


def test_paddlenlp_gau_alpha_mlm_checkpoint(tmp_path):
    """PaddleNLP 2.8.1's GAUAlphaForMaskedLM stores the tied decoder as cls.decoder_weight (and its own config names):
    convert.py reads it, and the torch reference then equals PaddleNLP's model on batch item 0 (PaddleNLP's GAULayer
    is wrong past item 0, see test_gau_alpha_parity.py)."""
    import torch_ref.gau_alpha as R
    from paddlenlp.transformers.gau_alpha.modeling import GAUAlphaConfig as PNConfig
    from paddlenlp.transformers.gau_alpha.modeling import GAUAlphaForMaskedLM as PNMLM
    paddle.seed(0)
    theirs = PNMLM(PNConfig(vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                            attention_key_size=16, max_position_embeddings=32, hidden_dropout_prob=0.0,
                            attention_probs_dropout_prob=0.0, normalization="softmax"))
    theirs.eval()
    assert "cls.decoder_weight" in theirs.state_dict()
    theirs.save_pretrained(str(tmp_path / "pn"))
    with pytest.raises(KitError, match="pickle"):  # not written by the kit: a pickle needs the explicit flag
        convert(tmp_path / "pn", tmp_path / "hf", to="torch")
    out = convert(tmp_path / "pn", tmp_path / "hf", to="torch", arch="GAUAlphaForMaskedLM", trust_pickle=True)
    tm = R.GAUAlphaForMaskedLM.from_pretrained(out).eval()
    ids = np.random.RandomState(0).randint(1, 40, size=(2, 9)).astype("int64")
    with torch.no_grad():
        ref = tm(torch.tensor(ids))["logits"].numpy()
    got = theirs(paddle.to_tensor(ids))
    got = (got[0] if isinstance(got, (tuple, list)) else got).numpy()
    np.testing.assert_allclose(ref[0], got[0], atol=1e-5, rtol=0)
    import paddlenlp_ext.gau_alpha as PG  # the Paddle port reads PaddleNLP's directory directly too
    ours = PG.GAUAlphaForMaskedLM.from_pretrained(tmp_path / "pn", trust_pickle=True)
    ours.eval()
    assert ours.config.hidden_act == "swish"  # PaddleNLP's `activation`, not its config's unrelated hidden_act
    np.testing.assert_allclose(ours(paddle.to_tensor(ids))["logits"].numpy(), ref, atol=1e-5, rtol=0)
    # an untied decoder cannot be represented by a class that ties it: refused, naming the keys
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    state["cls.decoder_weight"] = state["cls.decoder_weight"] + 1
    paddle.save(state, str(tmp_path / "pn" / "model_state.pdparams"))
    with pytest.raises(KitError, match="cls.decoder_weight differs from gau_alpha.embeddings.word_embeddings.weight"):
        convert(tmp_path / "pn", tmp_path / "hf2", to="torch", arch="GAUAlphaForMaskedLM", trust_pickle=True)

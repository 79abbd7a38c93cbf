"""from_pretrained / save_pretrained: HF directories in every weight format, native Paddle directories that PaddleNLP's
own classes load, PaddleNLP's Auto classes, and strict errors for every kind of bad checkpoint."""
import json
import os

import numpy as np
import paddle
import pytest
import torch
from safetensors.numpy import load_file, save_file

import paddlenlp_ext  # noqa: F401  (registers the Auto classes)
import paddlenlp_ext.funnel as P
import torch_ref.funnel as T
from parity import funnel as H
from reprokit import KitError

IDS = np.random.RandomState(0).randint(5, 64, (2, 9)).astype("int64")


def hf_model(arch, **overrides):
    torch.manual_seed(0)
    return T.CLASSES[arch](T.FunnelConfig(**H.config_kwargs(H.TINY, arch, **overrides))).eval()


def first_output(model, framework):
    ids = torch.tensor(IDS) if framework == "torch" else paddle.to_tensor(IDS)
    out = model(ids, return_dict=True)
    value = out[0] if not hasattr(out, "start_logits") else out.start_logits
    return value.detach().numpy() if framework == "torch" else value.numpy()


@pytest.mark.parametrize("fmt", ["safetensors", "bin", "sharded"])
@pytest.mark.parametrize("arch", ["FunnelModel", "FunnelForMaskedLM", "FunnelForQuestionAnswering"])
def test_loads_hf_directories(tmp_path, arch, fmt):
    tm = hf_model(arch)
    kwargs = {"bin": dict(safe_serialization=False), "sharded": dict(max_shard_size="50KB")}.get(fmt, {})
    tm.save_pretrained(tmp_path, **kwargs)
    if fmt == "sharded":
        assert (tmp_path / "model.safetensors.index.json").is_file()
    pm = getattr(P, arch).from_pretrained(tmp_path)
    np.testing.assert_allclose(first_output(pm, "paddle"), first_output(tm, "torch"), atol=1e-5, rtol=0)


def test_native_roundtrip_and_paddlenlp_loads_it(tmp_path):
    from paddlenlp.transformers import FunnelModel as PaddleNLPFunnelModel
    tm = hf_model("FunnelModel")
    tm.save_pretrained(tmp_path / "hf")
    pm = P.FunnelModel.from_pretrained(tmp_path / "hf")
    pm.save_pretrained(tmp_path / "native")
    assert sorted(os.listdir(tmp_path / "native")) == ["config.json", "kit_manifest.json", "model_state.pdparams"]
    again = P.FunnelModel.from_pretrained(tmp_path / "native")
    for (k, a), b in zip(pm.state_dict().items(), again.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    theirs = PaddleNLPFunnelModel.from_pretrained(str(tmp_path / "native"))
    theirs.eval()
    out = theirs(paddle.to_tensor(IDS), return_dict=True).last_hidden_state.numpy()
    np.testing.assert_allclose(out, first_output(tm, "torch"), atol=1e-5, rtol=0)


def test_auto_classes_resolve_to_the_port(tmp_path):
    from paddlenlp.transformers import AutoModel, AutoModelForQuestionAnswering, AutoModelForSequenceClassification
    hf_model("FunnelModel").save_pretrained(tmp_path)
    assert type(AutoModel.from_pretrained(str(tmp_path))) is P.FunnelModel
    qa = AutoModelForQuestionAnswering.from_pretrained(str(tmp_path), allow_new_head=True)
    assert type(qa) is P.FunnelForQuestionAnswering
    sc = AutoModelForSequenceClassification.from_pretrained(str(tmp_path), allow_new_head=True, num_labels=4)
    assert type(sc) is P.FunnelForSequenceClassification and sc.classifier.linear_out.weight.shape == [32, 4]


def test_other_model_types_still_go_to_paddlenlp(tmp_path):
    from paddlenlp.transformers import AutoModel, BertConfig, BertModel
    BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(str(tmp_path))
    assert type(AutoModel.from_pretrained(str(tmp_path))).__module__.startswith("paddlenlp.transformers.bert")


def test_body_checkpoint_into_a_head_needs_opt_in(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path)
    with pytest.raises(KitError, match=r"missing keys: qa_outputs.weight, qa_outputs.bias.*allow_new_head"):
        P.FunnelForQuestionAnswering.from_pretrained(tmp_path)
    qa = P.FunnelForQuestionAnswering.from_pretrained(tmp_path, allow_new_head=True)
    body = P.FunnelModel.from_pretrained(tmp_path)
    np.testing.assert_array_equal(qa.funnel.embeddings.word_embeddings.weight.numpy(),
                                  body.embeddings.word_embeddings.weight.numpy())


def test_different_num_labels_needs_opt_in(tmp_path):
    hf_model("FunnelForSequenceClassification", num_labels=3).save_pretrained(tmp_path)
    with pytest.raises(KitError, match=r"mis-shaped keys: classifier.linear_out.weight \(3, 32\) vs \(5, 32\)"):
        P.FunnelForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    model = P.FunnelForSequenceClassification.from_pretrained(tmp_path, num_labels=5, allow_new_head=True)
    assert model.classifier.linear_out.weight.shape == [32, 5]


def test_unused_decoder_is_fine_missing_decoder_is_not(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path / "full")
    P.FunnelBaseModel.from_pretrained(tmp_path / "full")  # the decoder is simply not used
    hf_model("FunnelBaseModel").save_pretrained(tmp_path / "base")
    with pytest.raises(KitError, match="missing keys: decoder.layers.0"):
        P.FunnelModel.from_pretrained(tmp_path / "base", allow_new_head=True)  # a body key is never a new head


def _edit_safetensors(path, edit):
    state = load_file(str(path))
    edit(state)
    save_file(state, str(path), metadata={"format": "pt"})


def test_unexpected_key_is_named(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path)
    _edit_safetensors(tmp_path / "model.safetensors", lambda s: s.update({"bert.pooler.dense.weight": np.zeros(2)}))
    with pytest.raises(KitError, match=r"model.safetensors: unexpected keys: bert.pooler.dense.weight"):
        P.FunnelModel.from_pretrained(tmp_path)


def test_misshaped_body_key_is_named(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path)
    key = "encoder.blocks.0.0.attention.q_head.weight"
    _edit_safetensors(tmp_path / "model.safetensors", lambda s: s.update({key: s[key].T.copy()}))
    # a square weight transposed has the same shape: the table cannot see that, but this one is 32x32 ->
    # use the non-square linear_1 for the shape error
    key = "encoder.blocks.0.0.ffn.linear_1.weight"
    _edit_safetensors(tmp_path / "model.safetensors", lambda s: s.update({key: s[key].T.copy()}))
    with pytest.raises(KitError, match=r"mis-shaped keys: encoder.blocks.0.0.ffn.linear_1.weight \(32, 48\) vs "
                                       r"\(48, 32\)"):
        P.FunnelModel.from_pretrained(tmp_path)


def test_truncated_weights_wrong_type_missing_config(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path / "t")
    path = tmp_path / "t" / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(KitError, match=r"model.safetensors: truncated: tensor \S+ ends at byte"):
        P.FunnelModel.from_pretrained(tmp_path / "t")
    hf_model("FunnelModel").save_pretrained(tmp_path / "w")
    cfg = json.loads((tmp_path / "w" / "config.json").read_text())
    cfg["model_type"] = "bert"
    (tmp_path / "w" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(KitError, match=r"config.json: model_type is 'bert', expected 'funnel'"):
        P.FunnelModel.from_pretrained(tmp_path / "w")
    (tmp_path / "w" / "config.json").unlink()
    with pytest.raises(KitError, match="config.json: file not found"):
        P.FunnelModel.from_pretrained(tmp_path / "w")


def test_pickles_need_the_manifest_or_trust(tmp_path):
    hf_model("FunnelModel").save_pretrained(tmp_path / "hf")
    P.FunnelModel.from_pretrained(tmp_path / "hf").save_pretrained(tmp_path / "native")
    (tmp_path / "native" / "kit_manifest.json").rename(tmp_path / "manifest.bak")
    with pytest.raises(KitError, match="a pickle from an unknown source; pass trust_pickle=True"):
        P.FunnelModel.from_pretrained(tmp_path / "native")
    P.FunnelModel.from_pretrained(tmp_path / "native", trust_pickle=True)
    (tmp_path / "manifest.bak").rename(tmp_path / "native" / "kit_manifest.json")
    weights = tmp_path / "native" / "model_state.pdparams"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(KitError, match="does not match the manifest"):
        P.FunnelModel.from_pretrained(tmp_path / "native")


def test_failed_save_leaves_destination_untouched(tmp_path, monkeypatch):
    model = P.FunnelModel(P.FunnelConfig(**H.TINY))
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "keep.txt").write_text("old")

    def broken_save(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(paddle, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        model.save_pretrained(tmp_path / "dst")
    with pytest.raises(OSError):
        model.save_pretrained(tmp_path / "new")
    assert sorted(os.listdir(tmp_path)) == ["dst"]
    assert os.listdir(tmp_path / "dst") == ["keep.txt"]


def test_released_config_json_with_stale_keys(tmp_path):
    """A hub config.json as released: stale rel_attn_type, unused max_position_embeddings / type_vocab_size."""
    cfg = dict(H.TINY, model_type="funnel", architectures=["FunnelModel"], rel_attn_type="factorized",
               max_position_embeddings=512, type_vocab_size=3, attention_type="relative_shift")
    torch.manual_seed(0)
    tm = T.FunnelModel(T.FunnelConfig(**H.TINY)).eval()
    tm.save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    pm = P.FunnelModel.from_pretrained(tmp_path)
    assert pm.config.attention_type == "relative_shift" and pm.config.rel_attn_type == "factorized"
    np.testing.assert_allclose(first_output(pm, "paddle"), first_output(tm, "torch"), atol=1e-5, rtol=0)
    pm.save_pretrained(tmp_path / "native")
    saved = json.loads((tmp_path / "native" / "config.json").read_text())
    assert saved["rel_attn_type"] == "factorized" and saved["max_position_embeddings"] == 512  # kept, unused

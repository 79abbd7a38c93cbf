"""The kit's classes are citizens of their ecosystems (issue 22): the Paddle ports are PaddleNLP PretrainedModels
(resize_token_embeddings, get/set_input_embeddings, inputs_embeds, pretrained names, Auto classes, recompute), the
torch GAU-alpha is a transformers PreTrainedModel (tests/test_gau_alpha_transformers.py, torch only). These are the behaviours PaddleNLP's own model tests check (its
ModelTesterMixin: test_resize_tokens_embeddings, test_inputs_embeds, test_model_name_list, test_save_load, ...),
proven here on the kit's classes without PaddleNLP's test files."""
import numpy as np
import pytest

import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)
import paddle
import torch

import paddlenlp_ext.funnel as PF
import paddlenlp_ext.gau_alpha as PG
import torch_ref.gau_alpha as RG  # noqa: F401
from parity import funnel as FH
from parity import gau_alpha as GH

TOL = dict(rtol=1e-5, atol=1e-5)  # one model, two ways of feeding it: float32 rounding only
EMBED_TOL = dict(rtol=1e-4, atol=1e-4)  # PaddleNLP's _compare_tensor for inputs_embeds


def paddle_model(arch, **over):
    paddle.seed(0)
    if arch.startswith("Funnel"):
        return getattr(PF, arch)(PF.FunnelConfig(**FH.config_kwargs(FH.TINY, arch, **over)))
    return getattr(PG, arch)(PG.GAUAlphaConfig(**GH.config_kwargs(GH.TINY, arch, **over)))


def ids_for(arch, vocab, batch=3, length=9, seed=0):
    rng = np.random.default_rng(seed)
    shape = [batch, 2, length] if arch.endswith("MultipleChoice") else [batch, length]
    ids = rng.integers(1, vocab, shape)
    mask = np.ones(shape, dtype="int64")
    mask[0, ..., -3:] = 0
    return ids, mask


def first_tensor(out):
    return next(v for v in out.values() if v is not None) if hasattr(out, "values") else out[0]


PADDLE_ARCHS = [c.__name__ for c in PF.ALL_CLASSES] + [c.__name__ for c in PG.ALL_CLASSES]


# ---- Paddle: PaddleNLP's PretrainedModel API ------------------------------------------------------------------------
def test_paddle_classes_are_paddlenlp_pretrained_models():
    from paddlenlp.transformers import PretrainedConfig, PretrainedModel
    for arch in PADDLE_ARCHS:
        cls = getattr(PF if arch.startswith("Funnel") else PG, arch)
        assert issubclass(cls, PretrainedModel) and issubclass(cls.config_class, PretrainedConfig), arch
        assert cls.constructed_from_pretrained_config(), arch
    assert PG.GAUAlphaPretrainedModel is PG.GAUAlphaPreTrainedModel  # PaddleNLP's spelling
    assert PF.FunnelPretrainedModel is PF.FunnelPreTrainedModel
    # pretrained names: the registry's, the same names from_pretrained resolves (artifacts.names)
    funnel_names = paddle_model("FunnelModel").model_name_list
    assert "funnel-transformer/xlarge" in funnel_names and "funnel-transformer/small-base" in funnel_names
    assert PF.FunnelModel.pretrained_init_configuration["funnel-transformer/medium"]["block_repeats"] == [1, 2, 2]
    gau = PG.GAUAlphaModel.pretrained_init_configuration
    assert {"junnyu/chinese_GAU-alpha-char_L-24_H-768", "chinese_GAU-alpha-char_L-24_H-768"} <= set(gau)
    assert all(c["model_type"] == "gau_alpha" for c in gau.values())
    full = PG.GAUAlphaConfig(**gau["chinese_GAU-alpha-char_L-24_H-768"])
    assert (full.num_hidden_layers, full.hidden_size, full.vocab_size) == (24, 768, 12000)


@pytest.mark.parametrize("arch", PADDLE_ARCHS)
def test_paddle_resize_token_embeddings(arch, tmp_path):
    model = paddle_model(arch)
    model.eval()
    vocab = model.config.vocab_size
    before = model.get_input_embeddings().weight.numpy().copy()
    for new in (vocab + 10, vocab - 15):
        emb = model.resize_token_embeddings(new)
        assert emb is model.get_input_embeddings() and emb.weight.shape == [new, before.shape[1]]
        assert model.config.vocab_size == new == model.base_model.config["vocab_size"]
        n = min(new, vocab)
        np.testing.assert_array_equal(emb.weight.numpy()[:n], before[:n])  # kept rows unchanged
        head = model.get_output_embeddings()
        if head is not None:  # the tied MLM decoder follows the embedding, its bias the vocabulary
            assert head.weight is emb.weight
            if getattr(head, "bias", None) is not None:
                assert head.bias.shape == [new]
        ids, mask = ids_for(arch, n)
        out = model(input_ids=paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask))
        if "MaskedLM" in arch:
            assert out.logits.shape[-1] == new
    # the resized model saves and loads as itself
    model.save_pretrained(tmp_path / "m")
    again = type(model).from_pretrained(tmp_path / "m")
    assert again.config.vocab_size == vocab - 15
    ids, mask = ids_for(arch, vocab - 15)
    with paddle.no_grad():
        a = first_tensor(model(input_ids=paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask)))
        b = first_tensor(again(input_ids=paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask)))
    np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)


@pytest.mark.parametrize("arch", [c.__name__ for c in PG.ALL_CLASSES] + ["FunnelModel", "FunnelForMultipleChoice"])
def test_paddle_inputs_embeds_equal_input_ids(arch):
    model = paddle_model(arch)
    model.eval()
    ids, mask = ids_for(arch, model.config.vocab_size)
    mask_t = paddle.to_tensor(mask)
    with paddle.no_grad():
        by_ids = model(input_ids=paddle.to_tensor(ids), attention_mask=mask_t)
        embeds = model.get_input_embeddings()(paddle.to_tensor(ids))
        by_embeds = model(inputs_embeds=embeds, attention_mask=mask_t)
    keys = [k for k, v in by_ids.items() if v is not None]
    assert keys == [k for k, v in by_embeds.items() if v is not None]
    for k in keys:
        np.testing.assert_allclose(by_ids[k].numpy(), by_embeds[k].numpy(), **EMBED_TOL, err_msg=k)
    with pytest.raises(ValueError):
        model(input_ids=paddle.to_tensor(ids), inputs_embeds=embeds)


def test_paddle_set_input_embeddings():
    model = paddle_model("GAUAlphaForSequenceClassification")
    new = paddle.nn.Embedding(model.config.vocab_size, model.config.hidden_size)
    model.set_input_embeddings(new)
    assert model.get_input_embeddings() is new and model.gau_alpha.embeddings.word_embeddings is new


@pytest.mark.parametrize("arch", ["FunnelForSequenceClassification", "FunnelForMaskedLM",
                                  "GAUAlphaForSequenceClassification", "GAUAlphaForMaskedLM"])
def test_paddle_recompute_same_loss_and_gradients(arch, monkeypatch):
    """recompute_enable() (what PaddleNLP's Trainer --recompute does): the loss and every gradient equal the run
    without it, dropout included (the RNG state is replayed)."""
    model = paddle_model(arch, hidden_dropout=0.1, hidden_dropout_prob=0.1)
    model.train()
    ids, mask = ids_for(arch, model.config.vocab_size)
    labels = ids if "MaskedLM" in arch else np.array([0, 1, 1])
    results, calls = [], []
    layer_cls = PF.modeling.FunnelLayer if arch.startswith("Funnel") else PG.modeling.GAULayer
    forward = layer_cls.forward  # counted by wrapping forward (hooks may not run when a layer is recomputed)

    def counted(self, *a, **k):
        calls.append(1)
        return forward(self, *a, **k)
    monkeypatch.setattr(layer_cls, "forward", counted)
    for on in (False, True):
        calls.clear()
        (model.recompute_enable if on else model.recompute_disable)()
        switches = [l.enable_recompute for l in model.sublayers() if hasattr(l, "enable_recompute")]
        assert switches and all(s is on for s in switches)
        model.clear_gradients()
        paddle.seed(7)
        out = model(input_ids=paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask),
                    labels=paddle.to_tensor(labels))
        out.loss.backward()
        results.append((float(out.loss), {n: p.grad.numpy().copy() for n, p in model.named_parameters()
                                          if p.grad is not None}, len(calls)))
    (loss0, g0, n0), (loss1, g1, n1) = results
    assert n1 == 2 * n0 > 0  # with recompute every layer ran again in the backward pass
    assert loss0 == pytest.approx(loss1, rel=1e-6)
    assert g0.keys() == g1.keys() and len(g0) >= 8
    for n in g0:
        np.testing.assert_allclose(g0[n], g1[n], rtol=1e-5, atol=1e-7, err_msg=n)


def test_paddlenlp_auto_classes_load_kit_directories(tmp_path):
    from paddlenlp.transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
    for arch, auto in (("GAUAlphaForMaskedLM", AutoModelForMaskedLM), ("FunnelModel", AutoModel),
                       ("GAUAlphaForSequenceClassification", AutoModelForSequenceClassification)):
        model = paddle_model(arch)
        model.save_pretrained(tmp_path / arch)
        loaded = auto.from_pretrained(str(tmp_path / arch))
        assert type(loaded) is type(model), arch


def test_paddle_written_gau_alpha_loads_in_transformers_auto_class(tmp_path):
    """A Paddle-written directory loads through transformers' AutoModelForMaskedLM (the kit's table decides the
    layout) and gives the Paddle model's logits."""
    import transformers as T
    import torch_ref  # noqa: F401  (registers the Auto classes)
    pm = paddle_model("GAUAlphaForMaskedLM")
    pm.save_pretrained(tmp_path / "paddle")
    ids = np.random.default_rng(0).integers(5, pm.config.vocab_size, (2, 7))
    from_paddle = T.AutoModelForMaskedLM.from_pretrained(tmp_path / "paddle")
    assert type(from_paddle) is RG.GAUAlphaForMaskedLM
    with torch.no_grad():
        got = from_paddle(torch.tensor(ids)).logits.numpy()
    with paddle.no_grad():
        np.testing.assert_allclose(got, pm.eval()(paddle.to_tensor(ids)).logits.numpy(), rtol=1e-4, atol=1e-5)

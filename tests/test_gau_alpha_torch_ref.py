"""The kit's torch GAU-α (independent of the transformers version) equals the `gau-alpha` package (0.0.3): forward and
every gradient, all three normalisations, padded batches with a length-1 row, use_bias on and off; plus the
softmax_plus variants."""
import numpy as np
import pytest
import torch

import torch_ref.gau_alpha as R

# the package is a test requirement (requirements.txt): a missing one is an error here, never a skip
import gau_alpha.modeling_gau_alpha as gau_pkg  # noqa: E402  (needs transformers < 4.53)

TINY = dict(vocab_size=60, hidden_size=32, intermediate_size=48, num_hidden_layers=2, attention_key_size=16,
            max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            classifier_dropout=0.0, summary_type="first")  # the package reads summary_type from the config


def batch(lengths=(9, 4, 1), seed=0):
    rng = np.random.RandomState(seed)
    L = max(lengths)
    ids = rng.randint(1, TINY["vocab_size"], size=(len(lengths), L))
    ids[np.arange(L)[None, :] >= np.asarray(lengths)[:, None]] = 0  # pad id 0: the default mask is ids != 0
    tt = np.zeros_like(ids)
    tt[:, L // 2:] = 1
    return torch.tensor(ids), torch.tensor(tt)


def pair(arch, **overrides):
    kw = dict(TINY, **overrides)
    torch.manual_seed(0)
    theirs = getattr(gau_pkg, arch)(gau_pkg.GAUAlphaConfig(**kw)).train()
    ours = getattr(R, arch)(R.GAUAlphaConfig(**kw)).train()
    state = theirs.state_dict()
    with torch.no_grad():
        for name, p in ours.state_dict().items():
            p.copy_(state[name] * 2.0 if name.endswith("dense.weight") else state[name])  # trained-scale Linears
        for name, p in theirs.state_dict().items():
            p.copy_(ours.state_dict()[name])
    return theirs, ours


HEAD_OUTPUTS = {"GAUAlphaModel": ["last_hidden_state"], "GAUAlphaForQuestionAnswering":
                ["loss", "start_logits", "end_logits"]}


def labels_for(arch, ids):
    rng = np.random.RandomState(3)
    B, L = ids.shape[0], ids.shape[-1]
    if arch == "GAUAlphaForMaskedLM":
        return {"labels": torch.where(ids > 0, ids, torch.full_like(ids, -100))}
    if arch == "GAUAlphaForSequenceClassification":
        return {"labels": torch.tensor(rng.randint(0, 2, size=B))}
    if arch == "GAUAlphaForMultipleChoice":
        return {"labels": torch.tensor(rng.randint(0, ids.shape[1], size=B))}
    if arch == "GAUAlphaForTokenClassification":
        return {"labels": torch.where(ids > 0, torch.tensor(rng.randint(0, 2, size=ids.shape)), -100)}
    if arch == "GAUAlphaForQuestionAnswering":
        return {"start_positions": torch.tensor(rng.randint(0, L, size=B)),
                "end_positions": torch.tensor([L + 2] + list(rng.randint(0, L, size=B - 1)))}
    return {}


@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("normalization", list(R.NORMALIZATIONS))
@pytest.mark.parametrize("arch", R.ARCHITECTURES)
def test_equals_the_package(arch, normalization, use_bias):
    theirs, ours = pair(arch, normalization=normalization, use_bias=use_bias)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ids, tt = batch()
    if arch == "GAUAlphaForMultipleChoice":
        ids, tt = ids.reshape(1, 3, -1), tt.reshape(1, 3, -1)
    kwargs = dict(token_type_ids=tt, output_hidden_states=True, output_attentions=True, **labels_for(arch, ids))
    out_t, out_o = theirs(ids, **kwargs), ours(ids, **kwargs)
    names = HEAD_OUTPUTS.get(arch, ["loss", "logits"])
    rng = np.random.RandomState(1)
    total_t, total_o = 0.0, 0.0
    for name in names + ["hidden_states", "attentions"]:
        a, b = out_t[name], out_o[name]
        for x, y in (zip(a, b) if isinstance(a, tuple) else [(a, b)]):
            torch.testing.assert_close(y, x, rtol=0, atol=1e-6, msg=name)  # same ops, same order: ~bitwise
            r = torch.tensor(rng.standard_normal(tuple(x.shape)), dtype=x.dtype)
            total_t, total_o = total_t + (x * r).sum(), total_o + (y * r).sum()
    total_t.backward()
    total_o.backward()
    grads_t = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, grads_t[name].grad, rtol=0, atol=1e-5 * max(1.0, float(
            grads_t[name].grad.abs().max())), msg=name)


def test_mlm_decoder_is_tied():
    model = R.GAUAlphaForMaskedLM(R.GAUAlphaConfig(**TINY))
    assert model.cls.predictions.decoder.weight is model.gau_alpha.embeddings.word_embeddings.weight
    assert "gau_alpha.encoder.sin_pos" not in model.state_dict()  # RoPE tables are non-persistent buffers


def test_softmax_plus_variants_differ_only_where_documented():
    ids, tt = batch(lengths=(20, 9, 1))
    outs = {}
    for variant in R.SOFTMAX_PLUS_VARIANTS:
        torch.manual_seed(0)
        # weights large enough for O(1) scores: at init scale (0.02) the scores are ~0 and any scale is invisible
        model = R.GAUAlphaModel(R.GAUAlphaConfig(**dict(TINY, initializer_range=0.3),
                                                 softmax_plus_variant=variant)).eval()
        with torch.no_grad():
            outs[variant] = model(ids, token_type_ids=tt)["last_hidden_state"]
    a, b, c = (outs[v] for v in R.SOFTMAX_PLUS_VARIANTS)
    # 0.0.3 vs 0.11.4: only the length-1 row differs (log(1) = 0 flattens every column, padded ones included)
    torch.testing.assert_close(a[:2], b[:2])
    assert float((a[2, :1] - b[2, :1]).abs().max()) > 1e-3
    # 0.11.5 clamps l at 16: rows shorter than 16 differ from 0.11.4, the length-20 row does not
    torch.testing.assert_close(b[0], c[0])
    assert float((b[1, :9] - c[1, :9]).abs().max()) > 1e-3


def test_bad_config_values():
    with pytest.raises(ValueError, match="normalization 'softmax2' is not supported"):
        R.GAUAlphaConfig(normalization="softmax2")
    with pytest.raises(ValueError, match="softmax_plus_variant 'x' is not supported"):
        R.GAUAlphaConfig(softmax_plus_variant="x")

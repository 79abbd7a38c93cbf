"""The Paddle GAU-α equals the kit's torch reference (itself equal to the gau-alpha package): every output and every
parameter gradient, each normalisation and softmax_plus variant, use_bias on/off, padded rows with a length-1 row,
HF-init and trained-scale weights; float64 agreement for the logic. Same bars as the Funnel port."""
import numpy as np
import paddle
import pytest
import torch

import paddlenlp_ext.gau_alpha as P
import torch_ref.gau_alpha as R
from parity.funnel import Side, _projections
from reprokit.diff import diff_dicts, failures
from reprokit.gau_alpha_table import ARCHITECTURES, gau_alpha_table
from reprokit.tables import convert_array

TINY = dict(vocab_size=60, hidden_size=32, intermediate_size=48, num_hidden_layers=2, attention_key_size=16,
            max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def build(arch, kw, dtype="float32", scale=1.0, seed=0):
    torch.manual_seed(seed)
    tm = getattr(R, arch)(R.GAUAlphaConfig(**kw))
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if name.endswith("dense.weight"):
                p.mul_(scale)
            elif name.endswith("scaleoffset.weight") and scale != 1.0:
                p.copy_(0.5 + torch.rand(p.shape))
    if dtype == "float64":
        tm = tm.double()
    tm.train()
    prev = paddle.get_default_dtype()
    paddle.set_default_dtype(dtype)
    try:
        pm = getattr(P, arch)(P.GAUAlphaConfig(**kw))
    finally:
        paddle.set_default_dtype(prev)
    pm.load_numpy_state({k: v.detach().numpy() for k, v in tm.state_dict().items()}, "torch", origin="torch ref")
    pm.train()
    return tm, pm


def batch(arch, lengths=(9, 4, 1), seed=0):
    rng = np.random.RandomState(seed)
    L = max(lengths)
    ids = rng.randint(1, TINY["vocab_size"], size=(len(lengths), L))
    ids[np.arange(L)[None, :] >= np.asarray(lengths)[:, None]] = 0
    b = {"input_ids": ids.astype("int64"), "token_type_ids": (np.arange(L)[None, :] >= L // 2).astype("int64")
         .repeat(len(lengths), 0)}
    if arch == "GAUAlphaForMaskedLM":
        b["labels"] = np.where(ids > 0, ids, -100).astype("int64")
    return b


def run(side, b, table, seed=0):
    kwargs = {k: side.tensor(v) for k, v in b.items()}
    out = side.model(**kwargs, output_hidden_states=True, output_attentions=True)
    named = {}
    for k, v in out.items():
        if v is None:
            continue
        for i, t in (enumerate(v) if isinstance(v, tuple) else [(None, v)]):
            named[k if i is None else f"{k}.{i}"] = t
    numpy_named = {k: side.numpy(v) for k, v in named.items()}
    side.objective(named, _projections(numpy_named, seed)).backward()
    return numpy_named, side.grads(table)


def compare(arch, kw, scale, dtype="float32"):
    tm, pm = build(arch, kw, dtype=dtype, scale=scale)
    table = gau_alpha_table(R.GAUAlphaConfig(**kw), arch)
    b = batch(arch)
    (ft, gt), (fp, gp) = (run(Side(fw, m, dtype), b, table) for fw, m in (("torch", tm), ("paddle", pm)))
    if dtype == "float64":
        return (diff_dicts(ft, fp, tol_max=1e-10, relative_to_scale=True),
                diff_dicts(gt, gp, tol_max=1e-10, relative_to_scale=True))
    return diff_dicts(ft, fp, tol_max=1e-5, tol_mean=1e-6), diff_dicts(gt, gp, tol_max=1e-5, relative_to_scale=True)


CASES = [dict(normalization=n) for n in ("softmax", "squared_relu")] + \
        [dict(normalization="softmax_plus", softmax_plus_variant=v) for v in R.SOFTMAX_PLUS_VARIANTS]


@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.get("softmax_plus_variant", c["normalization"]))
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_paddle_equals_torch_reference(arch, case, use_bias):
    kw = dict(TINY, use_bias=use_bias, **case)
    for scale in (1.0, 10.0):  # HF init (std 0.02) and trained scale (Linear weights x10: std 0.2)
        fwd, bwd = compare(arch, kw, scale)
        bad = [(d.name, d.max_abs, d.mean_abs, d.tol_max) for d in failures(fwd + bwd)]
        assert not bad, f"scale {scale}: {bad}"
    fwd64, bwd64 = compare(arch, kw, 10.0, dtype="float64")
    assert not failures(fwd64 + bwd64), [(d.name, d.max_abs) for d in failures(fwd64 + bwd64)]


def test_table_matches_both_frameworks():
    for use_bias in (False, True):
        kw = dict(TINY, use_bias=use_bias)
        for arch in ARCHITECTURES:
            table = gau_alpha_table(R.GAUAlphaConfig(**kw), arch)
            ts = getattr(R, arch)(R.GAUAlphaConfig(**kw)).state_dict()
            assert [p.name for p in table] == list(ts)
            assert {p.name: p.shape for p in table} == {k: tuple(v.shape) for k, v in ts.items()}
            ps = getattr(P, arch)(P.GAUAlphaConfig(**kw)).state_dict()
            assert {p.name: p.paddle_shape for p in table} == {k: tuple(v.shape) for k, v in ps.items()}


def test_batch_items_are_independent():
    """PaddleNLP 2.8.1's GAULayer uses batch item 0's output for every item; here each row equals its own run."""
    tm, pm = build("GAUAlphaModel", TINY, scale=10.0)
    pm.eval()
    b = batch("GAUAlphaModel", lengths=(9, 6, 4))
    ids, tt = paddle.to_tensor(b["input_ids"]), paddle.to_tensor(b["token_type_ids"])
    full = pm(ids, token_type_ids=tt)["last_hidden_state"].numpy()
    for i in range(3):
        alone = pm(ids[i:i + 1], token_type_ids=tt[i:i + 1])["last_hidden_state"].numpy()
        np.testing.assert_allclose(full[i:i + 1], alone, atol=1e-5, rtol=0)
    assert np.abs(full[1] - full[0]).max() > 1e-2  # rows really differ


def test_bad_inputs():
    pm = P.GAUAlphaModel(P.GAUAlphaConfig(**TINY))
    ids = paddle.to_tensor(np.full((2, 5), 7, "int64"))
    with pytest.raises(ValueError, match=r"attention_mask shape \[2, 4\] differs"):
        pm(ids, attention_mask=paddle.ones([2, 4]))
    with pytest.raises(ValueError, match="token_type_ids value 2 is outside 0..1"):
        pm(ids, token_type_ids=paddle.full([2, 5], 2, "int64"))
    with pytest.raises(ValueError, match="exceeds max_position_embeddings 32"):
        pm(paddle.to_tensor(np.full((1, 40), 7, "int64")))
    with pytest.raises(ValueError, match="softmax_plus_variant 'x' is not supported"):
        P.GAUAlphaConfig(softmax_plus_variant="x")

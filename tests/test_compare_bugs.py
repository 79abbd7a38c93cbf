"""The per-layer report finds known bugs: each test injects one into the Paddle side of a pair (the torch reference
stays clean), runs the same checks compare.py runs, and asserts the report fails and names the right first layer.
A clean port passes with no divergence."""
import numpy as np
import paddle
import paddle.nn as pnn
import pytest

import paddlenlp_ext.funnel.modeling as FM
import paddlenlp_ext.gau_alpha.modeling as GM
from parity import funnel as H
from parity import gau_alpha as G
from parity.common import tensor_checks
from reprokit.diff import failures

ARCH = "FunnelForSequenceClassification"


def funnel_pairs(inject=None, arch=ARCH):
    kw = H.config_kwargs(H.TINY, arch)
    pairs = {dt: H.build_pair(kw, arch, realistic=True, dtype=dt) for dt in ("float32", "float64")}
    if inject:
        for tm, pm in pairs.values():
            inject(tm, pm)
    return kw, pairs


def report(spec, kw, arch, pairs):
    res = spec.run_checks(kw, arch, steps=0, pairs=pairs)
    model_checks = [d for v in tensor_checks(res).values() for d in v]
    return res["layers"], failures(model_checks)


def test_clean_ports_pass_with_no_divergence():
    for spec, arch in ((H, ARCH), (H, "FunnelForPreTraining"), (G, "GAUAlphaForSequenceClassification")):
        kw = spec.config_kwargs(spec.TINY, arch)
        res = spec.run_checks(kw, arch, realistic=True, steps=0)["layers"]
        assert res["first_divergence"] == {"forward": None, "backward": None}, arch
        assert res["unmatched"] == {"torch": [], "paddle": []}, arch
        assert all(e["ok"] for e in res["forward"] + res["backward"])
        # every layer of the port is seen: its hidden blocks, attention heads and activations
        names = {e["layer"] for e in res["forward"]}
        assert len(res["forward"]) > 20 and len(res["backward"]) > 20
        if spec is H:
            assert {"funnel.encoder.blocks.1.0@2", "funnel.encoder.blocks.0.0.ffn.activation_function"} <= names


def test_erf_gelu_instead_of_tanh():
    """Funnel's hidden_act is gelu_new (the tanh approximation); the port's FFN of block 1 uses the erf GELU."""
    def inject(tm, pm):
        assert tm.config.hidden_act == "gelu_new"
        pm.funnel.encoder.blocks[1][0].ffn.activation_function = pnn.GELU(approximate=False)
    kw, pairs = funnel_pairs(inject)
    res, failed = report(H, kw, ARCH, pairs)
    assert failed
    first = res["first_divergence"]["forward"]
    assert first["layer"] == "funnel.encoder.blocks.1.0.ffn.activation_function", first
    assert first["after"] == "funnel.encoder.blocks.1.0.ffn.linear_1"


def test_square_weight_left_untransposed():
    """A converter that forgot the transpose of one square [32, 32] Linear weight: shapes fit, values do not."""
    def inject(tm, pm):
        w = tm.funnel.encoder.blocks[0][1].attention.q_head.weight.detach().cpu().numpy()  # torch [out, in]
        assert w.shape[0] == w.shape[1]
        pm.funnel.encoder.blocks[0][1].attention.q_head.weight.set_value(w.astype(w.dtype))  # paddle wants [in, out]
    kw, pairs = funnel_pairs(inject)
    res, failed = report(H, kw, ARCH, pairs)
    assert "funnel.encoder.blocks.0.1.attention.q_head.weight" in {d.name for d in failed}
    assert res["first_divergence"]["forward"]["layer"] == "funnel.encoder.blocks.0.1.attention.q_head"


def test_off_by_one_in_pooling(monkeypatch):
    """Pooled hidden states that skip the token after CLS (and repeat the last one): the first wrong output is block
    1's query projection, the first layer that reads the pooled sequence."""
    original = FM.FunnelAttentionStructure.pool_tensor

    def pool_tensor(self, tensor, mode="mean", stride=2):
        if isinstance(tensor, paddle.Tensor) and tensor.ndim == 3:
            tensor = paddle.concat([tensor[:, :1], tensor[:, 2:], tensor[:, -1:]], axis=1)
        return original(self, tensor, mode=mode, stride=stride)
    monkeypatch.setattr(FM.FunnelAttentionStructure, "pool_tensor", pool_tensor)
    kw, pairs = funnel_pairs()
    res, failed = report(H, kw, ARCH, pairs)
    assert failed
    first = res["first_divergence"]["forward"]
    assert first["layer"] == "funnel.encoder.blocks.1.0.attention.q_head", first
    assert first["after"].startswith("funnel.encoder.blocks.0.1")


def test_attention_mask_sign_flip(monkeypatch):
    monkeypatch.setattr(FM, "INF", -FM.INF)  # padded keys get +1e6 instead of -1e6
    kw, pairs = funnel_pairs()
    res, failed = report(H, kw, ARCH, pairs)
    assert failed
    assert res["first_divergence"]["forward"]["layer"].startswith("funnel.encoder.blocks.0.0.attention."), res[
        "first_divergence"]


def test_gau_alpha_mask_sign_flip(monkeypatch):
    monkeypatch.setattr(GM, "INF", -GM.INF)
    arch = "GAUAlphaForSequenceClassification"
    kw = G.config_kwargs(G.TINY, arch)
    pairs = {dt: G.build_pair(kw, arch, realistic=True, dtype=dt) for dt in ("float32", "float64")}
    res, failed = report(G, kw, arch, pairs)
    assert failed
    assert res["first_divergence"]["forward"]["layer"] == "gau_alpha.encoder.layer.0.gau.o_dense", res[
        "first_divergence"]


class _WrongInputGrad(paddle.autograd.PyLayer):
    """Identity forward; backward scales the gradient by 1.01: a bug only a backward check can see."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * 1.01


def test_bug_only_in_a_backward_path():
    def inject(tm, pm):
        layer = pm.funnel.encoder.blocks[1][0].ffn.linear_1
        forward = layer.forward
        layer.forward = lambda x: forward(_WrongInputGrad.apply(x))
    kw, pairs = funnel_pairs(inject)
    res, failed = report(H, kw, ARCH, pairs)
    assert res["first_divergence"]["forward"] is None  # forward is right
    assert failed
    first = res["first_divergence"]["backward"]
    # block 1 is repeated: its second call is the first one backward reaches
    assert first["name"] == "funnel.encoder.blocks.1.0.ffn.linear_1@2:in0", first
    # everything computed before it in backward order (the layers above, linear_1's own weight gradient) is right
    entries = res["backward"]
    index = [e["name"] for e in entries].index(first["name"])
    assert index > 10 and all(e["ok"] for e in entries[:index])


def test_backward_localised_to_a_parameter_gradient():
    """A wrong bias gradient (input gradients right): the first failing entry is that parameter."""
    class WrongBiasGrad(paddle.autograd.PyLayer):
        @staticmethod
        def forward(ctx, b):
            return b.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.5

    def inject(tm, pm):
        layer = pm.funnel.encoder.blocks[2][0].attention.post_proj

        def forward(x):
            return paddle.matmul(x, layer.weight) + WrongBiasGrad.apply(layer.bias)
        layer.forward = forward
    kw, pairs = funnel_pairs(inject)
    res, _ = report(H, kw, ARCH, pairs)
    assert res["first_divergence"]["forward"] is None
    assert res["first_divergence"]["backward"]["name"] == "funnel.encoder.blocks.2.0.attention.post_proj.bias"


def test_layer_called_more_often_on_one_side_is_a_failure():
    """The port calls one layer an extra time (its result unused): the outputs still match, but the call recorded on
    one side only fails the layer check, and a sub-layer with no torch twin is listed as unmatched."""
    def inject(tm, pm):
        ffn = pm.funnel.encoder.blocks[0][0].ffn
        ffn.extra = pnn.Identity()
        forward = ffn.forward

        def twice(hidden):
            ffn.layer_norm(hidden)
            return ffn.extra(forward(hidden))
        ffn.forward = twice
    kw, pairs = funnel_pairs(inject)
    res, _ = report(H, kw, ARCH, pairs)
    assert res["unmatched"]["paddle"] == ["funnel.encoder.blocks.0.0.ffn.extra"]
    first = res["first_divergence"]["forward"]
    assert first["name"] == "funnel.encoder.blocks.0.0.ffn.layer_norm@2 (only in paddle)", first

"""GlobalPointer / EfficientGlobalPointer: torch and Paddle equal (logits, loss, every gradient), with and without
RoPE, on padded batches; the loss against a direct numpy formula; span decoding and F1; use on GAU-α and on BERTs."""
import numpy as np
import paddle
import pytest
import torch

import paddlenlp_ext.global_pointer as PG
import torch_ref.global_pointer as TG
from reprokit.diff import diff_dicts, failures
from reprokit.global_pointer_table import global_pointer_table
from tasks.spans import decode, span_f1, training_f1
from reprokit.tables import convert_array

H, HEADS, HS = 24, 3, 8


def pair(efficient, rope, scale=1.0, hidden=H):
    torch.manual_seed(0)
    cls_t = TG.EfficientGlobalPointer if efficient else TG.GlobalPointer
    cls_p = PG.EfficientGlobalPointer if efficient else PG.GlobalPointer
    tm, pm = cls_t(hidden, HEADS, HS, rope=rope, max_len=32), cls_p(hidden, HEADS, HS, rope=rope, max_len=32)
    table = global_pointer_table(hidden, HEADS, HS, efficient)
    state = {k: v.detach().numpy() * (scale if k.endswith("weight") else 1.0) for k, v in tm.state_dict().items()}
    with torch.no_grad():
        for k, v in tm.state_dict().items():
            v.copy_(torch.from_numpy(state[k]))
    pstate = pm.state_dict()
    for p in table:
        pstate[p.name].set_value(convert_array(p, state[p.name], "torch", "paddle"))
    return tm, pm, table


def inputs(lengths=(11, 6, 1), seed=0):
    rng = np.random.RandomState(seed)
    L = max(lengths)
    h = rng.standard_normal((len(lengths), L, H)).astype("float32")
    mask = (np.arange(L)[None, :] < np.asarray(lengths)[:, None]).astype("int64")
    labels = np.zeros((len(lengths), HEADS, L, L), "int64")
    for b, n in enumerate(lengths):
        for _ in range(3):
            i = rng.randint(0, n)
            j = rng.randint(i, n)
            labels[b, rng.randint(HEADS), i, j] = 1
    return h, mask, labels


@pytest.mark.parametrize("rope", [True, False])
@pytest.mark.parametrize("efficient", [False, True])
def test_torch_and_paddle_equal(efficient, rope):
    for scale in (1.0, 4.0):
        tm, pm, table = pair(efficient, rope, scale)
        h, mask, labels = inputs()
        th = torch.tensor(h, requires_grad=True)
        ph = paddle.to_tensor(h, stop_gradient=False)
        tl = tm(th, torch.tensor(mask))
        pl = pm(ph, paddle.to_tensor(mask))
        tloss = TG.multilabel_categorical_crossentropy(tl, torch.tensor(labels))
        ploss = PG.multilabel_categorical_crossentropy(pl, paddle.to_tensor(labels))
        tloss.backward()
        ploss.backward()
        valid = tl.detach().numpy() > TG.NEG / 2  # compare the unmasked logits (masked ones are both exactly NEG)
        assert (valid == (pl.numpy() > PG.NEG / 2)).all()
        fwd = diff_dicts({"logits": tl.detach().numpy()[valid], "loss": tloss.detach().numpy()},
                         {"logits": pl.numpy()[valid], "loss": ploss.numpy()}, tol_max=1e-5, tol_mean=1e-6)
        grads_t = {p.name: dict(tm.named_parameters())[p.name].grad.numpy() for p in table}
        grads_p = {p.name: convert_array(p, pm.state_dict()[p.name].grad.numpy(), "paddle", "torch") for p in table}
        grads_t["hidden_states"], grads_p["hidden_states"] = th.grad.numpy(), ph.grad.numpy()
        bwd = diff_dicts(grads_t, grads_p, tol_max=1e-5, relative_to_scale=True)
        bad = [(d.name, d.max_abs, d.tol_max) for d in failures(fwd + bwd)]
        assert not bad, (scale, bad)


def test_loss_equals_the_formula():
    rng = np.random.RandomState(1)
    s = rng.standard_normal((2, 3, 4, 4)) * 3
    y = (rng.rand(2, 3, 4, 4) < 0.2).astype("int64")
    expected = []
    for b in range(2):
        for t in range(3):
            ss, yy = s[b, t].ravel(), y[b, t].ravel()
            expected.append(np.log1p(np.exp(ss[yy == 0]).sum()) + np.log1p(np.exp(-ss[yy == 1]).sum()))
    got_t = TG.multilabel_categorical_crossentropy(torch.tensor(s), torch.tensor(y)).item()
    got_p = float(PG.multilabel_categorical_crossentropy(paddle.to_tensor(s), paddle.to_tensor(y)))
    assert abs(got_t - np.mean(expected)) < 1e-9 and abs(got_p - np.mean(expected)) < 1e-9


def test_masking_decoding_and_f1():
    tm, pm, _ = pair(False, True)
    h, mask, labels = inputs(lengths=(11, 6, 1))
    logits = pm(paddle.to_tensor(h), paddle.to_tensor(mask)).numpy()
    assert (logits[1, :, 6:, :] == PG.NEG).all() and (logits[1, :, :, 6:] == PG.NEG).all()  # padding
    assert (logits[0, :, 5, 3] == PG.NEG).all()  # lower triangle: end before start
    spans = decode(logits, [11, 6, 1])
    assert all(1 <= i <= j <= n - 2 for b, t, i, j in spans for n in [[11, 6, 1][b]])  # CLS / SEP never
    assert spans == decode(tm(torch.tensor(h), torch.tensor(mask)).detach().numpy(), [11, 6, 1])
    hand = np.full((1, 2, 5, 5), -1.0)
    hand[0, 1, 1, 2] = 3.0   # kept
    hand[0, 0, 0, 2] = 3.0   # touches CLS: dropped
    hand[0, 0, 3, 4] = 3.0   # touches SEP (length 5): dropped
    assert decode(hand, [5]) == [(0, 1, 1, 2)]
    assert decode(hand, [5], skip_special=False) == [(0, 0, 0, 2), (0, 0, 3, 4), (0, 1, 1, 2)]
    assert span_f1({(0, 1, 1, 2)}, {(0, 1, 1, 2), (0, 0, 1, 1)}) == {"precision": 1.0, "recall": 0.5,
                                                                      "f1": 2 / 3}
    y = np.zeros_like(hand)
    y[0, 1, 1, 2] = 1
    y[0, 0, 1, 1] = 1
    assert training_f1(hand, y) == pytest.approx(2 * 1 / (2 + 3))


def encoder_pair(name, tmp_path):
    """A torch encoder and its Paddle counterpart holding the same weights: the kit's GAU-alpha and Funnel (through
    their tables), BERT from transformers and PaddleNLP (PaddleNLP's own torch conversion)."""
    if name == "bert":
        from paddlenlp.transformers import BertModel as PBert
        from transformers import BertConfig, BertModel
        torch.manual_seed(0)
        tm = BertModel(BertConfig(vocab_size=60, hidden_size=H, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
        tm.save_pretrained(tmp_path / "bert", safe_serialization=False)
        return tm.eval(), PBert.from_pretrained(str(tmp_path / "bert"), convert_from_torch=True).eval(), H
    from parity import funnel as F, gau_alpha as G
    spec, arch = (G, "GAUAlphaModel") if name == "gau_alpha" else (F, "FunnelModel")
    kw = spec.config_kwargs(spec.TINY, arch)
    tm, pm = spec.build_pair(kw, arch)
    return tm.eval(), pm.eval(), kw.get("hidden_size", kw.get("d_model"))


@pytest.mark.parametrize("efficient", [False, True])
@pytest.mark.parametrize("encoder", ["gau_alpha", "funnel", "bert"])
def test_heads_on_every_encoder(tmp_path, encoder, efficient):
    """The same head classes on GAU-alpha, Funnel and BERT: torch encoder + torch head and Paddle encoder + Paddle
    head, same weights (encoders at init scale, heads at trained scale), padded batch: the same span logits (up to
    ~20). Bar: 1e-6 of the largest logit, or - the kit's noise-floor rule (parity.common) - within FLOOR_FACTOR x the
    torch reference's own float32 error against its float64 run. Measured: 0.25-0.55e-6 relative, 0.8-1.6x floor."""
    import copy

    from parity.common import FLOOR_FACTOR
    te, pe, hidden = encoder_pair(encoder, tmp_path)
    th, ph, _ = pair(efficient, rope=True, scale=4.0, hidden=hidden)
    rng = np.random.RandomState(0)
    ids = rng.randint(5, 50, (2, 9)).astype("int64")
    mask = np.ones_like(ids)
    mask[1, 6:], ids[1, 6:] = 0, 0
    with torch.no_grad():
        tl = th(te(torch.tensor(ids), attention_mask=torch.tensor(mask))[0], torch.tensor(mask)).numpy()
        t64 = copy.deepcopy(th).double()(copy.deepcopy(te).double()(torch.tensor(ids), attention_mask=torch.tensor(
            mask))[0], torch.tensor(mask)).numpy()
    pl = ph(pe(paddle.to_tensor(ids), attention_mask=paddle.to_tensor(mask), return_dict=True)[0],
            paddle.to_tensor(mask)).numpy()
    assert tl.shape == pl.shape == (2, HEADS, 9, 9)
    valid = tl > TG.NEG / 2
    assert (valid == (pl > PG.NEG / 2)).all() and valid[1].sum() == HEADS * 6 * 7 // 2
    assert np.abs(tl[valid]).max() > 1.0  # real scores, not a near-zero head
    worst, scale = np.abs(tl[valid] - pl[valid]).max(), np.abs(tl[valid]).max()
    floor = np.abs(tl[valid] - t64[valid]).max()
    assert worst <= 1e-6 * scale or worst <= FLOOR_FACTOR * floor, (worst, scale, floor)

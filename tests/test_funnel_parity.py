"""The Paddle Funnel equals transformers' Funnel: every head, every config branch, forward + backward + 3 AdamW steps.

Bars (issue #2): forward max abs <= 1e-5 and mean abs <= 1e-6; gradients max abs <= 1e-5 x max(1, max|grad|);
after 3 steps losses and weights within 1e-5 relative. A tensor that misses a bar must be float32 noise: the port's
error against the float64 reference within FLOOR_FACTOR x the reference's own float32 error (parity/funnel.py).
The float64 runs of both sides must agree to FLOAT64_TOL relative: that is the logic check.
"""
import numpy as np
import pytest

from parity import funnel as H
from parity.common import tensor_checks
from reprokit.diff import failures
from reprokit.funnel_table import ARCHITECTURES


def assert_all_pass(results, context):
    problems = []
    layers = results.get("layers")
    if layers is not None:  # every layer's output and input gradient too, with nothing left unmatched
        assert layers["first_divergence"] == {"forward": None, "backward": None}, f"{context}: {layers['first_divergence']}"
        assert layers["unmatched"] == {"torch": [], "paddle": []}, context
    for check, diffs in tensor_checks(results).items():
        assert diffs, f"{context}: {check} compared nothing"
        for d in failures(diffs):
            problems.append(f"{check} {d.name}: max {d.max_abs:.3g} (bar {d.tol_max:.3g}), mean {d.mean_abs:.3g}, "
                            f"float64 errors paddle {d.other_err_max} vs torch {d.ref_err_max}")
    assert not problems, f"{context}:\n" + "\n".join(problems)


def off_bar_fraction(results):
    diffs = [d for k, v in tensor_checks(results).items() if not k.startswith("float64") for d in v]
    return sum(not d.within_bar for d in diffs) / len(diffs)


@pytest.mark.parametrize("realistic", [False, True], ids=["hf-init", "trained-scale"])
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_head(arch, realistic):
    kw = H.config_kwargs(H.TINY, arch)
    results = H.run_checks(kw, arch, realistic=realistic)
    assert_all_pass(results, f"{arch} realistic={realistic}")
    # the noise-floor fallback is the exception, not the rule
    assert off_bar_fraction(results) < 0.1


@pytest.mark.parametrize("num_labels,problem", [(1, None), (3, "multi_label_classification"),
                                                (3, "regression")], ids=["regression-1", "multi-label", "regression-3"])
def test_sequence_classification_losses(num_labels, problem):
    """single-label is in test_every_head; here the MSE (num_labels 1 and >1) and the multi-label BCE losses"""
    kw = H.config_kwargs(H.TINY, "FunnelForSequenceClassification", num_labels=num_labels)
    if problem:
        kw["problem_type"] = problem
    for realistic in (False, True):
        results = H.run_checks(kw, "FunnelForSequenceClassification", realistic=realistic)
        assert_all_pass(results, f"{problem or 'regression'} num_labels={num_labels} realistic={realistic}")
        assert "loss" in {d.name for d in results["forward_ids"]}


BRANCHES = {
    "factorized-mean": dict(attention_type="factorized", pooling_type="mean"),
    "factorized-max": dict(attention_type="factorized", pooling_type="max"),
    "relative_shift-max": dict(pooling_type="max"),
    "no-separate_cls": dict(separate_cls=False),
    "no-truncate_seq": dict(truncate_seq=False),
    "no-pool_q_only": dict(pool_q_only=False),
    "no-pool_q_only-factorized": dict(pool_q_only=False, attention_type="factorized"),
    "no-separate_cls-factorized-no-truncate": dict(separate_cls=False, truncate_seq=False,
                                                     attention_type="factorized"),
    "four-blocks-repeats": dict(block_sizes=[1, 2, 1, 1], block_repeats=[2, 1, 3, 1], num_decoder_layers=1),
    "single-block": dict(block_sizes=[2], block_repeats=[1], num_decoder_layers=1),
    "no-decoder-layers": dict(num_decoder_layers=0),
    "erf-gelu-initializer_std": dict(hidden_act="gelu", initializer_std=0.05),
    "relu-no-pad-id": dict(hidden_act="relu", pad_token_id=None),
}


@pytest.mark.parametrize("branch", list(BRANCHES))
@pytest.mark.parametrize("arch", ["FunnelModel", "FunnelForSequenceClassification"])
def test_config_branches(branch, arch):
    kw = H.config_kwargs(dict(H.TINY, **BRANCHES[branch]), arch)
    for realistic in (False, True):
        results = H.run_checks(kw, arch, realistic=realistic, steps=0 if realistic else 3)
        assert_all_pass(results, f"{arch} {branch} realistic={realistic}")


@pytest.mark.parametrize("lengths", [(7, 7, 7), (11, 4, 9, 1), (13, 2, 5), (5, 3, 4)])
def test_sequence_lengths(lengths):
    """odd lengths, a length-1 row, short batches"""
    kw = H.config_kwargs(H.TINY, "FunnelForQuestionAnswering")
    results = H.run_checks(kw, "FunnelForQuestionAnswering", realistic=True, lengths=lengths, steps=0)
    assert_all_pass(results, f"lengths {lengths}")


@pytest.mark.parametrize("seq_len", [1, 2])
def test_too_short_for_three_blocks_is_refused_by_both(seq_len):
    """HF raises an index error; the port raises a ValueError naming the length instead of reading out of bounds."""
    import paddle
    import torch
    kw = H.config_kwargs(H.TINY, "FunnelModel")
    tm, pm = H.build_pair(kw, "FunnelModel")
    ids = np.full((2, seq_len), 7, dtype="int64")
    with pytest.raises((RuntimeError, IndexError)):
        tm(torch.tensor(ids))
    with pytest.raises(ValueError, match=f"sequence length {seq_len} is too short"):
        pm(paddle.to_tensor(ids))
    # factorized attention has no relative-position table: it runs on both
    kw = H.config_kwargs(dict(H.TINY, attention_type="factorized"), "FunnelModel")
    results = H.run_checks(kw, "FunnelModel", lengths=(seq_len, 1), steps=0)
    assert_all_pass(results, f"factorized seq_len {seq_len}")


def test_float32_gap_is_noise():
    """float64 closes the float32 gap by many orders of magnitude: what remains in float32 is rounding."""
    kw = H.config_kwargs(H.TINY, "FunnelModel")
    res = H.run_checks(kw, "FunnelModel", realistic=True, steps=0)
    gap32 = max(d.max_abs / max(1.0, d.max_ref) for d in res["backward_ids"] + res["forward_ids"])
    # (a mathematically zero gradient is checked as zero, its entry holds |grad|, not a difference: left out)
    gap64 = max(d.max_abs / max(1.0, d.max_ref) for d in res["float64_backward_ids"] + res["float64_forward_ids"]
                if not d.name.endswith("(zero gradient)"))
    assert gap32 > 1e-8 and gap64 < 1e-11 and gap64 * 1e4 < gap32, (gap32, gap64)


def test_checks_fail_on_a_real_difference():
    """The harness is not vacuous: a perturbed weight on the paddle side fails forward and backward."""
    kw = H.config_kwargs(H.TINY, "FunnelModel")
    tm, pm = H.build_pair(kw, "FunnelModel")
    w = pm.encoder.blocks[1][0].attention.post_proj.weight
    w.set_value(w.numpy() * (1 + 1e-3))
    batch = H.make_batch("FunnelModel", kw)
    (ft, gt), (fp, gp) = H.forward_backward(tm, pm, batch)
    from reprokit.diff import diff_dicts
    assert failures(diff_dicts(ft, fp, **H.FWD_TOL))
    assert failures(diff_dicts(gt, gp, **H.GRAD_TOL))


def test_outputs_tuple_equals_dict():
    import paddle
    kw = H.config_kwargs(H.TINY, "FunnelForQuestionAnswering")
    _, pm = H.build_pair(kw, "FunnelForQuestionAnswering")
    pm.eval()
    batch = {k: paddle.to_tensor(v) for k, v in H.make_batch("FunnelForQuestionAnswering", kw).items()}
    d = pm(**batch, output_hidden_states=True, output_attentions=True)
    t = pm(**batch, output_hidden_states=True, output_attentions=True, return_dict=False)
    assert len(t) == 5 and float(t[0]) == float(d.loss)
    np.testing.assert_array_equal(t[1].numpy(), d.start_logits.numpy())
    assert len(t[3]) == len(d.hidden_states) == 1 + sum(kw["block_sizes"][b] * kw["block_repeats"][b]
                                                          for b in range(3)) + 1 + kw["num_decoder_layers"]


@pytest.mark.parametrize("separate_cls,truncate_seq", [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize("pool", [None, 1, 2, [1, 2]], ids=["none", "queries", "keys", "both"])
def test_factored_token_type_score_is_hf_exactly(separate_cls, truncate_seq, pool):
    """The port keeps token_type_mat factored (TokenTypeMat); the score must be HF's where(mat, same, diff) * cls_mask
    bit for bit, after stride pooling of the queries, the keys or both, with every token type and a CLS type."""
    import paddle
    import torch
    from transformers import FunnelConfig as TorchConfig
    from transformers.models.funnel import modeling_funnel as T

    import paddlenlp_ext.funnel.modeling as P
    from paddlenlp_ext.funnel import FunnelConfig

    kw = dict(H.TINY, separate_cls=separate_cls, truncate_seq=truncate_seq)
    rng = np.random.RandomState(0)
    ids = rng.randint(0, 3, size=(3, 13))
    ids[:, 0] = 2
    t_struct, p_struct = T.FunnelAttentionStructure(TorchConfig(**kw)), P.FunnelAttentionStructure(FunnelConfig(**kw))
    t_mat = t_struct.token_type_ids_to_mat(torch.tensor(ids))
    p_mat = p_struct.token_type_ids_to_mat(paddle.to_tensor(ids))
    cls_mask = torch.nn.functional.pad(torch.ones(12, 12), (1, 0, 1, 0)) if separate_cls else None
    if pool is not None:
        t_mat, p_mat = t_struct.stride_pool(t_mat, pool), p_struct.stride_pool(p_mat, pool)
        if cls_mask is not None:
            cls_mask = t_struct.stride_pool(cls_mask, [a - 1 for a in pool] if isinstance(pool, list) else pool - 1)
    t_att, p_att = T.FunnelRelMultiheadAttention(TorchConfig(**kw), 0), P.FunnelRelMultiheadAttention(FunnelConfig(**kw), 0)
    # small integers (and r_s_bias 0): the same / different-segment biases are exact in both frameworks, whatever
    # order einsum and matmul sum in, so any difference left is the factoring's
    seg = rng.randint(-3, 4, size=t_att.seg_embed.shape).astype("float32")
    t_att.seg_embed.data = torch.tensor(seg)
    p_att.seg_embed.set_value(seg)
    q_head = rng.randint(-3, 4, size=(3, t_mat.shape[1], kw["n_head"], kw["d_head"])).astype("float32")
    with torch.no_grad():
        expected = t_att.relative_token_type_attention(t_mat, torch.tensor(q_head), cls_mask).numpy()
    got = p_att.relative_token_type_attention(p_mat, paddle.to_tensor(q_head), None).numpy()
    assert got.shape == expected.shape
    assert np.array_equal(got, expected) and np.abs(expected).max() > 0

"""All ten released configurations build and run in the port, with exactly the table's parameters; the xlarge shape
runs forward and backward against the torch reference (slow)."""
import numpy as np
import paddle
import pytest

import paddlenlp_ext.funnel as P
from parity import funnel as H
from reprokit.funnel_table import funnel_table


@pytest.mark.parametrize("name", sorted(H.RELEASED))
def test_released_config_builds_and_runs(name):
    arch = "FunnelBaseModel" if name.endswith("-base") else "FunnelModel"
    config = P.FunnelConfig(**H.RELEASED[name])
    model = getattr(P, arch)(config)
    model.eval()
    table = funnel_table(config, arch)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {p.name: p.paddle_shape for p in table}
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())
    assert n_params == sum(int(np.prod(p.shape)) for p in table)
    ids = paddle.to_tensor(np.random.RandomState(0).randint(5, 30522, (1, 19)))
    with paddle.no_grad():
        out = model(ids).last_hidden_state
    # 19 -> 10 -> 5 tokens in the base model (CLS kept apart, truncate_seq); the decoder restores 19
    assert out.shape == ([1, 19, config.d_model] if arch == "FunnelModel" else [1, 5, config.d_model])
    assert bool(paddle.isfinite(out).all())


def test_xlarge_parameter_count():
    config = P.FunnelConfig(**H.RELEASED["xlarge"], num_labels=2)
    n = sum(int(np.prod(p.shape)) for p in funnel_table(config, "FunnelForQuestionAnswering"))
    assert 466e6 < n < 470e6, n  # "about 468M parameters with the QA head"


@pytest.mark.slow
def test_xlarge_shape_forward_backward():
    """B10-10-10H1024, random weights at HF's init, batch 2 x 128, one forward + backward against transformers,
    with a float64 torch run for the noise floor (the float32 models are freed first: ~15 GB peak)."""
    import gc

    import torch

    from reprokit.diff import diff_dicts, failures, with_noise_floor, zero_gradient_diffs
    kw = dict(H.RELEASED["xlarge"], **H.NO_DROPOUT, num_labels=2)
    arch = "FunnelForQuestionAnswering"
    batch = H.make_batch(arch, kw, lengths=(128, 97))
    tm, pm = H.build_pair(kw, arch)
    table = pm.param_table()
    (ft, gt), (fp, gp) = H.forward_backward(tm, pm, batch)
    del tm, pm
    gc.collect()
    torch.manual_seed(0)
    tm64 = H.T.CLASSES[arch](H.T.FunnelConfig(**kw)).double().train()
    f64, g64 = H.side_forward_backward(H.Side("torch", tm64, "float64"), batch, table)
    del tm64
    fwd = with_noise_floor(diff_dicts(ft, fp, **H.FWD_TOL), ft, fp, f64, H.FLOOR_FACTOR)
    bwd = with_noise_floor(diff_dicts(gt, gp, **H.GRAD_TOL), gt, gp, g64, H.FLOOR_FACTOR)
    bwd = zero_gradient_diffs(bwd, table, {"torch": gt, "paddle": gp, "float64": g64}, "float64",
                              tol=H.GRAD_TOL["tol_max"], tol_truth=H.FLOAT64_TOL_FLOAT32_LOSS)
    bad = [(d.name, d.max_abs, d.mean_abs, d.other_err_max, d.ref_err_max) for d in failures(fwd + bwd)]
    assert not bad, bad

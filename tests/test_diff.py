"""reprokit.diff: the zero-gradient check (a mathematically zero gradient compared as zero, with the reference's own
float32 noise as the floor)."""
import numpy as np

from reprokit.diff import Diff, zero_gradient_diffs
from reprokit.tables import Param

TABLE = [Param("q.weight", (4, 4)), Param("k.bias", (4,), zero_grad_scale="q.weight")]


def check(ref, port, truth, tol=1e-5):
    grads = {"torch": {"k.bias": np.asarray(ref)}, "paddle": {"k.bias": np.asarray(port)},
             "float64": {"k.bias": np.asarray(truth), "q.weight": np.full((4, 4), 2.0)}}
    (d,) = zero_gradient_diffs([Diff("k.bias", (4,), 0, 0, 0, 1, 1)], TABLE, grads, "float64", tol=tol,
                               tol_truth=1e-6, floor_factor=4.0)
    return d


def test_zero_gradient_check():
    assert check([1e-6] * 4, [2e-6] * 4, [0.0] * 4).verdict == "pass"                  # under the bar (1e-5 x 2)
    assert check([2e-5] * 4, [5e-5] * 4, [0.0] * 4).verdict == "pass (noise floor)"    # within 4x the reference
    assert check([2e-5] * 4, [9e-5] * 4, [0.0] * 4).verdict == "FAIL"                  # 4.5x the reference's noise
    assert check([1e-9] * 4, [1e-9] * 4, [1e-3] * 4).verdict == "FAIL"                 # not zero in float64


def floor_check(ref32, port32, truth):
    from reprokit.diff import diff_arrays, with_noise_floor
    r, p, t = ({"x": np.asarray(a, dtype=np.float64)} for a in (ref32, port32, truth))
    (d,) = with_noise_floor([diff_arrays("x", r["x"], p["x"], tol_max=1e-9, tol_mean=1e-9)], r, p, t, factor=4.0)
    return d


def test_scalar_noise_floor_is_not_one_sample():
    """A scalar's own float32 error is one sample: a reference that rounded within 0.25 ulp must not make a port at
    3 ulps fail (the Funnel-xlarge QA loss), yet a port 9 ulps off (beyond 4 x 2 ulps) still fails."""
    truth = 4.5
    ulp = float(np.spacing(np.float32(truth)))
    assert floor_check(truth + 0.25 * ulp, truth + 3 * ulp, truth).verdict == "pass (noise floor)"
    assert floor_check(truth + 0.25 * ulp, truth + 7.9 * ulp, truth).verdict == "pass (noise floor)"
    assert floor_check(truth + 0.25 * ulp, truth + 9 * ulp, truth).verdict == "FAIL"
    assert floor_check(truth + 0.25 * ulp, truth + 1e-4, truth).verdict == "FAIL"  # a real difference in a loss


def test_large_tensor_noise_floor_uses_its_own_error():
    """64 elements or more: the reference's error is a statistic over many elements, no ulp minimum."""
    truth = np.full(64, 4.5)
    ulp = float(np.spacing(np.float32(4.5)))
    d = floor_check(truth + 0.25 * ulp, truth + 3 * ulp, truth)
    assert d.noise_min == 0.0 and d.verdict == "FAIL"
    d = floor_check(truth[:63] + 0.25 * ulp, truth[:63] + 3 * ulp, truth[:63])
    assert d.noise_min == 2 * ulp and d.verdict == "pass (noise floor)"


def test_float64_zero_gradient_is_checked_as_zero():
    """The float64 logic check treats a mathematically zero gradient as zero at its layer's scale: float32-level noise
    in it passes, a real gradient there fails."""
    from parity.common import _float64_zero_gradients
    from reprokit.diff import diff_dicts
    t = {"q.weight": np.full((4, 4), 1000.0), "k.bias": np.array([4e-6, -2e-6, 0, 1e-6])}
    p = {"q.weight": np.full((4, 4), 1000.0), "k.bias": np.array([-5e-6, 3e-6, 1e-6, 0])}
    (dq, dk) = _float64_zero_gradients(diff_dicts(t, p, tol_max=1e-6, relative_to_scale=True), TABLE, t, p, 1e-6)
    assert dq.verdict == "pass" and dk.name == "k.bias (zero gradient)" and dk.verdict == "pass"
    p["k.bias"] = np.array([2e-3, 0, 0, 0])  # 2e-6 of the layer's scale: not noise
    (_, dk) = _float64_zero_gradients(diff_dicts(t, p, tol_max=1e-6, relative_to_scale=True), TABLE, t, p, 1e-6)
    assert dk.verdict == "FAIL"

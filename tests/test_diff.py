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

"""Numeric diffs between two named sets of arrays, with stated tolerances. No silent transpose, no broadcasting."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, Optional

import numpy as np

from .errors import KitError

# The noise floor compares the port's float32 error against the float64 truth with the reference's own float32 error.
# For a tensor of many elements the reference's error is a statistic over many samples; for a scalar (a loss) or a
# small tensor it is one or a few samples, and a reference that happened to round within 0.2 ulp makes any correct
# port look "5x worse". So below SMALL_TENSOR elements the reference's noise is taken as at least MIN_NOISE_ULPS
# float32 ulps at the tensor's scale (ulp of max|truth|): the rounding of the last operation alone is 0.5 ulp, and a
# value computed through a network carries more. With the factor of 4 a scalar passes within 8 ulps (~5e-7
# relative) of the float64 truth: far below what a wrong formula, mask or constant does to a loss.
SMALL_TENSOR = 64
MIN_NOISE_ULPS = 2.0


def ulp_noise(truth: np.ndarray) -> float:
    """MIN_NOISE_ULPS float32 ulps at the scale of `truth` (0 for tensors of SMALL_TENSOR elements or more)."""
    if truth.size >= SMALL_TENSOR or truth.size == 0:
        return 0.0
    return MIN_NOISE_ULPS * float(np.spacing(np.float32(np.abs(truth).max())))


@dataclass
class Diff:
    name: str
    shape: tuple
    max_abs: float
    mean_abs: float
    max_ref: float       # max |reference|, the scale of the tensor
    tol_max: float       # the bound max_abs was checked against
    tol_mean: float      # the bound mean_abs was checked against (inf when not checked)
    # Noise floor, when a float64 run of the reference is given: errors of both float32 results against it.
    ref_err_max: Optional[float] = None     # |reference32 - reference64|
    ref_err_mean: Optional[float] = None
    other_err_max: Optional[float] = None   # |other32 - reference64|
    other_err_mean: Optional[float] = None
    floor_factor: float = 2.0
    noise_min: float = 0.0  # the least reference noise assumed (ulp_noise: small tensors only)

    @property
    def within_bar(self) -> bool:
        return self.max_abs <= self.tol_max and self.mean_abs <= self.tol_mean

    @property
    def within_floor(self) -> bool:
        """The other side is no less accurate than floor_factor x the reference's own float32 error (at least
        noise_min: a small tensor's own error is too few samples to estimate the noise)."""
        if self.ref_err_max is None:
            return False
        f, least = self.floor_factor, self.noise_min
        return (self.other_err_max <= f * max(self.ref_err_max, least)
                and self.other_err_mean <= f * max(self.ref_err_mean, least))

    @property
    def ok(self) -> bool:
        return self.within_bar or self.within_floor

    @property
    def verdict(self) -> str:
        return "pass" if self.within_bar else "pass (noise floor)" if self.within_floor else "FAIL"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["ok"] = self.ok
        d["verdict"] = self.verdict
        return d


def diff_arrays(name: str, ref: np.ndarray, other: np.ndarray, tol_max: float, tol_mean: float = float("inf"),
                relative_to_scale: bool = False) -> Diff:
    """Compare `other` to `ref`. With relative_to_scale, tol_max is multiplied by max(1, max|ref|)."""
    ref = np.asarray(ref)
    other = np.asarray(other)
    if ref.shape != other.shape:
        raise KitError(f"{name}: shapes differ, {ref.shape} vs {other.shape}")
    if ref.size == 0:
        return Diff(name, ref.shape, 0.0, 0.0, 0.0, tol_max, tol_mean)
    ref64 = ref.astype(np.float64)
    d = np.abs(ref64 - other.astype(np.float64))
    if not np.isfinite(d).all():
        return Diff(name, ref.shape, float("inf"), float("inf"), float(np.nanmax(np.abs(ref64))), tol_max, tol_mean)
    max_ref = float(np.abs(ref64).max())
    bound = tol_max * max(1.0, max_ref) if relative_to_scale else tol_max
    return Diff(name, ref.shape, float(d.max()), float(d.mean()), max_ref, bound, tol_mean)


def diff_dicts(ref: Mapping[str, np.ndarray], other: Mapping[str, np.ndarray], **kw) -> List[Diff]:
    """Diff every name of `ref`; a name missing on either side is an error (never skipped)."""
    if set(ref) != set(other):
        only_ref, only_other = sorted(set(ref) - set(other)), sorted(set(other) - set(ref))
        raise KitError(f"compared sets differ: only in reference {only_ref[:8]}, only in other {only_other[:8]}")
    return [diff_arrays(k, ref[k], other[k], **kw) for k in ref]


def with_noise_floor(diffs: List[Diff], ref32: Mapping[str, np.ndarray], other32: Mapping[str, np.ndarray],
                     ref64: Mapping[str, np.ndarray], factor: float = 2.0,
                     ref32_other_order: Optional[Mapping[str, np.ndarray]] = None) -> List[Diff]:
    """Attach the float64 noise floor to `diffs` (computed between ref32 and other32). With ref32_other_order (the
    reference's float32 run under another reduction order), the reference's noise is the larger of its two errors,
    statistic by statistic: two samples of its rounding, not one."""
    for d in diffs:
        truth = np.asarray(ref64[d.name], dtype=np.float64)
        e_ref = np.abs(np.asarray(ref32[d.name], dtype=np.float64) - truth)
        e_other = np.abs(np.asarray(other32[d.name], dtype=np.float64) - truth)
        if truth.size:
            d.ref_err_max, d.ref_err_mean = float(e_ref.max()), float(e_ref.mean())
            if ref32_other_order is not None and d.name in ref32_other_order:
                e_alt = np.abs(np.asarray(ref32_other_order[d.name], dtype=np.float64) - truth)
                d.ref_err_max = max(d.ref_err_max, float(e_alt.max()))
                d.ref_err_mean = max(d.ref_err_mean, float(e_alt.mean()))
            d.other_err_max, d.other_err_mean = float(e_other.max()), float(e_other.mean())
            d.floor_factor = factor
            d.noise_min = ulp_noise(truth)
    return diffs


def zero_gradient_diffs(diffs: List[Diff], table, grads: Mapping[str, Mapping[str, np.ndarray]], truth_name: str,
                        tol: float, tol_truth: float, ref_name: str = "torch", other_name: str = "paddle",
                        floor_factor: float = 4.0) -> List[Diff]:
    """Replace the diff of each parameter whose gradient is mathematically zero by the check that matters: the
    float64 truth is <= tol_truth x the scale (max|grad| of its `zero_grad_scale` parameter, at least 1), and the
    port's float32 value is zero up to float32 noise: <= tol x scale, or (noise floor) max and mean within
    floor_factor x the reference's own float32 value, both being errors against the exact zero (that noise grows
    with the number of rows summed: ~1e-5 of the scale at Funnel-xlarge, 2 x 128)."""
    by_name = {d.name: i for i, d in enumerate(diffs)}
    out = list(diffs)
    for p in table:
        if not p.zero_grad_scale or p.name not in by_name:
            continue
        truth = grads[truth_name]
        scale = max(1.0, float(np.abs(truth[p.zero_grad_scale]).max()))
        ref_noise = max(float(np.abs(grads[n][p.name]).max()) for n in (ref_name, ref_name + "_other_order")
                        if n in grads)
        port = float(np.abs(grads[other_name][p.name]).max())
        truth_ok = float(np.abs(truth[p.name]).max()) <= tol_truth * scale
        d = Diff(p.name + " (zero gradient)", tuple(truth[p.name].shape), port,
                 float(np.abs(grads[other_name][p.name]).mean()), scale, tol * scale if truth_ok else -1.0,
                 float("inf"))
        if truth_ok:  # the floor fields: |reference| and |port| are both errors against the exact zero
            d.ref_err_max = ref_noise
            d.ref_err_mean = max(float(np.abs(grads[n][p.name]).mean()) for n in (ref_name, ref_name + "_other_order")
                                 if n in grads)
            d.other_err_max, d.other_err_mean = port, d.mean_abs
            d.floor_factor = floor_factor
        out[by_name[p.name]] = d
    return out


def failures(diffs: List[Diff]) -> List[Diff]:
    return [d for d in diffs if not d.ok]


def summary(diffs: List[Diff]) -> Dict[str, float]:
    return {"n": len(diffs), "failed": len(failures(diffs)),
            "max_abs": max((d.max_abs for d in diffs), default=0.0),
            "mean_abs": float(np.mean([d.mean_abs for d in diffs])) if diffs else 0.0}

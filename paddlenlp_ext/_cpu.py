"""CPU settings for paddle's MKL, applied before paddle is imported (MKL and OpenMP read them once, at load).

- paddle's wheel ships Intel MKL (mklml), which takes a slow generic code path on AMD CPUs: matmul measured 5x slower
  than torch on an AMD EPYC. MKL_DEBUG_CPU_TYPE=5 selects its AVX2 path; set only on AMD (on Intel it could force
  AVX2 where AVX-512 is available).
- paddle uses one OpenMP thread unless told otherwise; torch uses all cores. OMP_NUM_THREADS = cores, as torch.
Existing settings are never overridden.
"""
import os
import sys


def _is_amd() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            return "AuthenticAMD" in f.read(4096)
    except OSError:
        return False


def apply() -> dict:
    applied = {}
    if "paddle" in sys.modules:
        return applied  # too late to matter; leave the user's process as it is
    if _is_amd() and "MKL_DEBUG_CPU_TYPE" not in os.environ:
        os.environ["MKL_DEBUG_CPU_TYPE"] = applied["MKL_DEBUG_CPU_TYPE"] = "5"
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = applied["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    return applied


APPLIED = apply()

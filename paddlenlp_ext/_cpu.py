"""CPU settings for paddle, applied before paddle is imported (MKL, OpenMP and paddle read them once, at load).

- paddle's wheel ships Intel MKL (mklml), which takes a slow generic code path on AMD CPUs: matmul measured 5x slower
  than torch on an AMD EPYC. MKL_DEBUG_CPU_TYPE=5 selects its AVX2 path; set only on AMD (on Intel it could force
  AVX2 where AVX-512 is available).
- paddle uses one OpenMP thread unless told otherwise; torch uses all cores. OMP_NUM_THREADS = cores, as torch.
- FLAGS_use_stride_kernel=0: by default paddle 3's transpose / slice / split return strided views, and the CPU kernel
  that turns a view back into a contiguous tensor (before a matmul, a reshape) is slow: 8.2 ms for one transposed
  [8, 128, 12, 64] float32 tensor, 0.15 ms with the flag off (transpose then runs paddle's transpose kernel).
  Attention is transposes around batched matmuls: the score matmul's forward+backward measured 35.6 ms with views,
  7.7 ms without (torch 9.1). Set only when no NVIDIA device is visible (/dev/nvidiactl).
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
    if "FLAGS_use_stride_kernel" not in os.environ and not os.path.exists("/dev/nvidiactl"):
        os.environ["FLAGS_use_stride_kernel"] = applied["FLAGS_use_stride_kernel"] = "0"
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = applied["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    return applied


APPLIED = apply()

"""CPU settings for paddle, applied when paddlenlp_ext is imported (MKL, OpenMP and paddle read theirs once, at load).

- paddle's wheel ships Intel MKL (mklml), which takes a slow generic code path on AMD CPUs: matmul measured 5x slower
  than torch on an AMD EPYC. MKL_DEBUG_CPU_TYPE=5 selects its AVX2 path; set only on AMD (on Intel it could force
  AVX2 where AVX-512 is available). Only before paddle is imported.
- paddle uses one OpenMP thread unless told otherwise; torch uses all cores. OMP_NUM_THREADS = cores, as torch.
  Only before paddle is imported.
- FLAGS_use_stride_kernel=0: since paddle 2.6 transpose / slice / split return strided views, and the CPU kernel that
  turns a view back into a contiguous tensor (before a matmul, a reshape) is slow: 8.2 ms for one transposed
  [8, 128, 12, 64] float32 tensor, 0.15 ms with the flag off (paddle's own transpose kernel, the pre-2.6 behaviour).
  Attention is transposes around batched matmuls: the score matmul's forward+backward measured 35.6 ms with views,
  7.7 ms without (torch 9.1). Set only when no NVIDIA device is visible (/dev/nvidiactl), before paddle is imported.
- glibc malloc: paddle's CPU allocator hands every tensor to malloc / free, and glibc served each activation above its
  mmap threshold with a fresh mmap and gave it back with munmap on free (strace: a 3 MiB tensor mapped and unmapped
  189 times in one small loop), so every op's output was page-faulted in anew: 160k page faults per forward+backward
  of Funnel small at batch 8 x 128. Raising the mmap threshold to glibc's maximum (32 MiB) and the trim threshold to
  1 GiB keeps freed blocks in the heap for the next op (32k faults per step); the cost is that the process keeps up
  to 1 GiB of freed heap instead of returning it. Applies to the whole process (torch's tensors too), at any time.
Existing settings are never overridden: nothing is changed where the variable, or any MALLOC_* / GLIBC_TUNABLES for
malloc, is already set; REPROKIT_NO_MALLOC_TUNING=1 turns the malloc part off.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, glibc's malloc.h
MMAP_THRESHOLD = 32 * 1024 * 1024  # the largest value glibc accepts on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024


def _is_amd() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            return "AuthenticAMD" in f.read(4096)
    except OSError:
        return False


def _tune_malloc() -> dict:
    if os.environ.get("REPROKIT_NO_MALLOC_TUNING") == "1" or "GLIBC_TUNABLES" in os.environ:
        return {}
    if any(k.startswith("MALLOC_") for k in os.environ):
        return {}
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return {}
    applied = {}
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1:
        applied["mallopt M_MMAP_THRESHOLD"] = MMAP_THRESHOLD
    if mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1:
        applied["mallopt M_TRIM_THRESHOLD"] = TRIM_THRESHOLD
    return applied


def apply() -> dict:
    applied = _tune_malloc()
    if "paddle" in sys.modules:
        return applied  # too late for MKL / OpenMP; leave the user's process as it is
    if _is_amd() and "MKL_DEBUG_CPU_TYPE" not in os.environ:
        os.environ["MKL_DEBUG_CPU_TYPE"] = applied["MKL_DEBUG_CPU_TYPE"] = "5"
    if "FLAGS_use_stride_kernel" not in os.environ and not os.path.exists("/dev/nvidiactl"):
        os.environ["FLAGS_use_stride_kernel"] = applied["FLAGS_use_stride_kernel"] = "0"
    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = applied["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    return applied


APPLIED = apply()

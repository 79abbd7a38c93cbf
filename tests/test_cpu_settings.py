"""paddlenlp_ext/_cpu.py: what importing the kit changes in a fresh process, that a user's own settings win, and that
the ports stay equal to the torch references with paddle's strided views on (a process that imported paddle first)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, os, sys
{before}
import paddlenlp_ext, paddle
print(json.dumps({{"applied": paddlenlp_ext._cpu.APPLIED,
                  "stride": paddle.get_flags(["FLAGS_use_stride_kernel"])["FLAGS_use_stride_kernel"],
                  "omp": os.environ.get("OMP_NUM_THREADS")}}))
"""
OURS = ("FLAGS_use_stride_kernel", "OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE")
gpu_visible = os.path.exists("/dev/nvidiactl")


def probe(env=None, before=""):
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], cwd=ROOT, env={**clean, **(env or {})},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(gpu_visible, reason="the stride setting is only applied where no NVIDIA device is visible")
def test_fresh_process_gets_the_settings():
    r = probe()
    assert r["stride"] is False and r["applied"]["FLAGS_use_stride_kernel"] == "0"
    assert r["omp"] == str(len(os.sched_getaffinity(0))) == r["applied"]["OMP_NUM_THREADS"]


def test_user_settings_win():
    r = probe({"FLAGS_use_stride_kernel": "1", "OMP_NUM_THREADS": "1"})
    assert r["stride"] is True and r["omp"] == "1"
    assert not any(k in r["applied"] for k in ("FLAGS_use_stride_kernel", "OMP_NUM_THREADS"))


def test_paddle_imported_first_is_left_alone():
    r = probe(before="import paddle")
    assert r["stride"] is True  # paddle's default, untouched
    assert r["applied"] == {}


@pytest.mark.parametrize("model,arch", [("funnel", "FunnelForQuestionAnswering"), ("gau_alpha", "GAUAlphaModel")])
def test_parity_with_strided_views_on(tmp_path, model, arch):
    """The default settings are what the parity suite runs under; here paddle keeps its strided views."""
    clean = {k: v for k, v in os.environ.items() if k != "FLAGS_use_stride_kernel"}
    cmd = [sys.executable, "compare.py", "--model", model, "--arch", arch, "--scale", "trained", "--steps", "1",
           "--no-layers", "--out", str(tmp_path), "--figure", "", "--name", "r"]
    out = subprocess.run(cmd, cwd=ROOT, env={**clean, "FLAGS_use_stride_kernel": "1"}, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "PASS" and report["runs"][0]["checks"]["forward_ids"]["failed"] == 0


@pytest.mark.skipif(gpu_visible, reason="the stride setting is only applied where no NVIDIA device is visible")
def test_task_scripts_paddle_backend_gets_the_settings():
    """A task script's first paddle import goes through the kit (the Paddle backend imports paddlenlp_ext first):
    without it, paddle on an AMD CPU runs MKL's slow path with one thread (a CLUE step measured 11x torch's)."""
    code = ("import json, os\nfrom tasks.backends import get_backend\nb = get_backend('paddle')\nb.framework()\n"
            "import paddle, paddlenlp_ext\nprint(json.dumps({'stride': paddle.get_flags(['FLAGS_use_stride_kernel'])"
            "['FLAGS_use_stride_kernel'], 'omp': os.environ.get('OMP_NUM_THREADS')}))")
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["stride"] is False and r["omp"] == str(len(os.sched_getaffinity(0)))


def test_training_flushes_denormals():
    """The trainers run with flush-to-zero (tasks.backends.flush_denormals): a denormal operand counts as 0 for
    paddle's CPU kernels too (without it a GAU-alpha base step at lr 5e-4 ran 5x slower)."""
    code = ("import numpy as np, paddlenlp_ext, paddle\nx = paddle.to_tensor(np.array([1e-39], 'float32'))\n"
            "before = float((x * 1.0).numpy()[0])\nfrom tasks.backends import flush_denormals\n"
            "assert flush_denormals()\nafter = float((x * 1.0).numpy()[0])\nprint(before, after)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = map(float, out.stdout.split()[-2:])
    assert before > 0 and after == 0.0

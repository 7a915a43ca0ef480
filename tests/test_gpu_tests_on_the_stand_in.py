"""The GPU-only tests run here too, on the CPU stand-in for CuPy (tests/fake_device.py): a
subprocess runs test_cupy.py and test_cupy_twins.py with the tests.fake_gpu plugin, which makes
the "cupy" backend the stand-in. So on a machine without a GPU every line of those tests, and
the cupy backend's Python around its kernels, still runs and must pass; only the CUDA kernels
themselves wait for a GPU (where the same tests run on CuPy and are not skipped)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_tests_pass_on_the_cpu_stand_in():
    files = ["tests/test_cupy.py", "tests/test_cupy_twins.py"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.fake_gpu", "-p", "no:cacheprovider",
         *files],
        cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary, summary

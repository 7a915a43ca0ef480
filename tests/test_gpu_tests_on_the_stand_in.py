"""The GPU-only tests run here too, on the CPU stand-in for CuPy (tests/fake_device.py): a
subprocess runs test_cupy.py, test_cupy_twins.py and test_cupy_twins_dtypes.py with the
tests.fake_gpu plugin, which makes the "cupy" backend the stand-in. So on a machine without a
GPU every line of those tests, and the cupy backend's Python around its kernels, still runs and
must pass; only the CUDA kernels themselves wait for a GPU (where the same tests run on CuPy and
are not skipped).

The subprocess takes minutes (a Python stand-in for every array operation), so it is a background
run (tests/background.py): conftest.py starts it as soon as the suite is collected, it runs on
another core beside the rest, and the test below, moved to the end, waits for it."""

import sys

import pytest

from tests.background import Run

# the stand-in's CuPy calls are Python: the run takes minutes beside the suite
# (test_cupy_twins_dtypes's NVRTC check needs the real CuPy's headers: .ci/run runs it)
FILES = ["tests/test_cupy.py", "tests/test_cupy_twins.py", "tests/test_cupy_twins_dtypes.py"]
NVRTC_CHECK = "tests/test_cupy_twins_dtypes.py::test_float16_kernels_compile_and_compute_in_float"
BACKGROUND = Run([sys.executable, "-m", "pytest", "-p", "tests.fake_gpu", "-p", "no:cacheprovider",
                  *FILES, "--deselect", NVRTC_CHECK], timeout_s=1200)  # fmt: skip


@pytest.mark.background
def test_the_gpu_tests_pass_on_the_cpu_stand_in():
    returncode, stdout, stderr = BACKGROUND.wait()
    summary = stdout.strip().splitlines()[-1] if stdout.strip() else stderr[-2000:]
    assert returncode == 0, stdout[-4000:] + stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary, summary

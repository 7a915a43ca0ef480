"""The GPU-only tests run here too, on the CPU stand-in for CuPy (tests/fake_device.py): a
subprocess runs test_cupy.py and test_cupy_twins.py with the tests.fake_gpu plugin, which makes
the "cupy" backend the stand-in. So on a machine without a GPU every line of those tests, and
the cupy backend's Python around its kernels, still runs and must pass; only the CUDA kernels
themselves wait for a GPU (where the same tests run on CuPy and are not skipped).

The subprocess takes minutes (a Python stand-in for every array operation), so conftest.py starts
it as soon as the suite is collected and it runs on another core beside the rest; the test below
waits for it. Run alone (`pytest tests/test_gpu_tests_on_the_stand_in.py`), the test starts it."""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "pytest", "-p", "tests.fake_gpu", "-p", "no:cacheprovider",
           "tests/test_cupy.py", "tests/test_cupy_twins.py"]  # fmt: skip
TIMEOUT_S = 1200

_started: list = []  # [(process, its stdout file, its stderr file)] once started


def start() -> tuple:
    """Start the subprocess once (conftest.py calls this after collection); its handles."""
    if not _started:
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        _started.append((subprocess.Popen(COMMAND, cwd=ROOT, stdout=out, stderr=err), out, err))
    return _started[0]


def stop() -> None:
    """Kill the subprocess if it still runs (the session ended before its test waited for it),
    and close its output files (its test reads them first)."""
    for run, out, err in _started:
        if run.poll() is None:
            run.kill()
            run.wait()
        out.close()
        err.close()


def test_the_gpu_tests_pass_on_the_cpu_stand_in():
    run, out, err = start()
    try:
        run.wait(timeout=TIMEOUT_S)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    finally:
        stop()
    summary = stdout.strip().splitlines()[-1] if stdout.strip() else stderr[-2000:]
    assert run.returncode == 0, stdout[-4000:] + stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary, summary

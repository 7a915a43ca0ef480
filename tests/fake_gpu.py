"""A pytest plugin that makes the "cupy" backend the CPU stand-in for CuPy (tests/fake_device.py),
so the GPU-only tests run their code on a machine without a GPU:

    python -m pytest -p tests.fake_gpu tests/test_cupy.py

What this proves is that the tests and the cupy backend's Python are sound (every call, every
shape, every host copy on the stand-in); the CUDA kernels themselves run only on a real GPU.
"""

import sys

from minis2s import backend
from minis2s.kernels import cupy_kernels
from tests.fake_device import Device, fake_cupy


def pytest_configure(config):
    """Before any test module is imported (so tests.gpu finds "cupy" available)."""
    if "tests.gpu" in sys.modules:
        raise RuntimeError("load this plugin with -p tests.fake_gpu, before the tests")
    here, real_make = backend.available(), backend._make
    sys.modules["cupy"] = fake_cupy
    fake_cupy.ndarray = Device

    def make(name):
        if name == "cupy":
            return backend.Backend("cupy", fake_cupy, cupy_kernels())
        return real_make(name)

    backend._make = make
    backend.available = lambda: [*here, "cupy"]

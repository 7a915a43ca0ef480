"""What the GPU tests share: the mark that skips them where the cupy backend is not usable, and
the array modules a twin is run on (NumPy everywhere, CuPy where there is a GPU)."""

import pytest

from minis2s import backend

HAS_GPU = "cupy" in backend.available()
needs_gpu = [  # `pytest -m gpu` selects these
    pytest.mark.gpu,
    pytest.mark.skipif(
        not HAS_GPU, reason="needs CuPy and an NVIDIA GPU: the cupy backend is not usable here"
    ),
]
ARRAY_MODULES = pytest.mark.parametrize(
    "xp_name", ["numpy", pytest.param("cupy", marks=needs_gpu)], ids=["numpy", "cupy"]
)


def array_module(name):
    """numpy, or cupy (imported only when asked, on a machine that has it)."""
    if name == "cupy":
        import cupy

        return cupy
    import numpy

    return numpy

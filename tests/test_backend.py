"""The backend switch: names, errors that say what is available, identical initial weights."""

import importlib.util

import numpy as np
import pytest

from minis2s import backend
from minis2s.models import ModelConfig, Seq2Seq


def test_default_is_numpy_and_use_switches():
    assert backend.current().name == "numpy"
    be = backend.use("numba")
    assert backend.current() is be and be.name == "numba" and be.xp is np


def test_unknown_backend_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'jax'.*numpy, numba, cupy.*available"):
        backend.use("jax")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_cupy_without_cupy_says_how_to_install():
    with pytest.raises(RuntimeError, match=r"pip install 'minis2s\[gpu\]'"):
        backend.use("cupy")
    assert "cupy" not in backend.available()


def test_kernel_lookup_falls_back_to_the_reference():
    def reference():
        return "ref"

    assert backend.use("numpy").kernel("lstm.forward_loop", reference) is reference
    assert backend.use("numba").kernel("nothing.here", reference) is reference


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_same_initial_parameters_on_every_backend(name):
    cfg = ModelConfig(src_vocab=9, tgt_vocab=9, emb=4, hidden=5)
    backend.use("numpy")
    ref = Seq2Seq(cfg, seed=7).params
    backend.use(name)
    other = Seq2Seq(cfg, seed=7).params
    for k in ref:
        np.testing.assert_array_equal(backend.to_numpy(other[k]), ref[k])


def test_to_numpy_and_array_module_of_numpy_arrays():
    a = np.arange(3.0)
    assert backend.get_array_module(a) is np
    assert backend.to_numpy(a) is a


def test_numba_pins_scipys_blas_only_where_the_twins_fall_back_to_it():
    """The twins' GEMMs run on NumPy's OpenBLAS with all its threads (minis2s.kernels.blas);
    only the fallback calls SciPy's, and two 2-thread pools on 2 cores measured 4x slower, so
    then SciPy's gets one thread (run in a child process by tests/test_numba_blas.py)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's OpenBLAS so /proc lists it)

    from minis2s.kernels import blas
    from minis2s.threads import _blas_call, _is_numpys, blas_threads, openblas_libs

    scipy_libs = [lib for lib in openblas_libs() if not _is_numpys(lib)]
    assert scipy_libs, "SciPy's OpenBLAS should be loaded"
    for lib in scipy_libs:
        _blas_call(lib, "set")(2)
    numpys = blas_threads()
    backend.use("numba")
    want = 1 if blas.SOURCE == "scipy" else 2
    assert [_blas_call(lib, "get")() for lib in scipy_libs] == [want] * len(scipy_libs)
    assert blas_threads() == numpys  # NumPy's own pool is left as it was

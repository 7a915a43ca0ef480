"""The backend switch: names, errors that say what is available, identical initial weights."""

import importlib.util
import os
import warnings

import numpy as np
import pytest

from minis2s import backend
from minis2s.models import ModelConfig, Seq2Seq


def test_default_is_numpy_and_use_switches():
    assert backend.current().name == "numpy"
    be = backend.use("numba")
    assert backend.current() is be and be.name == "numba" and be.xp is np
    assert backend.use("NumPy").name == "numpy"  # --backend Numba works as numba does


def test_the_first_numba_run_says_it_compiles(monkeypatch):
    """The twins compile on first use (up to 30 s), which looks like a hang without a word;
    whether Numba has any of them cached is read from its own index files. The note comes once
    a process (a benchmark switches backends many times)."""
    from minis2s.kernels import _numba_modules, numba_cache_is_cold, numba_loss

    backend.use("numba").kernel("loss.log_softmax", None)(np.zeros((2, 3), np.float32))
    cache_file = numba_loss.log_softmax_rows._cache._cache_file  # Numba's, as the check reads it
    assert os.path.exists(cache_file._index_path) and not numba_cache_is_cold()
    cache_files = [
        obj._cache._cache_file
        for module in _numba_modules()
        for obj in vars(module).values()
        if hasattr(getattr(obj, "_cache", None), "_cache_file")
    ]
    assert cache_file in cache_files and len(cache_files) > 10  # every twin module's
    for f in cache_files:
        if f is not cache_file:
            monkeypatch.setattr(f, "_index_path", "/no/such/index.nbi")
    assert not numba_cache_is_cold()  # one twin compiled: not the first run (a layer bench
    monkeypatch.setattr(cache_file, "_index_path", "/no/such/index.nbi")  # never compiles loss)
    assert numba_cache_is_cold()
    monkeypatch.setattr(backend, "_told_cold", False)
    with pytest.warns(UserWarning, match="compiles its kernels on this first run"):
        backend.use("numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backend.use("numba")  # said once


def test_unknown_backend_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'jax'.*numpy, numba, cupy.*available"):
        backend.use("jax")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_cupy_without_cupy_says_how_to_install():
    with pytest.raises(RuntimeError, match=r"pip install cupy-cuda12x \(or cupy-cuda13x"):
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
        _blas_call(lib, "set_num_threads")(2)
    numpys = blas_threads()
    backend.use("numba")
    want = 1 if blas.SOURCE == "scipy" else 2
    assert [_blas_call(lib, "get_num_threads")() for lib in scipy_libs] == [want] * len(scipy_libs)
    assert blas_threads() == numpys  # NumPy's own pool is left as it was


def test_to_device_on_the_cpu_casts_and_keeps_the_arrays():
    ids, mask = np.array([[1, 2]]), np.array([[1, 0]])
    got = backend.current().to_device([ids, mask], [None, np.float32])
    assert got[0] is ids and got[1].dtype == np.float32
    np.testing.assert_array_equal(got[1], mask)


def test_to_device_on_a_gpu_is_one_copy_of_every_host_array():
    """The cupy path on the CPU stand-in (tests.fake_device): the arrays come back with their
    values, shapes and dtypes, each starting at a multiple of ALIGN bytes of one buffer, which
    one copy from pinned memory filled; an array already on the device is only cast."""
    from tests.fake_device import TO_DEVICE, Device, fake_cupy, on_fake_device

    r = np.random.default_rng(0)
    host = [r.integers(0, 9, (3, 5)), r.random((3, 5)), np.zeros((0, 4)), r.random(7)]
    dtypes = [None, np.float32, np.float64, np.float64]
    with on_fake_device():
        already = fake_cupy.arange(3.0)
        TO_DEVICE.clear()
        got = backend.current().to_device(host + [already], dtypes + [np.float32])
        assert sum(TO_DEVICE.values()) == 1
    for a, dt, g in zip(host, dtypes, got, strict=False):
        assert isinstance(g, Device) and g.shape == a.shape and g.dtype == (dt or a.dtype)
        np.testing.assert_array_equal(g.view(np.ndarray), a.astype(dt or a.dtype))
    base = got[0].base
    while base.base is not None:
        base = base.base
    starts = [g.__array_interface__["data"][0] - base.__array_interface__["data"][0]
              for g in got[:4] if g.size]  # fmt: skip
    assert all(s % backend.ALIGN == 0 for s in starts) and len(set(starts)) == 3
    assert got[4].dtype == np.float32 and list(got[4]) == [0.0, 1.0, 2.0]


def test_a_pinned_buffer_is_kept_until_its_copy_has_run(monkeypatch):
    """The copy from pinned memory is asynchronous: the buffer must outlive the call until the
    event recorded after it has passed, or the pool could hand it to the next batch mid-copy."""
    from tests.fake_device import fake_cupy, on_fake_device

    class Pending:
        done = False

        def record(self):
            pass

    events = []
    monkeypatch.setattr(
        fake_cupy.cuda, "Event", lambda **kw: events.append(Pending()) or events[-1]
    )
    monkeypatch.setattr(backend, "_in_flight", [])
    with on_fake_device():
        be = backend.current()
        be.to_device([np.ones(3)], [None])
        be.to_device([np.ones(4)], [None])
        assert [e for e, _ in backend._in_flight] == events  # both copies may still run
        events[0].done = True
        be.to_device([np.ones(5)], [None])
    assert [e for e, _ in backend._in_flight] == events[1:]  # the finished one let go
    assert [buf.size for _, buf in backend._in_flight] == [backend.ALIGN, backend.ALIGN]


def test_a_backend_without_its_twins_runs_the_reference():
    def reference():
        pass

    assert backend.use("numba").kernel("lstm.forward_loop", reference) is not reference
    be = backend.use("numba", twins=False)
    assert be.name == "numba" and be.xp is np and be.kernels == {}
    assert be.kernel("lstm.forward_loop", reference) is reference

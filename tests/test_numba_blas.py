"""`minis2s.kernels.blas`: the twins' GEMM helpers equal NumPy's products, say clearly what they
cannot take, and run on NumPy's own OpenBLAS where NumPy ships one; the fallback to SciPy's BLAS
(MINIS2S_BLAS=scipy) is run in a child process, since the choice is made once at import."""

import ctypes
import glob
import json
import os
import subprocess
import sys

import llvmlite.binding as ll
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numba import njit

from minis2s.gradcheck import rel_error
from minis2s.kernels import blas, numba_gru, numba_lstm, numba_rnn
from tests.strategies import dims

TOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = pytest.mark.parametrize("dtype", list(TOL), ids=["float32", "float64"])
TWINS = (numba_rnn, numba_lstm, numba_gru)
sizes = st.one_of(dims, st.integers(5, 80))  # size 1 and BLAS's blocked paths


def operands(M, N, K, dtype, seed, trans_b):
    r = np.random.default_rng(seed)
    a = r.standard_normal((M, K)).astype(dtype)
    b = r.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    return a, b, np.full((M, N), np.nan, dtype=dtype)  # NaN: every entry must be written


@DTYPES
@pytest.mark.parametrize("trans_b", [True, False], ids=["gemm_nt", "gemm_nn"])
@given(M=sizes, N=sizes, K=sizes, seed=st.integers(0, 2**16))
@example(M=1, N=1, K=1, seed=0)
@example(M=64, N=2048, K=512, seed=0)  # an LSTM step at N=64, H=512
def test_gemm_equals_the_float64_product(dtype, trans_b, M, N, K, seed):
    a, b, out = operands(M, N, K, dtype, seed, trans_b)
    (blas.gemm_nt if trans_b else blas.gemm_nn)(a, b, out)
    b64 = b.astype(np.float64)
    want = a.astype(np.float64) @ (b64.T if trans_b else b64)
    assert out.dtype == dtype and rel_error(out, want) < TOL[dtype]


@DTYPES
@pytest.mark.parametrize("trans_b", [True, False], ids=["gemm_nt", "gemm_nn"])
@given(M=sizes, N=sizes, K=sizes, T=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_a_may_be_a_row_strided_view(dtype, trans_b, M, N, K, T, seed):
    """a = A[:, t] of an (M, T, K) array, read in place with its row stride (a backward loop's
    da[:, t]): the same result as a contiguous copy."""
    a, b, out = operands(M, N, K, dtype, seed, trans_b)
    A = np.random.default_rng(seed).standard_normal((M, T, K)).astype(dtype)
    t = seed % T
    A[:, t] = a
    (blas.gemm_nt if trans_b else blas.gemm_nn)(A[:, t], b, out)
    b64 = b.astype(np.float64)
    want = a.astype(np.float64) @ (b64.T if trans_b else b64)
    assert rel_error(out, want) < TOL[dtype]


@pytest.mark.parametrize("M, N, K", [(0, 3, 2), (2, 0, 3), (2, 3, 0)])
def test_empty_products(M, N, K):
    a, b, out = operands(M, N, K, np.float64, 0, True)
    blas.gemm_nt(a, b, out)
    np.testing.assert_array_equal(out, np.zeros((M, N)))


def test_bad_operands_raise_value_errors_that_name_them():
    a, b, out = np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"gemm_nt: b has shape \(4, 2\), expected \(N, K\) = "):
        blas.gemm_nt(a, np.zeros((4, 2)), out)
    with pytest.raises(ValueError, match=r"gemm_nn: b has shape \(4, 3\), expected \(K, N\) = "):
        blas.gemm_nn(a, b, out)
    with pytest.raises(ValueError, match=r"out has shape \(3, 4\), expected \(M, N\) = \(2, 4\)"):
        blas.gemm_nt(a, b, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="gemm_nt: a must have contiguous rows"):
        blas.gemm_nt(np.zeros((2, 6))[:, ::2], b, out)
    for views in [(a, np.zeros((3, 4)).T, out), (a, b, np.zeros((4, 2)).T)]:
        with pytest.raises(ValueError, match="gemm_nt: b and out must be C-contiguous"):
            blas.gemm_nt(*views)
    want = r"gemm: a, b, out must be 2-D, all float32 or all float64; got array\(float32, 2d"
    with pytest.raises(ValueError, match=want):
        blas.gemm_nt(a.astype(np.float32), b, out)
    for args in [(a[0], b, out), tuple(x.astype(np.int64) for x in (a, b, out))]:
        with pytest.raises(ValueError, match="must be 2-D, all float32 or all float64; got"):
            blas.gemm_nt(*args)


def test_numpys_own_openblas_is_found_where_its_wheel_ships_one():
    """NumPy's wheels keep their OpenBLAS in numpy.libs/ next to numpy/."""
    shipped = glob.glob(os.path.dirname(np.__file__) + ".libs/*openblas64*")
    if os.environ.get("MINIS2S_BLAS") == "scipy":
        assert (blas.SOURCE, blas.LIBRARY) == ("scipy", None)
    elif shipped:
        assert blas.SOURCE == "numpy-openblas" and os.path.samefile(blas.LIBRARY, shipped[0])
    else:
        assert blas.SOURCE == ("numpy-openblas" if blas.numpy_gemm() else "scipy")


NUMPYS = blas.SOURCE == "numpy-openblas"  # else the tests below check the fallback


def test_registered_symbols_are_numpys_gemms():
    """The library's own GEMMs, under NumPy 2's names (scipy_cblas_sgemm64_) or NumPy 1's
    (cblas_sgemm64_, whose OpenBLAS has no scipy_ ones)."""
    for t in "sd":
        got = ll.address_of_symbol(f"minis2s_cblas_{t}gemm")
        if NUMPYS:
            numpys = ctypes.CDLL(blas.LIBRARY)
            names = (f"scipy_cblas_{t}gemm64_", f"cblas_{t}gemm64_")
            found = [getattr(numpys, n) for n in names if hasattr(numpys, n)]
            assert found and got == ctypes.cast(found[0], ctypes.c_void_p).value
        else:
            assert not got


def test_twins_call_the_chosen_blas():
    """A freshly compiled twin (cached code cannot be inspected) calls NumPy's gemm through our
    symbols, not Numba's `np.dot` (numba_xxgemm, SciPy's BLAS); the fallback the other way."""
    for twin in TWINS:
        assert twin.gemm_nt is blas.gemm_nt and twin.gemm_nn is blas.gemm_nn
        suffix = twin.forward_loop_into.py_func.__qualname__.endswith("__scipy_blas")
        assert suffix is not NUMPYS
    r = np.random.default_rng(0)
    for dtype, t in [(np.float32, "s"), (np.float64, "d")]:
        xw, h0, W_hh = r.standard_normal((2, 3, 4)), r.standard_normal((2, 4)), np.eye(4)
        fresh = njit(error_model="numpy")(numba_rnn.forward_loop_into.py_func)
        arrays = (xw, h0, W_hh, np.ones((2, 3)), np.empty((2, 4)), np.empty((2, 3, 4)))
        args = [v.astype(dtype) for v in arrays]  # xw, h, W_hh, m, scratch a, hs_state
        fresh(*args)
        ir = fresh.inspect_llvm(fresh.signatures[0])
        assert (f"minis2s_cblas_{t}gemm" in ir, "numba_xxgemm" in ir) == (NUMPYS, not NUMPYS)


FALLBACK = """
import json, numpy as np
from minis2s import backend
from minis2s.kernels import blas, numba_rnn
from minis2s.layers import rnn
import scipy.linalg.cython_blas  # SciPy's OpenBLAS loaded: two pools, both at 2 threads
from minis2s.threads import _blas_call, _is_numpys, blas_threads, openblas_libs, set_blas_threads
set_blas_threads(2)
numpys = blas_threads()
backend.use("numba")
r = np.random.default_rng(0)
args = (r.standard_normal((3, 4, 5)), r.standard_normal((3, 5)), r.standard_normal((5, 5)))
m = np.array([[1.0, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]])
a, b, out = r.standard_normal((3, 5)), r.standard_normal((4, 5)), np.empty((3, 4))
blas.gemm_nt(a, b, out)
print(json.dumps({
    "source": blas.SOURCE, "library": blas.LIBRARY, "numpys": [numpys, blas_threads()],
    "scipys": [_blas_call(lib, "get_num_threads")() for lib in openblas_libs()
               if not _is_numpys(lib)],
    "qualname": numba_rnn.forward_loop_into.py_func.__qualname__,
    "twin": float(np.abs(numba_rnn.forward_loop(*args, m) - rnn.forward_loop(*args, m)).max()),
    "gemm": float(np.abs(out - a @ b.T).max()),
}))
"""


def test_fallback_to_scipys_blas_with_its_own_cache_and_one_scipy_thread():
    """Cached twins that call our symbols must never load here: they would abort the process."""
    env = {**os.environ, "MINIS2S_BLAS": "scipy"}
    run = subprocess.run([sys.executable, "-c", FALLBACK], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.splitlines()[-1])
    assert (got["source"], got["library"]) == ("scipy", None)
    assert got["numpys"] == [2, 2]  # NumPy's pool (read first) left as it was
    assert got["scipys"] and all(n == 1 for n in got["scipys"])
    assert got["qualname"].startswith(
        "forward_loop_into__scipy_blas__"
    )  # Numba's cache file names follow it
    assert got["twin"] < 1e-12 and got["gemm"] < 1e-12


def test_cached_twins_are_named_after_the_files_they_compile_in():
    """Numba's cache checks only the source of the file that defines a function: a twin compiled
    before an edit to blas.py or fast_math.py (inlined into it) must not load after it."""
    import hashlib
    from pathlib import Path

    from minis2s.kernels import numba_attention, numba_gru, numba_loss, numba_lstm, numba_rnn

    here = Path(blas.__file__).parent
    digest = hashlib.sha256(
        (here / "blas.py").read_bytes() + (here / "fast_math.py").read_bytes()
    ).hexdigest()[:12]
    assert blas.CACHE_TAG == digest
    for f in (
        numba_rnn.forward_loop_into,
        numba_lstm.step_forward_into,
        numba_gru.backward_loop_into,
        numba_attention.forward_into,
        numba_loss.log_softmax_rows,
        numba_loss.row_sum_exp,
    ):
        assert f.py_func.__qualname__.endswith(f"__{digest}"), f.py_func.__qualname__

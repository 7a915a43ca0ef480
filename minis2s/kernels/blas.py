"""The Numba twins' per-step GEMMs, on NumPy's own OpenBLAS: one BLAS thread pool per process.

Why: in `@njit` code `np.dot` calls SciPy's bundled OpenBLAS, while every GEMM outside the twins'
loops runs on NumPy's. Two pools on the same cores fight (4x slower at 2 threads each on 2
cores), and SciPy's pool at one thread left the per-step GEMMs on one core: at N=64, H=512 the
twins were slower than the NumPy reference.

How: NumPy's wheels link an ILP64 OpenBLAS exporting `scipy_cblas_sgemm64_` / `..._dgemm64_`
(NumPy 1.x: `cblas_sgemm64_`). We look them up through NumPy's core extension (so it is the
library NumPy itself calls), register them with LLVM under our own names and declare those to
Numba as external functions, which `gemm_nt` / `gemm_nn` call. Numba resolves such names when
it loads compiled code, so on-disk caching keeps working: the twins import this module first.

Fallback: where NumPy's BLAS is something else (MKL, Accelerate, an LP64 OpenBLAS), or with
MINIS2S_BLAS=scipy, the helpers use `np.dot` and `minis2s.kernels.numba_kernels` gives SciPy's
pool one thread. `SOURCE` says which ("numpy-openblas" or "scipy"), `LIBRARY` the path of
NumPy's OpenBLAS where /proc tells. A compiled twin embeds its GEMM, and one cached under the
other choice must never load (an unresolved name aborts the process): see `twin_jit`.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import os
from collections.abc import Callable
from pathlib import Path

import llvmlite.binding as ll
import numpy as np
from numba import njit, types
from numba.extending import overload

from minis2s.threads import openblas_libs

NUMPY_OPENBLAS, SCIPY = "numpy-openblas", "scipy"
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS enums


def _address(func: object) -> int | None:
    return None if func is None else ctypes.cast(func, ctypes.c_void_p).value


def numpy_gemm() -> tuple[str | None, int, int] | None:
    """(path or None, sgemm address, dgemm address) of NumPy's ILP64 OpenBLAS, else None."""
    try:
        core = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # NumPy 1.x
        core = importlib.import_module("numpy.core._multiarray_umath")
    numpys = ctypes.CDLL(core.__file__)  # a lookup here also searches the libraries it links
    for prefix in ("scipy_cblas_", "cblas_"):
        sgemm, dgemm = (_address(getattr(numpys, f"{prefix}{t}gemm64_", None)) for t in "sd")
        if sgemm and dgemm:
            name = f"{prefix}sgemm64_"
            libs = [lib for lib in openblas_libs() if _address(getattr(lib, name, None)) == sgemm]
            return (libs[0]._name if libs else None), sgemm, dgemm
    return None


def _choose() -> tuple[str, str | None]:
    found = None if os.environ.get("MINIS2S_BLAS") == SCIPY else numpy_gemm()
    if found is None:
        return SCIPY, None
    path, sgemm, dgemm = found
    ll.add_symbol("minis2s_cblas_sgemm", sgemm)  # before any cached twin is loaded
    ll.add_symbol("minis2s_cblas_dgemm", dgemm)
    return NUMPY_OPENBLAS, path


SOURCE, LIBRARY = _choose()


def _cache_tag() -> str:
    """A digest of the files whose code Numba compiles into a cached twin besides the twin's own:
    this one (the GEMM calls and their checks) and fast_math (tanh, sigmoid and exp, inlined).
    Numba checks only the source of the file that defines a cached function, so without the tag
    an edit to either file would leave every twin compiled before it loading from the cache."""
    h = hashlib.sha256()
    for name in ("blas.py", "fast_math.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:12]


CACHE_TAG = _cache_tag()


def cached_njit(**options: object) -> Callable[[Callable], Callable]:
    """`njit(cache=True, **options)`, its cache files named after CACHE_TAG too, so that they are
    only loaded while blas.py and fast_math.py are what they were compiled from."""

    def wrap(func: Callable) -> Callable:
        func.__qualname__ += f"__{CACHE_TAG}"
        return njit(cache=True, **options)(func)

    return wrap


def twin_jit(func: Callable) -> Callable:
    """`njit(cache=True, error_model="numpy")` with the on-disk cache kept apart per `SOURCE`:
    Numba names cache files after the function's qualified name, so the fallback's get a suffix
    (and every twin's the digest of the files it compiles in, `cached_njit`)."""
    if SOURCE != NUMPY_OPENBLAS:
        func.__qualname__ += "__scipy_blas"
    return cached_njit(error_model="numpy")(func)


def _cblas_gemm(real: types.Type) -> types.ExternalFunction:
    """cblas_?gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)."""
    i32, i64, ptr = types.int32, types.int64, types.voidptr
    sig = types.void(i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64)
    return types.ExternalFunction(f"minis2s_cblas_{'s' if real == types.float32 else 'd'}gemm", sig)


_GEMM = {types.float32: _cblas_gemm(types.float32), types.float64: _cblas_gemm(types.float64)}


@njit
def _shape(s):
    return "(" + str(s[0]) + ", " + str(s[1]) + ")"


@njit
def _sizes(a, b, out, trans_b):
    """(M, N, K, lda) of out = a @ op(b); ValueError unless the shapes fit, b and out are
    C-contiguous and a's rows are (a row-strided view such as da[:, t] of a (N, T, G*H) array
    is read in place: lda is its row stride in elements)."""
    where = "gemm_nt" if trans_b else "gemm_nn"
    M, K = a.shape
    N = out.shape[1]
    want_b, letters = ((N, K), "(N, K) = ") if trans_b else ((K, N), "(K, N) = ")
    if b.shape != want_b:
        got = _shape(b.shape)
        raise ValueError(where + ": b has shape " + got + ", expected " + letters + _shape(want_b))
    if out.shape[0] != M:
        got = _shape(out.shape)
        raise ValueError(where + ": out has shape " + got + ", expected (M, N) = " + _shape((M, N)))
    if not (b.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError(where + ": b and out must be C-contiguous (np.ascontiguousarray)")
    size = a.itemsize
    if a.size > 0 and ((K > 1 and a.strides[1] != size) or (M > 1 and a.strides[0] < K * size)):
        raise ValueError(where + ": a must have contiguous rows (np.ascontiguousarray)")
    return M, N, K, max(a.strides[0] // size, K, 1)


def _gemm(a, b, out, trans_b):
    """out = a @ (b.T if trans_b else b), compiled per dtype and `SOURCE` by the overload below."""
    raise NotImplementedError("for Numba only: call gemm_nt or gemm_nn")


@overload(_gemm)
def _gemm_typed(a, b, out, trans_b):
    """Run when Numba types a call: a ValueError for wrong types, else np.dot or our BLAS call."""
    arrays = [isinstance(x, types.Array) and x.ndim == 2 and x.dtype in _GEMM for x in (a, b, out)]
    if not (all(arrays) and a.dtype == b.dtype == out.dtype):
        message = f"gemm: a, b, out must be 2-D, all float32 or all float64; got {a}, {b}, {out}"

        def wrong_types(a, b, out, trans_b):
            raise ValueError(message)

        return wrong_types
    if SOURCE == SCIPY:

        def dot(a, b, out, trans_b):
            _sizes(a, b, out, trans_b)
            a = np.ascontiguousarray(a)  # np.dot's BLAS path wants contiguous operands
            if trans_b:
                np.dot(a, b.T, out)
            else:
                np.dot(a, b, out)

        return dot
    gemm = _GEMM[out.dtype]

    def blas(a, b, out, trans_b):
        M, N, K, lda = _sizes(a, b, out, trans_b)
        if M == 0 or N == 0 or K == 0:  # BLAS wants leading dimensions >= 1
            out[:] = 0
            return
        op_b, ldb = (_TRANS, K) if trans_b else (_NO_TRANS, N)
        a_, b_, out_ = a.ctypes, b.ctypes, out.ctypes
        gemm(_ROW_MAJOR, _NO_TRANS, op_b, M, N, K, 1.0, a_, lda, b_, ldb, 0.0, out_, N)

    return blas


@njit
def gemm_nt(a, b, out):
    """out (M, N) = a (M, K) @ b (N, K)^T: one dtype, float32 or float64; b and out C-contiguous,
    a with contiguous rows."""
    _gemm(a, b, out, True)


@njit
def gemm_nn(a, b, out):
    """out (M, N) = a (M, K) @ b (K, N): one dtype, float32 or float64; b and out C-contiguous,
    a with contiguous rows."""
    _gemm(a, b, out, False)


@njit
def step_products(x, h_prev, W_ih, W_hh, nn, xW, hW):
    """A cell step's two input products, xW = x W_ih^T and hW = h_prev W_hh^T (out (N, G*H)).
    With `nn`, W_ih and W_hh hold the contiguous transposes (D, G*H), (H, G*H) that
    `step_weights` made, and the products run as NN GEMMs; else as NT GEMMs on W itself."""
    if nn:
        gemm_nn(np.ascontiguousarray(x), W_ih, xW)
        gemm_nn(np.ascontiguousarray(h_prev), W_hh, hW)
    else:
        gemm_nt(np.ascontiguousarray(x), np.ascontiguousarray(W_ih), xW)
        gemm_nt(np.ascontiguousarray(h_prev), np.ascontiguousarray(W_hh), hW)

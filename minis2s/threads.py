"""BLAS thread pools: read and set them at run time (OpenBLAS, through ctypes).

NumPy and SciPy each bundle their own OpenBLAS, each with its own thread pool. The Numba twins'
per-step GEMMs call NumPy's (`minis2s.kernels.blas`), so one pool serves the whole process with
all its threads. Where NumPy has no such OpenBLAS the twins fall back to Numba's `np.dot`, which
calls SciPy's, while the GEMMs outside the loops call NumPy's BLAS; both pools at 2 threads on
2 cores fight over the cores (a numba LSTM step measured 4x slower than with SciPy's pool at 1
thread), so only then does `backend.use("numba")` give SciPy's pool one thread.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable


def openblas_libs() -> list[ctypes.CDLL]:
    """The OpenBLAS libraries loaded in this process (NumPy's first), found via /proc (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return []
    return [ctypes.CDLL(p) for p in sorted(paths, key=lambda p: "numpy" not in p)]


def _blas_call(lib: ctypes.CDLL, verb: str) -> Callable | None:
    for name in (f"scipy_openblas_{verb}_num_threads64_", f"scipy_openblas_{verb}_num_threads",
                 f"openblas_{verb}_num_threads64_", f"openblas_{verb}_num_threads"):  # fmt: skip
        if hasattr(lib, name):
            return getattr(lib, name)
    return None


def blas_threads() -> int | None:
    """NumPy's BLAS thread count (OpenBLAS), else from the environment, else None (unknown)."""
    for lib in openblas_libs():
        get = _blas_call(lib, "get")
        if get is not None:
            return int(get())
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return None


def set_blas_threads(n: int, numpy_too: bool = True) -> None:
    """Set the thread count of every loaded OpenBLAS (numpy_too=False: all but NumPy's)."""
    for lib in openblas_libs():
        if not numpy_too and _is_numpys(lib):
            continue
        put = _blas_call(lib, "set")
        if put is not None:
            put(ctypes.c_int(n))


def _is_numpys(lib: ctypes.CDLL) -> bool:
    # NumPy's wheel keeps its copy in numpy.libs/ (its file is named libscipy_openblas too)
    return "numpy" in os.path.dirname(lib._name)


def single_thread_scipy_blas() -> None:
    """Give SciPy's OpenBLAS (the one the fallback twins call) one thread; NumPy's is untouched."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS so /proc lists it)

    set_blas_threads(1, numpy_too=False)

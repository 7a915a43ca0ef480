"""BLAS thread pools: read and set them at run time (OpenBLAS, through ctypes).

NumPy and SciPy each bundle their own OpenBLAS, each with its own thread pool. The Numba twins'
per-step GEMMs call NumPy's (`minis2s.kernels.blas`), so one pool serves the whole process with
all its threads. Where NumPy has no such OpenBLAS the twins fall back to Numba's `np.dot`, which
calls SciPy's, while the GEMMs outside the loops call NumPy's BLAS; both pools at 2 threads on
2 cores fight over the cores (a numba LSTM step measured 4x slower than with SciPy's pool at 1
thread), so only then does `backend.use("numba")` give SciPy's pool one thread.

OpenBLAS also picks its kernels for the CPU when it loads ("Haswell" for AVX2, "SkylakeX" and
later for AVX-512), unless OPENBLAS_CORETYPE names a family. A family below the CPU can halve the
GEMM rate (measured: 1024^3 at 272 GFLOP/s with Haswell's kernels, 494 with SkylakeX's, on 2 Zen 5
cores), while PyTorch's own kernels still use AVX-512; the benchmarks report the family and say
so (`blas_core`, `forced_core_note`).
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


def _blas_call(lib: ctypes.CDLL, stem: str) -> Callable | None:
    """OpenBLAS's function `stem` ("get_num_threads", "get_corename", ...) in `lib`, under any of
    the names its builds export (SciPy's wheels prefix "scipy_", 64-bit-integer ones end in 64_)."""
    for name in (f"scipy_openblas_{stem}64_", f"scipy_openblas_{stem}", f"openblas_{stem}64_",
                 f"openblas_{stem}"):  # fmt: skip
        if hasattr(lib, name):
            return getattr(lib, name)
    return None


def blas_threads() -> int | None:
    """NumPy's BLAS thread count (OpenBLAS), else from the environment, else None (unknown)."""
    for lib in openblas_libs():
        get = _blas_call(lib, "get_num_threads")
        if get is not None:
            return int(get())
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return None


AVX512_CORES = ("SkylakeX", "Cooperlake", "SapphireRapids")  # OpenBLAS's AVX-512 kernel families


def blas_core() -> str | None:
    """The kernel family NumPy's OpenBLAS runs ("Haswell", "SkylakeX", ...), or None (unknown)."""
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS so /proc lists it)

    for lib in openblas_libs():
        corename = _blas_call(lib, "get_corename")
        if corename is not None:
            corename.restype = ctypes.c_char_p
            return corename().decode().strip() or None
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags ("avx2", "avx512f", ...) from /proc/cpuinfo; empty where unknown."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(ln.split(":", 1)[1].split()) for ln in f if ln.startswith("flags")),
                        set())  # fmt: skip
    except OSError:
        return set()


def forced_core_note() -> str | None:
    """A note where OPENBLAS_CORETYPE holds NumPy's OpenBLAS to kernels without AVX-512 on a CPU
    that has it (its GEMMs can then run at half speed, PyTorch's do not), or where OpenBLAS runs
    other kernels than it names (a name it does not know, which it ignores); else None."""
    forced = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    core = blas_core() if forced else None
    if core is not None and core.lower() != forced.lower():  # OpenBLAS reads it without case
        return (f"OPENBLAS_CORETYPE={forced}, but NumPy's OpenBLAS runs its {core} kernels: it "
                "knows no kernel family by that name, or runs another in its place. Name one it "
                "has (Haswell, SkylakeX, Zen, ...), or unset it: env -u OPENBLAS_CORETYPE <the "
                "same command>")  # fmt: skip
    if not forced or "avx512f" not in cpu_flags():
        return None
    if core is None or core in AVX512_CORES:
        return None
    return (f"OPENBLAS_CORETYPE={forced} holds NumPy's OpenBLAS to its {core} kernels on a CPU "
            "with AVX-512, which PyTorch's kernels use: our GEMMs may run at half speed. Unset it "
            "to time like with like: env -u OPENBLAS_CORETYPE <the same command>")  # fmt: skip


# The instructions each kernel family runs beyond SSE: forced on a CPU without them, OpenBLAS
# still loads them, and the first matrix product kills the process (SIGILL) without a word.
NEEDS = {"Haswell": "avx2", "Zen": "avx2", **{core: "avx512f" for core in AVX512_CORES}}


def check_forced_core() -> None:
    """Refuse (RuntimeError) an OPENBLAS_CORETYPE that has NumPy's OpenBLAS run kernels whose
    instructions this CPU lacks; call it before any matrix product. Where /proc/cpuinfo does
    not tell the CPU's flags, nothing is refused."""
    forced = os.environ.get("OPENBLAS_CORETYPE", "").strip()
    flags = cpu_flags() if forced else set()
    if not flags:
        return
    core = blas_core()
    need = NEEDS.get(core or "")
    if need and need not in flags:
        raise RuntimeError(
            f"OPENBLAS_CORETYPE={forced} has NumPy's OpenBLAS run its {core} kernels, which need "
            f"{need} instructions that this CPU lacks: the first matrix product would stop the "
            "process (Illegal instruction). Unset it to let OpenBLAS pick the CPU's own: "
            "env -u OPENBLAS_CORETYPE <the same command>"
        )


def set_blas_threads(n: int, numpy_too: bool = True) -> None:
    """Set the thread count of every loaded OpenBLAS (numpy_too=False: all but NumPy's)."""
    for lib in openblas_libs():
        if not numpy_too and _is_numpys(lib):
            continue
        put = _blas_call(lib, "set_num_threads")
        if put is not None:
            put(ctypes.c_int(n))


def _is_numpys(lib: ctypes.CDLL) -> bool:
    # NumPy's wheel keeps its copy in numpy.libs/ (its file is named libscipy_openblas too)
    return "numpy" in os.path.dirname(lib._name)


def single_thread_scipy_blas() -> None:
    """Give SciPy's OpenBLAS (the one the fallback twins call) one thread; NumPy's is untouched."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's BLAS so /proc lists it)

    set_blas_threads(1, numpy_too=False)

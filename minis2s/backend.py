"""Array backends: which array module runs the math, and which fast twins replace reference loops.

    >>> from minis2s import backend
    >>> be = backend.use("numba")        # or "numpy" (the reference), or "cupy"
    >>> backend.current().name
    'numba'

The reference layer code in `minis2s.layers` is written once against the array module of its
inputs (`get_array_module(x)`), so the same lines run on NumPy and on CuPy arrays. A backend only
adds *fast twins* for the recurrent time loops: a layer asks `current().kernel(name, reference)`
and gets the twin if the backend registered one under that name, else the reference. That call
is the one place where dispatch happens.

Parameters are always initialised on the host from a NumPy `Generator` (`rng(seed)`) and then
moved with `Backend.asarray`, so every backend starts from bit-identical weights.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from minis2s import _warn, backend_heap

NAMES = ("numpy", "numba", "cupy")

TRAIN_DTYPE = np.float32  # training and decoding
CHECK_DTYPE = np.float64  # gradient checks and parity tests


@dataclass(frozen=True)
class Backend:
    """A named array module plus the fast twins it registers (name -> callable)."""

    name: str
    xp: ModuleType
    kernels: Mapping[str, Callable] = field(default_factory=dict)

    def kernel(self, name: str, reference: Callable) -> Callable:
        """The twin registered as `name` (e.g. "lstm.forward_loop"), else `reference`."""
        return self.kernels.get(name, reference)

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """`a` as an array of this backend (copied to the GPU for cupy)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_device(self, arrays: Sequence[Any], dtypes: Sequence[Any]) -> list[Any]:
        """`arrays` as arrays of this backend, each cast to its dtype in `dtypes` (None: keep).

        On the CPU backends these are NumPy arrays. On cupy the host arrays go in one transfer:
        packed into one page-locked (pinned) host buffer, copied to the GPU in one DMA and viewed
        there as separate arrays, queued on the current stream (the host does not wait for it).
        A batch thus costs one copy, not one per array (`cupy.asarray` stages each through a
        pinned buffer of its own). Arrays already on the device are only cast.
        """
        pairs = list(zip(arrays, dtypes, strict=True))
        if self.xp is np:
            return [np.asarray(a, dtype=dt) for a, dt in pairs]
        host = [np.ascontiguousarray(a, dtype=dt) for a, dt in pairs if not is_device_array(a)]
        moved = iter(_pinned_copy(self.xp, host))
        return [self.xp.asarray(a, dtype=dt) if is_device_array(a) else next(moved)
                for a, dt in pairs]  # fmt: skip


ALIGN = 256  # bytes: each array of a packed transfer starts at a multiple (CUDA's alignment)
_in_flight: list[tuple[Any, Any]] = []  # (event, pinned buffer) of copies that may still run


def _pinned_copy(cp: ModuleType, arrays: list[np.ndarray]) -> list[Any]:
    """C-contiguous host arrays -> device arrays, through one pinned buffer and one copy.

    The copy from pinned memory runs asynchronously on the current stream, so the buffer is kept
    (with an event recorded after the copy) until the event has passed; only then may CuPy's
    pinned-memory pool hand it out again and the next batch be packed into it.
    """
    global _in_flight
    if not arrays:
        return []
    starts, total = [], 0
    for a in arrays:
        starts.append(total)
        total += -(-a.nbytes // ALIGN) * ALIGN
    pinned = np.frombuffer(cp.cuda.alloc_pinned_memory(max(total, ALIGN)), np.uint8, total)
    for a, s in zip(arrays, starts, strict=True):
        pinned[s : s + a.nbytes] = a.reshape(-1).view(np.uint8)
    device = cp.empty(total, dtype=np.uint8)
    stream = cp.cuda.get_current_stream()  # older CuPy without it: a cudaMemcpy, a GPU wait
    device.set(pinned, stream=stream)
    copied = cp.cuda.Event(disable_timing=True)
    copied.record()
    _in_flight = [(e, buf) for e, buf in _in_flight if not e.done] + [(copied, pinned)]
    return [device[s : s + a.nbytes].view(a.dtype).reshape(a.shape)
            for a, s in zip(arrays, starts, strict=True)]  # fmt: skip


_current: Backend | None = None
_told_cold = False  # whether this process has said that the numba twins compile


def _make(name: str) -> Backend:
    if name == "numpy":
        return Backend("numpy", np)
    if name == "numba":
        if importlib.util.find_spec("numba") is None:
            raise RuntimeError("backend 'numba' needs Numba: pip install numba scipy")
        check_numba_environment()
        from minis2s.kernels import numba_cache_is_cold, numba_kernels

        global _told_cold
        if not _told_cold and numba_cache_is_cold():
            _told_cold = True  # once a process: a benchmark switches backends many times
            _warn.warn(
                "the numba backend compiles its kernels on this first run (up to 30 s before the "
                "first step, by CPU); later runs load them from Numba's cache",
            )
        return Backend("numba", np, numba_kernels())
    if name == "cupy":
        cp = _import_cupy()
        from minis2s.kernels import cupy_kernels

        return Backend("cupy", cp, cupy_kernels())
    raise ValueError(
        f"unknown backend {name!r}; choose one of {', '.join(NAMES)} "
        f"(available here: {', '.join(available())})"
    )


def check_numba_environment() -> None:
    """Refuse (ValueError) the environment variables the numba backend reads, set to what they
    cannot mean: Numba would print a warning holding a traceback for a NUMBA_NUM_THREADS that is
    no number, or stop on 0 without naming it; kernels/blas.py reads MINIS2S_BLAS=scipy alone.
    use("numba") checks them first; the benchmark scripts too, before their --backends."""
    threads = os.environ.get("NUMBA_NUM_THREADS")
    if threads is not None and not _is_count(threads):
        raise ValueError(
            f"NUMBA_NUM_THREADS={threads!r}: Numba reads it as its thread count, a whole number "
            "of at least 1; set one, or unset it: env -u NUMBA_NUM_THREADS <the same command>"
        )
    blas = os.environ.get("MINIS2S_BLAS")
    if blas is not None and blas != "scipy":
        raise ValueError(
            f"MINIS2S_BLAS={blas!r}: the one value it takes is MINIS2S_BLAS=scipy (the numba "
            "twins' GEMMs through SciPy's BLAS); unset it for NumPy's OpenBLAS, the default: "
            "env -u MINIS2S_BLAS <the same command>"
        )


def _is_count(text: str) -> bool:
    """Whether `text` reads as Numba reads a thread count (int(text)), and is at least 1."""
    try:
        return int(text) > 0
    except ValueError:
        return False


def _import_cupy() -> ModuleType:
    try:
        import cupy as cp
    except ImportError as e:
        raise RuntimeError(
            "backend 'cupy' needs CuPy and an NVIDIA GPU: pip install cupy-cuda12x (or "
            f"cupy-cuda13x for CUDA 13); available here: {', '.join(available())}"
        ) from e
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as e:  # CUDARuntimeError when no driver is present
        why = " ".join(str(e).split())  # one line, whatever CUDA's message holds
        raise RuntimeError(
            f"backend 'cupy': CuPy is installed but no GPU is usable ({why}); run on a machine "
            "with an NVIDIA GPU and its driver, or choose a backend available here: "
            f"{', '.join(available())}"
        ) from e
    return cp


def available() -> list[str]:
    """Backend names that can be used on this machine."""
    names = ["numpy"]
    if importlib.util.find_spec("numba") is not None:
        names.append("numba")
    if importlib.util.find_spec("cupy") is not None:
        try:
            _import_cupy_quiet()
            names.append("cupy")
        except Exception:
            pass
    return names


def _import_cupy_quiet() -> None:
    import cupy as cp

    if cp.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError("no CUDA device")


def use(name: str, *, twins: bool = True) -> Backend:
    """Make `name` ("numpy", "numba" or "cupy") the current backend and return it. With
    `twins=False` its arrays run the reference code alone (what the twins save, measured).
    It also has glibc's malloc keep freed memory in the process (`backend_heap`), so that a
    training step's arrays are not given back and faulted in again at every step."""
    global _current
    if not isinstance(name, str):
        raise ValueError(f"backend name must be a string, one of {', '.join(NAMES)}; got {name!r}")
    if not isinstance(twins, bool | np.bool_):  # "no" would read as True
        raise ValueError(f"backend.use: twins={twins!r:.40}; give True or False")
    be = _make(name.lower())
    _current = be if twins else Backend(be.name, be.xp)
    backend_heap.keep_freed_memory()
    return _current


def current() -> Backend:
    """The backend in use (NumPy until `use` is called)."""
    global _current
    if _current is None:
        _current = Backend("numpy", np)
    return _current


def is_device_array(a: Any) -> bool:
    """Whether `a` is a CuPy (GPU) array."""
    return type(a).__module__.startswith("cupy")


def get_array_module(*arrays: Any) -> ModuleType:
    """`cupy` if any argument is a CuPy array, else `numpy`."""
    for a in arrays:
        if is_device_array(a):
            import cupy

            return cupy
    return np


def to_numpy(a: Any) -> np.ndarray:
    """A host NumPy copy (or view) of a NumPy or CuPy array."""
    if is_device_array(a):
        return a.get()
    return np.asarray(a)


def rng(seed: int) -> np.random.Generator:
    """A seeded NumPy generator; used for initial weights on every backend alike."""
    return np.random.default_rng(seed)

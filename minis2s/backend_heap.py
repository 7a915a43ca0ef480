"""Keep freed array memory in the process between training steps (glibc's malloc on Linux).

A training step allocates and frees some megabytes of arrays of 0.1 to 1 MB each (caches,
gradients, GEMM outputs). glibc's malloc gives the top of its heap back to the system whenever
more than its trim threshold lies free there; that threshold starts at 128 KB and is raised only
to twice the largest mmapped chunk freed so far (at most 64 MB). At the small training workload
the largest array is 0.66 MB, so every step gave its memory back and faulted it in again, page
by page: 448 page faults a step on the numba backend (1.0 to 1.4 ms of system time in a step of
15 ms) and 1,335 on numpy (4 ms of 27), measured on a 2-core x86 machine.

`keep_freed_memory` sets the two thresholds to where glibc's own rule tops out: arrays below
32 MB come from the heap (mmap above that, as glibc's largest dynamic threshold), and up to
64 MB of freed heap stays with the process. Nothing else changes: the same arrays, the same
values. A process then keeps up to 64 MB more than it would have. The settings are
process-wide, so they are left alone where the user has chosen their own (any `MALLOC_*_` or
`GLIBC_TUNABLES` variable in the environment) and where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # bytes: glibc's ceiling for its dynamic mmap threshold (64-bit)
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what glibc sets beside a raised mmap threshold

_kept: bool | None = None  # the first call's answer: the settings are made once a process


def user_settings() -> list[str]:
    """The environment variables through which the user set glibc's malloc themselves."""
    return sorted(k for k in os.environ if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory (see the module's docstring), once a process;
    True if the thresholds are now ours, False where they were left alone."""
    global _kept
    if _kept is None:
        _kept = _set_thresholds()
    return _kept


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux") or user_settings():
        return False
    try:
        libc = ctypes.CDLL(None)
        glibc = hasattr(libc, "gnu_get_libc_version")  # musl's mallopt does nothing
    except OSError:
        return False
    if not glibc:
        return False
    # the mmap threshold first: setting either ends glibc's dynamic rule, and a trim threshold
    # alone would leave arrays above the current mmap threshold (128 KB at start) mmapped
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )

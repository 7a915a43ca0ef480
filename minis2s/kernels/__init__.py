"""Fast twins of the reference recurrent loops, registered by name for a backend.

Each twin has the signature and statement order of the reference function it replaces (for
example `minis2s.layers.lstm.forward_loop`), so `diff` shows only loop mechanics. Layers never
import this package: they ask `backend.current().kernel("lstm.forward_loop", forward_loop)`.
"""

from __future__ import annotations

from collections.abc import Callable


def numba_kernels() -> dict[str, Callable]:
    """Twins for the "numba" backend, keyed "<layer>.<function>"."""
    kernels: dict[str, Callable] = {}
    return kernels


def cupy_kernels() -> dict[str, Callable]:
    """Twins for the "cupy" backend (fused elementwise gate math)."""
    kernels: dict[str, Callable] = {}
    return kernels

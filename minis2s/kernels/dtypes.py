"""Which dtypes the Numba twins are compiled for, and the fallback for the others (also used by
the cupy loss twin, whose float16 sums would overflow)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # what Numba types (not float16)


def float_twin(reference: Callable) -> Callable[[Callable], Callable]:
    """Decorate a twin so that it runs where its first argument (or that tuple's first array,
    an LSTM's (dh, dc)) is float32 or float64, and `reference` runs otherwise: the layers take
    any float dtype on the numpy backend, and Numba cannot compile float16 (a bare
    NotImplementedError from deep inside Numba before); `cupy_loss.log_softmax` uses it too, its
    sum over V running in the logits' dtype, which float16 overflows. Anything else goes to the
    twin, whose checks name it."""

    def wrap(twin: Callable) -> Callable:
        @functools.wraps(twin)
        def call(first: Any, *args: Any, **kw: Any) -> Any:
            arrays = first if isinstance(first, tuple) else (first,)
            dtype = next((a.dtype for a in arrays if hasattr(a, "dtype")), FLOATS[0])
            return (twin if dtype in FLOATS else reference)(first, *args, **kw)

        return call

    return wrap

"""Which dtypes the Numba twins are compiled for, and the fallback for the others (also used by
the cupy loss and Adam twins in float16, where their C would not compute what the reference does:
a sum over V that overflows, a g * g that does not)."""

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
    NotImplementedError from deep inside Numba before); `cupy_loss.log_softmax` and
    `cupy_optim.adam_update` use it too (their module docstrings say why). Anything else goes to
    the twin, whose checks name it."""

    def wrap(twin: Callable) -> Callable:
        @functools.wraps(twin)
        def call(first: Any, *args: Any, **kw: Any) -> Any:
            arrays = first if isinstance(first, tuple) else (first,)
            dtype = next((a.dtype for a in arrays if hasattr(a, "dtype")), FLOATS[0])
            return (twin if dtype in FLOATS else reference)(first, *args, **kw)

        return call

    return wrap

"""fast_math's scalar tanh and sigmoid (inlined into the twins, not callable from Python) applied
to each entry of a 1-D array, for test_numba_parity's dense grid and test_numerics_extremes' ends:
one compiled `apply` per dtype, shared by both files (each compile took about a second)."""

import numpy as np
from numba import njit

from minis2s.kernels import fast_math


@njit(error_model="numpy")
def apply(f, x):
    """f(x[k]) for every k of the 1-D array x, in x's dtype."""
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = f(x[k])
    return out


@njit(error_model="numpy")
def tanh(x):
    return fast_math.tanh(x)


@njit(error_model="numpy")
def sigmoid(x):
    return fast_math.sigmoid(x)

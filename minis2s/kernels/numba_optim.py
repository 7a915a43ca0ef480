"""Numba twin of `minis2s.train.optim.adam_update` (the "numba" backend), for Adam and AdamW.

Same name, arguments and result as the reference, its operations fused into one loop. The
reference makes thirteen
array operations per parameter array, each a pass over memory: m *= beta1, (1 - beta1) * g,
m +=, v *= beta2, g * g, (1 - beta2) * that, v +=, sqrt(v), / sqrt(1 - beta2^t), + eps, m / that,
(lr / (1 - beta1^t)) * that, p -=; eight of them write a new temporary. L2 weight decay adds two
more, both temporaries (weight_decay * p, g + that). The twin reads p, g, m, v once and writes
p, m, v once, in one flat loop over the 1-D views of the arrays.

Bit for bit the reference's arithmetic: the hyper-parameters are turned into the same scalars on
the host (the bias corrections in Python floats, as `beta1**t` there) and cast once to the
arrays' dtype, as NumPy casts a Python float for a float32 array; the loop then does the same
operations in the same order, without fastmath (no reassociation, no fused multiply-add), so
float32 stays float32 and each result is rounded as NumPy rounds it.

The loop needs no BLAS, so plain `njit` (not `blas.twin_jit`): its cache does not depend on
which BLAS the GEMM twins use. Arrays that are not all C-contiguous numpy arrays of one float
dtype go to the reference unchanged (a contiguous copy would not update the caller's arrays).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minis2s.kernels.dtypes import FLOATS
from minis2s.train import optim


def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
    """Step t of Adam on one parameter array, in place on p, m and v; g is not modified.

    Shapes: p, g, m, v all of one shape (any), one dtype (float32 or float64).
    """
    if not _fits(p, g, m, v):
        optim.adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, t)
        return
    real = p.dtype.type  # each scalar rounded to the arrays' dtype once, as NumPy does
    bias1, bias2 = 1 - beta1**t, 1 - beta2**t
    adam_update_flat(
        p.reshape(-1),  # C-contiguous: views, so the loop writes the caller's arrays
        g.reshape(-1),
        m.reshape(-1),
        v.reshape(-1),
        real(weight_decay),
        real(beta1),
        real(1 - beta1),
        real(beta2),
        real(1 - beta2),
        real(math.sqrt(bias2)),
        real(eps),
        real(lr / bias1),
    )


def _fits(p, g, m, v) -> bool:
    arrays = (p, g, m, v)
    if not all(type(a) is np.ndarray and a.flags.c_contiguous for a in arrays):
        return False
    return p.dtype in FLOATS and all(a.dtype == p.dtype for a in arrays)


@njit(cache=True, error_model="numpy", fastmath=False)
def adam_update_flat(p, g, m, v, weight_decay, beta1, c1, beta2, c2, sqrt_bias2, eps, step):
    """The loop of `adam_update` over 1-D views; c1 = 1 - beta1, c2 = 1 - beta2,
    step = lr / (1 - beta1^t), sqrt_bias2 = sqrt(1 - beta2^t), all of the arrays' dtype."""
    decay = weight_decay != 0  # loop-invariant: LLVM hoists the branch out of the loop
    for i in range(p.shape[0]):
        g_i = g[i] + weight_decay * p[i] if decay else g[i]
        m[i] = m[i] * beta1 + c1 * g_i
        v[i] = v[i] * beta2 + c2 * (g_i * g_i)
        denom = np.sqrt(v[i]) / sqrt_bias2 + eps
        p[i] -= step * (m[i] / denom)

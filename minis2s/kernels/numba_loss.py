"""Numba twins of `minis2s.layers.loss.log_softmax` and `softmax_minus_target` (the "numba"
backend).

Same names, arguments and results as the reference; each walks the (M, V) array row by row
instead of making full-size temporaries. A row of V = 8000 float32 logits is 32 KB, so it comes
from memory once and the later passes over it hit the cache:

    log_softmax           top = max_v z_v (pass 1), s = sum_v exp(z_v - top) (pass 2),
                          write (z_v - top) - log s (pass 3)
    softmax_minus_target  write scale * (exp(logp_v) - eps / V) (one pass), then the target's
                          entry with the one-hot part of q too; an ignored row is zeros,
                          whatever its logits held

The maximum and the sum are kept in LANES partial results side by side (lane k takes the entries
k, k + LANES, ...) and combined at the end of the row: one running sum cannot be vectorised
without reordering the additions, which LLVM does not do on its own, while LANES independent
ones vectorise as written. float32 `exp` is `minis2s.kernels.fast_math.exp_f32`.

Each twin is a small Python function around a compiled row loop so that its result is allocated
by NumPy (why: `minis2s.kernels`; a fresh (1920, 8000) float32 result took 40 ms to fill from
Numba's `np.empty` against 8 ms from NumPy's).
"""

from __future__ import annotations

import numpy as np

from minis2s.kernels.blas import cached_njit
from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.fast_math import exp
from minis2s.layers import loss

LANES = 16  # partial maxima / sums per row: two AVX2 registers of float32


@float_twin(loss.log_softmax)
def log_softmax(logits):
    """log softmax over the last axis via log-sum-exp. Shapes: logits (..., V) -> (..., V)."""
    V = logits.shape[-1]
    logp = np.empty(logits.shape, dtype=logits.dtype)  # C order: the reshape below is a view
    log_softmax_rows(logits.reshape(-1, V), logp.reshape(-1, V))
    return logp


@float_twin(loss.softmax_minus_target)
def softmax_minus_target(logp, t, keep, eps, scale):
    """scale * keep * (p - q) with p = exp(logp) and q the smoothed one-hot target: the gradient
    of the loss with respect to the logits. `logp` is not modified.

    Shapes: logp (M, V), t int (M,), keep (M, 1) of 0/1 -> (M, V).
    """
    dz = np.empty(logp.shape, dtype=logp.dtype)
    softmax_minus_target_rows(logp, t, keep, eps, scale, dz)
    return dz


@cached_njit(error_model="numpy")
def row_max(z):
    """max_v z_v of one row (-inf for an empty row); NaN entries are skipped (then the row's
    sum of exps is NaN, as in the reference)."""
    V = z.shape[0]
    lanes = np.full(LANES, -np.inf, dtype=z.dtype)
    for v0 in range(0, V - V % LANES, LANES):
        for k in range(LANES):
            lanes[k] = max(lanes[k], z[v0 + k])
    top = lanes.max()
    for v in range(V - V % LANES, V):
        top = max(top, z[v])
    return top


@cached_njit(error_model="numpy")
def row_sum_exp(z, top):
    """sum_v exp(z_v - top) of one row."""
    V = z.shape[0]
    lanes = np.zeros(LANES, dtype=z.dtype)
    for v0 in range(0, V - V % LANES, LANES):
        for k in range(LANES):
            lanes[k] += exp(z[v0 + k] - top)
    s = lanes.sum()
    for v in range(V - V % LANES, V):
        s += exp(z[v] - top)
    return s


@cached_njit(error_model="numpy")
def log_softmax_rows(logits, logp):
    """logp (M, V) = log softmax of logits (M, V), row by row: `loss.log_softmax`, whose
    logits - max, sum of exps and subtraction of their log are a pass over the row each here."""
    M, V = logits.shape
    for row in range(M):
        z, logp_row = logits[row], logp[row]  # (V,) rows
        top = row_max(z)  # shifted = z - top <= 0, so exp cannot overflow
        lse = np.log(row_sum_exp(z, top))  # log of the reference's total
        for v in range(V):
            logp_row[v] = (z[v] - top) - lse
    return logp


@cached_njit(error_model="numpy")
def softmax_minus_target_rows(logp, t, keep, eps, scale, dz):
    """dz (M, V) = scale * keep * (exp(logp) - q), row by row: `loss.softmax_minus_target`,
    whose exp, - eps / V, - (1 - eps) at the target and * scale are one pass here, and whose
    select of the ignored rows comes first, so that their exps are skipped."""
    M, V = logp.shape
    real = logp.dtype.type  # the reference's array ops cast eps / V, 1 - eps and scale to it
    eps_V, one_minus_eps, scale = real(eps / V), real(1.0 - eps), real(scale)
    for row in range(M):
        logp_row, dz_row = logp[row], dz[row]  # (V,) rows
        if keep[row, 0] == 0:  # an ignored token: 0, whatever its logits (NaN); skip its exps
            dz_row[:] = 0
            continue
        for v in range(V):
            dz_row[v] = (exp(logp_row[v]) - eps_V) * scale  # p - (smoothed part of q)
        y = t[row]
        dz_row[y] = ((exp(logp_row[y]) - eps_V) - one_minus_eps) * scale  # - (one-hot part of q)
    return dz

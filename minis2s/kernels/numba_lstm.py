"""Numba twins of `minis2s.layers.lstm.forward_loop` and `backward_loop` (the "numba" backend).

Same names, arguments, results and statement order as the reference; only the loop mechanics
differ. Each step does one GEMM, h_{t-1} W_hh^T (forward) or da_t W_hh (backward), through
`np.dot` on contiguous arrays (BLAS via SciPy), then one fused loop over rows and hidden units
that computes all four gates elementwise and writes straight into the outputs, so no temporary
array is made per gate or per step. Gate j of block k sits at column k*H + j of the (N, 4H)
pre-activations, blocks in the order i, f, g, o. Compiled lazily on first call for the dtype of
the inputs (float32 or float64) and cached on disk (`cache=True`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sigmoid(a):
    """sigma(a) = (1 + tanh(a / 2)) / 2, as `minis2s.layers._recurrent.sigmoid`: no exp."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@njit(cache=True)
def forward_loop(xw, h0, c0, W_hh, m):
    """The time loop. xw (N, T, 4H) = x W_ih^T + b_ih + b_hh -> carried states hs, cs (N, T, H)
    and the activated gates (N, T, 4H)."""
    N, T, H4 = xw.shape
    H = H4 // 4
    W_hh = np.ascontiguousarray(W_hh)  # np.dot needs contiguous operands
    hs_state = np.empty((N, T, H), dtype=xw.dtype)
    cs_state = np.empty((N, T, H), dtype=xw.dtype)
    gates = np.empty((N, T, H4), dtype=xw.dtype)
    h, c = h0.copy(), c0.copy()  # (N, H) contiguous, updated in place step by step
    a = np.empty((N, H4), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    for t in range(T):
        np.dot(h, W_hh.T, a)
        for row in range(N):
            m_t = m[row, t]
            for j in range(H):
                i = sigmoid(xw[row, t, j] + a[row, j])
                f = sigmoid(xw[row, t, H + j] + a[row, H + j])
                g = np.tanh(xw[row, t, 2 * H + j] + a[row, 2 * H + j])
                o = sigmoid(xw[row, t, 3 * H + j] + a[row, 3 * H + j])
                c_new = f * c[row, j] + i * g
                h_new = o * np.tanh(c_new)
                c[row, j] = m_t * c_new + (1 - m_t) * c[row, j]
                h[row, j] = m_t * h_new + (1 - m_t) * h[row, j]
                hs_state[row, t, j], cs_state[row, t, j] = h[row, j], c[row, j]
                gates[row, t, j], gates[row, t, H + j] = i, f
                gates[row, t, 2 * H + j], gates[row, t, 3 * H + j] = g, o
    return hs_state, cs_state, gates


@njit(cache=True)
def backward_loop(dhs, dh_final, dc_final, hs_state, cs_state, gates, c0, m, W_hh):
    """The time loop of the backward pass; returns (da (N, T, 4H), dh0 (N, H), dc0 (N, H))."""
    N, T, H = dhs.shape
    W_hh = np.ascontiguousarray(W_hh)
    da = np.empty((N, T, 4 * H), dtype=dhs.dtype)
    dh_next, dc_next = dh_final.copy(), dc_final.copy()  # (N, H), updated in place
    da_t = np.empty((N, 4 * H), dtype=dhs.dtype)  # da[:, t], contiguous for np.dot
    da_W = np.empty((N, H), dtype=dhs.dtype)  # da_t W_hh
    for t in range(T - 1, -1, -1):
        for row in range(N):
            m_t = m[row, t]
            for j in range(H):
                c_prev = c0[row, j] if t == 0 else cs_state[row, t - 1, j]
                i, f = gates[row, t, j], gates[row, t, H + j]
                g, o = gates[row, t, 2 * H + j], gates[row, t, 3 * H + j]
                tc = np.tanh(cs_state[row, t, j])  # = tanh(c~_t) wherever m_t = 1
                dh = dh_next[row, j] + m_t * dhs[row, t, j]  # through y_t and through h_{t+1}
                dc = m_t * (dc_next[row, j] + dh * o * (1 - tc * tc))  # into c~_t
                da_t[row, j] = dc * g * i * (1 - i)  # sigma' = sigma (1 - sigma)
                da_t[row, H + j] = dc * c_prev * f * (1 - f)
                da_t[row, 2 * H + j] = dc * i * (1 - g * g)  # tanh' = 1 - tanh^2
                da_t[row, 3 * H + j] = m_t * dh * tc * o * (1 - o)
                dc_next[row, j] = (1 - m_t) * dc_next[row, j] + dc * f
                dh_next[row, j] = (1 - m_t) * dh  # + da_t W_hh once every row is done
        da[:, t] = da_t
        np.dot(da_t, W_hh, da_W)
        dh_next += da_W
    return da, dh_next, dc_next

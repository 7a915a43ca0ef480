"""Numba twins of `minis2s.layers.rnn.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "numba" backend).

Same names, arguments, results and statement order as the reference; only the loop mechanics
differ. Each step does one GEMM, h_{t-1} W_hh^T (forward) or da_t W_hh (backward), through
`gemm_nt` / `gemm_nn` (NumPy's own BLAS: see `minis2s.kernels.blas`; the backward GEMM reads the
rows of da[:, t] in place, no copy), then one fused loop over rows and hidden units that
computes the step elementwise and writes straight into the outputs, so no temporary array is
made per step. Compiled lazily on first call for the dtype of the inputs (float32 or float64)
and cached on disk (`twin_jit`).

Each twin is a small Python function that allocates with NumPy every array its compiled loop
(`*_into`) touches; how the loops are written to vectorise, and why NumPy allocates: see
`minis2s.kernels`. A step twin runs both GEMMs and the gate math in one compiled call, where the
reference makes a dozen NumPy calls (and pays their Python overhead) per step.

Read beside the reference: each compiled loop names the function it replaces. Names are the
reference's: one entry of an (N, H) array has the name of what it holds (h_new, dh); a row of the
reference's name[:, t] is name_t (xw_t, dys_t, da_t; hs_t of hs_state), a row of an (N, H) array
name_row (h_row, dh_row; hW_row of hW = h W_hh^T). Each row chooses `.. if m_t else ..` where the
reference takes where(m_t, ..) over the batch.
"""

from __future__ import annotations

import numpy as np

from minis2s.kernels.blas import gemm_nn, gemm_nt, step_products, twin_jit
from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.fast_math import tanh
from minis2s.kernels.step_weights import input_weights
from minis2s.layers import rnn
from minis2s.layers.rnn import WHERE, RNNStepCache, check_step_forward, check_step_grads


@float_twin(rnn.forward_loop)
def forward_loop(xw, h0, W_hh, m):
    """The time loop. xw (N, T, H) = x W_ih^T + b_ih + b_hh, h0 (N, H), W_hh (H, H), m (N, T)
    float mask -> carried states (N, T, H)."""
    N, T, H = xw.shape
    hs_state = np.empty((N, T, H), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    h = np.array(h0, order="C")  # (N, H), updated step by step
    hW = np.empty((N, H), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    forward_loop_into(xw, h, np.ascontiguousarray(W_hh), m, hW, hs_state)
    return hs_state


@twin_jit
def forward_loop_into(xw, h, W_hh, m, hW, hs_state):
    """The loop of `rnn.forward_loop`, writing hs_state in place; h (N, H) enters as h0 and is
    updated step by step, hW (N, H) is scratch for h W_hh^T. h is written in place of the
    reference's where(m_t, h_new, h), row by row."""
    N, T, H = xw.shape
    for t in range(T):
        gemm_nt(h, W_hh, hW)  # h @ W_hh.T for every row in one GEMM
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            xw_t, hW_row, h_row, hs_t = xw[row, t], hW[row], h[row], hs_state[row, t]  # (H,)
            for j in range(H):
                h_new = tanh(xw_t[j] + hW_row[j])
                h_row[j] = h_new if m_t else h_row[j]  # a padded step keeps h (h_new may be NaN)
                hs_t[j] = h_row[j]


@float_twin(rnn.backward_loop)
def backward_loop(dys, dh_final, hs_state, m, W_hh):
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final (N, H), hs_state (N, T, H) from forward_loop, m (N, T), W_hh (H, H) -> (da (N, T, H)
    the pre-activations' gradient, dh0 (N, H))."""
    N, T, H = dys.shape
    da = np.empty((N, T, H), dtype=dys.dtype)  # NumPy's allocation: see minis2s.kernels
    dh_next = np.array(dh_final, order="C")  # (N, H), updated step by step
    da_W = np.empty((N, H), dtype=dys.dtype)  # da[:, t] W_hh
    backward_loop_into(dys, dh_next, hs_state, m, np.ascontiguousarray(W_hh), da, da_W)
    return da, dh_next


@twin_jit
def backward_loop_into(dys, dh_next, hs_state, m, W_hh, da, da_W):
    """The loop of `rnn.backward_loop`, writing da in place; dh_next (N, H) enters as dh_final
    and leaves as dh0; da_W (N, H) is scratch for da[:, t] W_hh. The step's da[:, t] @ W_hh is
    one GEMM after all rows: each row's dh_next holds 0 (a real step) or dh (a padded one) until
    the GEMM adds da_t W_hh to it."""
    N, T, H = dys.shape
    zero, one = dys.dtype.type(0), dys.dtype.type(1)  # not literals, which would promote float32
    for t in range(T - 1, -1, -1):
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            dh_row, dys_t, hs_t, da_t = dh_next[row], dys[row, t], hs_state[row, t], da[row, t]
            for j in range(H):
                dh = dh_row[j] + (dys_t[j] if m_t else zero)  # through y_t and through h_{t+1}
                da_t[j] = dh * (one - hs_t[j] * hs_t[j]) if m_t else zero  # tanh' = 1 - tanh^2
                # a padded step passes dh through; + da_t W_hh (0 in its row) once rows are done
                dh_row[j] = zero if m_t else dh
        gemm_nn(da[:, t], W_hh, da_W)  # reads the rows of da[:, t] in place
        dh_next += da_W  # dh_{t-1}


# -- one step, for the decoder's loop ---------------------------------------------------------


@float_twin(rnn.step_forward)
def step_forward(x, h_prev, p):
    """One step h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh).

    Shapes: x (N, D), h_prev (N, H) -> h (N, H).
    """
    check_step_forward(x, h_prev, p)  # before the loop reads b_ih, b_hh
    h = np.empty(h_prev.shape, dtype=x.dtype)
    xW, hW = np.empty(h_prev.shape, dtype=x.dtype), np.empty(h_prev.shape, dtype=x.dtype)
    W_ih, W_hh, nn = input_weights(p)  # W^T where step_weights made them: see there
    step_forward_into(x, h_prev, W_ih, W_hh, nn, p["b_ih"], p["b_hh"], xW, hW, h)
    return h, RNNStepCache(x, h_prev, h, p)


@twin_jit
def step_forward_into(x, h_prev, W_ih, W_hh, nn, b_ih, b_hh, xW, hW, h):
    """The step of `rnn.step_forward`, writing h in place; xW, hW (N, H) are scratch for
    x W_ih^T and h_prev W_hh^T. W_ih, W_hh are W_ih^T (D, H), W_hh^T (H, H) when `nn`."""
    N, H = h_prev.shape
    step_products(x, h_prev, W_ih, W_hh, nn, xW, hW)  # x @ W_ih.T, h_prev @ W_hh.T
    for row in range(N):
        for j in range(H):
            h[row, j] = tanh(xW[row, j] + b_ih[j] + hW[row, j] + b_hh[j])


@float_twin(rnn.step_backward_data)
def step_backward_data(dh, cache):
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (da, da)), da (N, H) the pre-activation's gradient, for `weight_grads`."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)  # before the loop reads dh
    x, h, p = cache.x, cache.h, cache.p
    da, dh_prev = np.empty(h.shape, dtype=dh.dtype), np.empty(h.shape, dtype=dh.dtype)
    dx = np.empty(x.shape, dtype=dh.dtype)
    step_backward_data_into(dh, h, p["W_ih"], p["W_hh"], da, dx, dh_prev)
    return dx, dh_prev, (da, da)


@twin_jit
def step_backward_data_into(dh, h, W_ih, W_hh, da, dx, dh_prev):
    """The step of `rnn.step_backward_data`, writing da, dx and dh_prev in place."""
    N, H = h.shape
    one = h.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    for row in range(N):
        for j in range(H):
            da[row, j] = dh[row, j] * (one - h[row, j] * h[row, j])  # tanh' = 1 - tanh^2
    gemm_nn(da, np.ascontiguousarray(W_ih), dx)  # da @ W_ih
    gemm_nn(da, np.ascontiguousarray(W_hh), dh_prev)  # da @ W_hh

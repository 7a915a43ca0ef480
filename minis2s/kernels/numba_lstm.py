"""Numba twins of `minis2s.layers.lstm.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "numba" backend).

Same names, arguments, results and statement order as the reference; only the loop mechanics
differ. Each step does one GEMM, h_{t-1} W_hh^T (forward) or da_t W_hh (backward), through
`gemm_nt` / `gemm_nn` (NumPy's own BLAS: see `minis2s.kernels.blas`; the backward GEMM reads the
rows of da[:, t] in place, no copy), then, per row, one flat pass over the 4H pre-activations
that activates the gates and one over H that updates c and h, writing straight into the outputs,
so no temporary array is made per gate or per step. Gate j of block k sits at column k*H + j of
the (N, 4H) pre-activations, blocks in the order i, f, g, o. Compiled lazily on first call for
the dtype of the inputs (float32 or float64) and cached on disk (`twin_jit`).

Each twin is a small Python function that allocates with NumPy every array its compiled loop
(`*_into`) touches; how the loops are written to vectorise, and why NumPy allocates: see
`minis2s.kernels`. A step twin runs both GEMMs and the gate math in one compiled call, where the
reference makes a dozen NumPy calls (and pays their Python overhead) per step.
"""

from __future__ import annotations

import numpy as np

from minis2s.kernels.blas import gemm_nn, gemm_nt, step_products, twin_jit
from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.fast_math import sigmoid, tanh
from minis2s.kernels.step_weights import input_weights
from minis2s.layers import lstm
from minis2s.layers._lstm_checks import WHERE, LSTMStepCache, check_step_forward, check_step_grads


@float_twin(lstm.forward_loop)
def forward_loop(xw, h0, c0, W_hh, m):
    """The time loop. xw (N, T, 4H) = x W_ih^T + b_ih + b_hh, h0, c0 (N, H), W_hh (4H, H), m (N, T)
    float mask -> carried states hs, cs (N, T, H) and the activated gates (N, T, 4H)."""
    N, T, H4 = xw.shape
    H = H4 // 4
    hs_state = np.empty((N, T, H), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    cs_state = np.empty((N, T, H), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    gates = np.empty((N, T, H4), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    h, c = np.array(h0, order="C"), np.array(c0, order="C")  # (N, H), updated step by step
    hW = np.empty((N, H4), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    forward_loop_into(xw, h, c, np.ascontiguousarray(W_hh), m, hW, hs_state, cs_state, gates)
    return hs_state, cs_state, gates


@twin_jit
def forward_loop_into(xw, h, c, W_hh, m, hW, hs_state, cs_state, gates):
    """The loop of `forward_loop`, writing hs_state, cs_state, gates in place; h, c (N, H) enter
    as h0, c0 and are updated step by step, hW (N, 4H) is scratch for h W_hh^T."""
    N, T, H4 = xw.shape
    H = H4 // 4
    for t in range(T):
        gemm_nt(h, W_hh, hW)
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            x_r, hW_r, gates_r = xw[row, t], hW[row], gates[row, t]  # (4H,) rows: flat passes
            for k in range(2 * H):  # i and f
                gates_r[k] = sigmoid(x_r[k] + hW_r[k])
            x_g, hW_g, g = x_r[2 * H : 3 * H], hW_r[2 * H : 3 * H], gates_r[2 * H : 3 * H]
            for k in range(H):
                g[k] = tanh(x_g[k] + hW_g[k])
            x_o, hW_o, o = x_r[3 * H :], hW_r[3 * H :], gates_r[3 * H :]
            for k in range(H):
                o[k] = sigmoid(x_o[k] + hW_o[k])
            i, f = gates_r[:H], gates_r[H : 2 * H]  # (H,) views
            c_r, h_r, cs_r, hs_r = c[row], h[row], cs_state[row, t], hs_state[row, t]
            for j in range(H):
                c_new = f[j] * c_r[j] + i[j] * g[j]  # c~_t
                h_new = o[j] * tanh(c_new)  # h~_t
                c_r[j] = c_new if m_t else c_r[j]  # a padded step keeps c and h (gates may be NaN)
                h_r[j] = h_new if m_t else h_r[j]
                hs_r[j], cs_r[j] = h_r[j], c_r[j]


@float_twin(lstm.backward_loop)
def backward_loop(dys, dh_final, dc_final, hs_state, cs_state, gates, c0, m, W_hh):
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final, dc_final (N, H), hs_state, cs_state (N, T, H) and gates (N, T, 4H) from
    forward_loop, c0 (N, H), m (N, T), W_hh (4H, H) -> (da (N, T, 4H) the pre-activations'
    gradient, dh0 (N, H), dc0 (N, H))."""
    N, T, H = dys.shape
    da = np.empty((N, T, 4 * H), dtype=dys.dtype)  # NumPy's allocation: see minis2s.kernels
    dh_next, dc_next = np.array(dh_final, order="C"), np.array(dc_final, order="C")  # (N, H)
    da_W = np.empty((N, H), dtype=dys.dtype)  # da[:, t] W_hh
    W_hh = np.ascontiguousarray(W_hh)
    backward_loop_into(dys, dh_next, dc_next, hs_state, cs_state, gates, c0, m, W_hh, da, da_W)
    return da, dh_next, dc_next


@twin_jit
def backward_loop_into(dys, dh_next, dc_next, hs_state, cs_state, gates, c0, m, W_hh, da, da_W):
    """The loop of `backward_loop`, writing da in place; dh_next, dc_next (N, H) enter as
    dh_final, dc_final and leave as dh0, dc0; da_W (N, H) is scratch."""
    N, T, H = dys.shape
    zero, one = dys.dtype.type(0), dys.dtype.type(1)  # not literals, which would promote float32
    for t in range(T - 1, -1, -1):
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            c_prev = c0[row] if t == 0 else cs_state[row, t - 1]  # (H,) rows from here on
            gates_r, c_r, dys_r = gates[row, t], cs_state[row, t], dys[row, t]
            dh_r, dc_r, da_r = dh_next[row], dc_next[row], da[row, t]
            i, f = gates_r[:H], gates_r[H : 2 * H]  # (H,) views
            g, o = gates_r[2 * H : 3 * H], gates_r[3 * H :]
            da_i, da_f, da_g, da_o = da_r[:H], da_r[H : 2 * H], da_r[2 * H : 3 * H], da_r[3 * H :]
            for j in range(H):
                tc = tanh(c_r[j])  # = tanh(c~_t) wherever m_t = 1
                dh = dh_r[j] + (dys_r[j] if m_t else zero)  # through y_t and through h_{t+1}
                dc = dc_r[j] + dh * o[j] * (one - tc * tc)  # dc~: through c_t and h~_t
                # sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2; 0 at a padded step (NaN gates)
                da_i[j] = dc * g[j] * i[j] * (one - i[j]) if m_t else zero
                da_f[j] = dc * c_prev[j] * f[j] * (one - f[j]) if m_t else zero
                da_g[j] = dc * i[j] * (one - g[j] * g[j]) if m_t else zero
                da_o[j] = dh * tc * o[j] * (one - o[j]) if m_t else zero
                dc_r[j] = dc * f[j] if m_t else dc_r[j]  # a padded step passes dc and dh through
                dh_r[j] = zero if m_t else dh  # + da_t W_hh (0 in a padded row) once rows are done
        gemm_nn(da[:, t], W_hh, da_W)  # reads the rows of da[:, t] in place (row stride T*4H)
        dh_next += da_W


# -- one step, for the decoder's loop ---------------------------------------------------------


@float_twin(lstm.step_forward)
def step_forward(x, state, p):
    """One step (h, c) = cell(x, (h_prev, c_prev)), unmasked (see minis2s.layers.lstm's equations).

    Shapes: x (N, D), state = (h_prev (N, H), c_prev (N, H)) -> (h (N, H), c (N, H)).
    """
    h_prev, c_prev = check_step_forward(x, state, p)  # before the loop reads c_prev, b_ih, b_hh
    N, H = h_prev.shape
    h, c = np.empty((N, H), dtype=x.dtype), np.empty((N, H), dtype=x.dtype)
    gates = np.empty((N, 4 * H), dtype=x.dtype)
    xW, hW = np.empty((N, 4 * H), dtype=x.dtype), np.empty((N, 4 * H), dtype=x.dtype)
    W_ih, W_hh, nn = input_weights(p)  # W^T where step_weights made them: see there
    step_forward_into(x, h_prev, c_prev, W_ih, W_hh, nn, p["b_ih"], p["b_hh"], xW, hW, h, c, gates)
    return (h, c), LSTMStepCache(x, h_prev, c_prev, gates, c, p)


@twin_jit
def step_forward_into(x, h_prev, c_prev, W_ih, W_hh, nn, b_ih, b_hh, xW, hW, h, c, gates):
    """The step of `step_forward`, writing h, c and gates in place; xW, hW (N, 4H) are scratch
    for x W_ih^T and h_prev W_hh^T. W_ih, W_hh are W_ih^T (D, 4H), W_hh^T (H, 4H) when `nn`."""
    N, H = h_prev.shape
    step_products(x, h_prev, W_ih, W_hh, nn, xW, hW)
    for row in range(N):
        xW_r, hW_r, gates_r = xW[row], hW[row], gates[row]  # (4H,) rows
        for k in range(2 * H):  # i and f
            gates_r[k] = sigmoid(xW_r[k] + b_ih[k] + hW_r[k] + b_hh[k])
        xW_g, hW_g, g = xW_r[2 * H : 3 * H], hW_r[2 * H : 3 * H], gates_r[2 * H : 3 * H]
        b_ih_g, b_hh_g = b_ih[2 * H : 3 * H], b_hh[2 * H : 3 * H]
        for k in range(H):
            g[k] = tanh(xW_g[k] + b_ih_g[k] + hW_g[k] + b_hh_g[k])
        xW_o, hW_o, o = xW_r[3 * H :], hW_r[3 * H :], gates_r[3 * H :]
        b_ih_o, b_hh_o = b_ih[3 * H :], b_hh[3 * H :]
        for k in range(H):
            o[k] = sigmoid(xW_o[k] + b_ih_o[k] + hW_o[k] + b_hh_o[k])
        i, f = gates_r[:H], gates_r[H : 2 * H]  # (H,) views
        c_r, h_r, c_prev_r = c[row], h[row], c_prev[row]
        for j in range(H):
            c_r[j] = f[j] * c_prev_r[j] + i[j] * g[j]
            h_r[j] = o[j] * tanh(c_r[j])


@float_twin(lstm.step_backward_data)
def step_backward_data(dstate, cache):
    """One step's backward pass without the weight gradients: (dx (N, D), (dh_prev, dc_prev)
    (N, H) each, (da, da)), da (N, 4H) the pre-activations' gradient, for `weight_grads`."""
    dh, dc = check_step_grads(f"{WHERE}.step_backward_data", dstate, cache)  # before the loop
    x, h_prev, c_prev, gates, c, p = cache
    dc = np.zeros_like(c) if dc is None else dc
    N, H = c.shape
    da = np.empty((N, 4 * H), dtype=c.dtype)
    dx, dh_prev = np.empty(x.shape, dtype=c.dtype), np.empty((N, H), dtype=c.dtype)
    dc_prev = np.empty((N, H), dtype=c.dtype)
    W_ih, W_hh = p["W_ih"], p["W_hh"]
    step_backward_data_into(dh, dc, c_prev, gates, c, W_ih, W_hh, da, dx, dh_prev, dc_prev)
    return dx, (dh_prev, dc_prev), (da, da)


@twin_jit
def step_backward_data_into(dh, dc, c_prev, gates, c, W_ih, W_hh, da, dx, dh_prev, dc_prev):
    """The step of `step_backward_data`, writing da, dx, dh_prev and dc_prev in place."""
    N, H = c.shape
    one = c.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    for row in range(N):
        gates_r, c_r, da_r = gates[row], c[row], da[row]  # (4H,) and (H,) rows
        i, f = gates_r[:H], gates_r[H : 2 * H]  # (H,) views
        g, o = gates_r[2 * H : 3 * H], gates_r[3 * H :]
        da_i, da_f, da_g, da_o = da_r[:H], da_r[H : 2 * H], da_r[2 * H : 3 * H], da_r[3 * H :]
        dh_r, dc_r, c_prev_r, dc_prev_r = dh[row], dc[row], c_prev[row], dc_prev[row]
        for j in range(H):
            tc = tanh(c_r[j])
            # the reference's dc = dc + ...; dc_j here, for dc is the argument array
            dc_j = dc_r[j] + dh_r[j] * o[j] * (one - tc * tc)  # all of c's gradient, h = o tanh(c)
            da_i[j] = dc_j * g[j] * i[j] * (one - i[j])  # sigma' = sigma (1 - sigma)
            da_f[j] = dc_j * c_prev_r[j] * f[j] * (one - f[j])
            da_g[j] = dc_j * i[j] * (one - g[j] * g[j])  # tanh' = 1 - tanh^2
            da_o[j] = dh_r[j] * tc * o[j] * (one - o[j])
            dc_prev_r[j] = dc_j * f[j]
    gemm_nn(da, np.ascontiguousarray(W_ih), dx)
    gemm_nn(da, np.ascontiguousarray(W_hh), dh_prev)

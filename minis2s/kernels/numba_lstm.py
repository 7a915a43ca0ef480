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

Read beside the reference: each compiled loop names the function it replaces and each pass the
equation it computes. Names are the reference's: a gate block or other (H,) view, or one entry of
an (N, H) array, has the name of what it holds (i, f, g, o, c_prev, da_i; dh, dc, tc); a row of
the reference's name[:, t] is name_t (xw_t, gates_t, da_t, dys_t; hs_t and cs_t of hs_state and
cs_state), a row of an (N, .) array name_row (h_row, dh_row; hW_row of hW = h W_hh^T). Where the
twin differs, a comment says why: a = xw_t + hW is summed where each gate is activated, never
stored; i and f, sigma of adjacent blocks, take one pass; each row chooses `.. if m_t else ..`
where the reference takes where(m_t, ..) over the batch.
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
    """The loop of `lstm.forward_loop`, writing hs_state, cs_state, gates in place; h, c (N, H)
    enter as h0, c0 and are updated step by step, hW (N, 4H) is scratch for h W_hh^T.

    The reference's a = xw[:, t] + h @ W_hh.T, split by `gate_blocks` into a_i, a_f, a_g, a_o,
    is never stored: each gate adds its xw_t and hW entries as it is activated, straight into
    its block of gates (so no concatenate), and c, h are written in place of where(m_t, ..)."""
    N, T, H4 = xw.shape
    H = H4 // 4
    for t in range(T):
        gemm_nt(h, W_hh, hW)  # h @ W_hh.T for every row in one GEMM
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            xw_t, hW_row, gates_t = xw[row, t], hW[row], gates[row, t]  # (4H,) rows: flat passes
            for k in range(2 * H):  # i, f = sigmoid(a_i), sigmoid(a_f): both blocks in one pass
                gates_t[k] = sigmoid(xw_t[k] + hW_row[k])
            xw_g, hW_g, g = xw_t[2 * H : 3 * H], hW_row[2 * H : 3 * H], gates_t[2 * H : 3 * H]
            for k in range(H):  # g = tanh(a_g)
                g[k] = tanh(xw_g[k] + hW_g[k])
            xw_o, hW_o, o = xw_t[3 * H :], hW_row[3 * H :], gates_t[3 * H :]
            for k in range(H):  # o = sigmoid(a_o)
                o[k] = sigmoid(xw_o[k] + hW_o[k])
            i, f = gates_t[:H], gates_t[H : 2 * H]  # (H,) views, as gate_blocks(gates[:, t], 4)
            c_row, h_row, cs_t, hs_t = c[row], h[row], cs_state[row, t], hs_state[row, t]
            for j in range(H):
                c_new = f[j] * c_row[j] + i[j] * g[j]  # c~_t
                h_new = o[j] * tanh(c_new)  # h~_t
                c_row[j] = c_new if m_t else c_row[j]  # a padded step keeps c and h (NaN gates)
                h_row[j] = h_new if m_t else h_row[j]
                hs_t[j], cs_t[j] = h_row[j], c_row[j]


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
    """The loop of `lstm.backward_loop`, writing da in place; dh_next, dc_next (N, H) enter as
    dh_final, dc_final and leave as dh0, dc0; da_W (N, H) is scratch for da[:, t] W_hh.

    `lstm.gate_grads` is inlined, its four blocks written straight into da_t (so no
    concatenate), and the step's da[:, t] @ W_hh is one GEMM after all rows: each row's
    dh_next holds 0 (a real step) or dh (a padded one) until the GEMM adds da_t W_hh to it."""
    N, T, H = dys.shape
    zero, one = dys.dtype.type(0), dys.dtype.type(1)  # not literals, which would promote float32
    for t in range(T - 1, -1, -1):
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            c_prev = c0[row] if t == 0 else cs_state[row, t - 1]  # (H,) rows from here on
            gates_t, cs_t, dys_t = gates[row, t], cs_state[row, t], dys[row, t]
            dh_row, dc_row, da_t = dh_next[row], dc_next[row], da[row, t]
            i, f = gates_t[:H], gates_t[H : 2 * H]  # as gate_blocks(gates[:, t], 4)
            g, o = gates_t[2 * H : 3 * H], gates_t[3 * H :]
            da_i, da_f, da_g, da_o = da_t[:H], da_t[H : 2 * H], da_t[2 * H : 3 * H], da_t[3 * H :]
            for j in range(H):
                tc = tanh(cs_t[j])  # = tanh(c~_t) wherever m_t = 1
                dh = dh_row[j] + (dys_t[j] if m_t else zero)  # through y_t and through h_{t+1}
                dc = dc_row[j] + dh * o[j] * (one - tc * tc)  # dc~: through c_t and h~_t
                # gate_grads: sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2; 0 at a padded step
                da_i[j] = dc * g[j] * i[j] * (one - i[j]) if m_t else zero
                da_f[j] = dc * c_prev[j] * f[j] * (one - f[j]) if m_t else zero
                da_g[j] = dc * i[j] * (one - g[j] * g[j]) if m_t else zero
                da_o[j] = dh * tc * o[j] * (one - o[j]) if m_t else zero
                dc_row[j] = dc * f[j] if m_t else dc_row[j]  # a padded step passes dc, dh through
                dh_row[j] = zero if m_t else dh  # + da_t W_hh (0 in a padded row) after the rows
        gemm_nn(da[:, t], W_hh, da_W)  # reads the rows of da[:, t] in place (row stride T*4H)
        dh_next += da_W  # dh_{t-1}


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
    """The step of `lstm.step_forward`, writing h, c and gates in place; xW, hW (N, 4H) are
    scratch for x W_ih^T and h_prev W_hh^T. W_ih, W_hh are W_ih^T (D, 4H), W_hh^T (H, 4H) when
    `nn`. As in `forward_loop_into`, a = xW + b_ih + hW + b_hh is summed where each gate is
    activated, never stored."""
    N, H = h_prev.shape
    step_products(x, h_prev, W_ih, W_hh, nn, xW, hW)  # x @ W_ih.T, h_prev @ W_hh.T
    for row in range(N):
        xW_row, hW_row, gates_row = xW[row], hW[row], gates[row]  # (4H,) rows
        for k in range(2 * H):  # i, f = sigmoid(a_i), sigmoid(a_f): both blocks in one pass
            gates_row[k] = sigmoid(xW_row[k] + b_ih[k] + hW_row[k] + b_hh[k])
        xW_g, hW_g, g = xW_row[2 * H : 3 * H], hW_row[2 * H : 3 * H], gates_row[2 * H : 3 * H]
        b_ih_g, b_hh_g = b_ih[2 * H : 3 * H], b_hh[2 * H : 3 * H]
        for k in range(H):  # g = tanh(a_g)
            g[k] = tanh(xW_g[k] + b_ih_g[k] + hW_g[k] + b_hh_g[k])
        xW_o, hW_o, o = xW_row[3 * H :], hW_row[3 * H :], gates_row[3 * H :]
        b_ih_o, b_hh_o = b_ih[3 * H :], b_hh[3 * H :]
        for k in range(H):  # o = sigmoid(a_o)
            o[k] = sigmoid(xW_o[k] + b_ih_o[k] + hW_o[k] + b_hh_o[k])
        i, f = gates_row[:H], gates_row[H : 2 * H]  # (H,) views
        c_row, h_row, c_prev_row = c[row], h[row], c_prev[row]
        for j in range(H):
            c_row[j] = f[j] * c_prev_row[j] + i[j] * g[j]
            h_row[j] = o[j] * tanh(c_row[j])


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
    """The step of `lstm.step_backward_data`, writing da, dx, dh_prev and dc_prev in place.
    `lstm.gate_grads` is inlined, and dc_prev = dc f (the reference's last result) is written in
    the same pass, before the two GEMMs that give dx and dh_prev."""
    N, H = c.shape
    one = c.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    for row in range(N):
        gates_row, c_row, da_row = gates[row], c[row], da[row]  # (4H,) and (H,) rows
        i, f = gates_row[:H], gates_row[H : 2 * H]  # (H,) views, as gate_blocks(gates, 4)
        g, o = gates_row[2 * H : 3 * H], gates_row[3 * H :]
        da_i, da_f = da_row[:H], da_row[H : 2 * H]
        da_g, da_o = da_row[2 * H : 3 * H], da_row[3 * H :]
        dh_row, dc_row, c_prev_row, dc_prev_row = dh[row], dc[row], c_prev[row], dc_prev[row]
        for j in range(H):
            tc = tanh(c_row[j])
            # the reference's dc = dc + ... (all of c's gradient, via h = o tanh(c)); dc_j here,
            # for dc is the argument array
            dc_j = dc_row[j] + dh_row[j] * o[j] * (one - tc * tc)
            da_i[j] = dc_j * g[j] * i[j] * (one - i[j])  # sigma' = sigma (1 - sigma)
            da_f[j] = dc_j * c_prev_row[j] * f[j] * (one - f[j])
            da_g[j] = dc_j * i[j] * (one - g[j] * g[j])  # tanh' = 1 - tanh^2
            da_o[j] = dh_row[j] * tc * o[j] * (one - o[j])
            dc_prev_row[j] = dc_j * f[j]  # c = f c_prev + i g
    gemm_nn(da, np.ascontiguousarray(W_ih), dx)  # da @ W_ih
    gemm_nn(da, np.ascontiguousarray(W_hh), dh_prev)  # da @ W_hh

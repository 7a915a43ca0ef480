"""Numba twins of `minis2s.layers.gru.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "numba" backend).

Same names, arguments, results and statement order as the reference; only the loop mechanics
differ. Each step does one GEMM, h_{t-1} W_hh^T (forward) or dah_t W_hh (backward), through
`gemm_nt` / `gemm_nn` (NumPy's own BLAS: see `minis2s.kernels.blas`; the backward GEMM reads the
rows of dah[:, t] in place, no copy), then, per row, one flat pass over the 2H pre-activations
of r and z and one over H for n and h, writing straight into the outputs, so no temporary array
is made per gate or per step. Gate j of block k sits at column k*H + j of the (N, 3H)
pre-activations, blocks in the order r, z, n. Compiled lazily on first call for the dtype of the
inputs (float32 or float64) and cached on disk (`twin_jit`).

Each twin is a small Python function that allocates with NumPy every array its compiled loop
(`*_into`) touches; how the loops are written to vectorise, and why NumPy allocates: see
`minis2s.kernels`. A step twin runs both GEMMs and the gate math in one compiled call, where the
reference makes a dozen NumPy calls (and pays their Python overhead) per step.

Read beside the reference: each compiled loop names the function it replaces and each pass the
equation it computes. Names are the reference's: a gate block or other (H,) view, or one entry of
an (N, H) array, has the name of what it holds (r, z, n, h_prev, ax_n; dh, dan, dar, daz), and
dax_r ... dah_n are the blocks of dax and dah, the gradients of ax_r ... hn; a row of the
reference's name[:, t] is name_t (xw_t, gates_t, dys_t, hn_t; hs_t of hs_state), a row of an
(N, .) array name_row (h_row, dh_row; hW_row of hW = h W_hh^T). A batch row is `row`, never r
(the reset gate). Where the twin differs, a comment says why: ah = hW + b_hh is summed where each
gate is activated, never stored (hn_t is, for the backward pass); r and z, sigma of adjacent
blocks, take one pass; each row chooses `.. if m_t else ..` where the reference takes
where(m_t, ..) over the batch.
"""

from __future__ import annotations

import numpy as np

from minis2s.kernels.blas import gemm_nn, gemm_nt, step_products, twin_jit
from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.fast_math import sigmoid, tanh
from minis2s.kernels.step_weights import input_weights
from minis2s.layers import gru
from minis2s.layers.gru import WHERE, GRUStepCache, check_step_forward, check_step_grads


@float_twin(gru.forward_loop)
def forward_loop(xw, h0, W_hh, b_hh, m):
    """The time loop. xw (N, T, 3H) = x W_ih^T + b_ih, h0 (N, H), W_hh (3H, H), b_hh (3H,), m (N, T)
    float mask -> carried states (N, T, H), the activated gates (N, T, 3H) and hn (N, T, H) =
    h_{t-1} W_hn^T + b_hn."""
    N, T, H3 = xw.shape
    H = H3 // 3
    hs_state = np.empty((N, T, H), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    hn = np.empty((N, T, H), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    gates = np.empty((N, T, H3), dtype=xw.dtype)  # NumPy's allocation: see minis2s.kernels
    h = np.array(h0, order="C")  # (N, H), updated step by step
    hW = np.empty((N, H3), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    forward_loop_into(xw, h, np.ascontiguousarray(W_hh), b_hh, m, hW, hs_state, hn, gates)
    return hs_state, gates, hn


@twin_jit
def forward_loop_into(xw, h, W_hh, b_hh, m, hW, hs_state, hn, gates):
    """The loop of `gru.forward_loop`, writing hs_state, hn, gates in place; h (N, H) enters as
    h0 and is updated step by step, hW (N, 3H) is scratch for h W_hh^T.

    The reference's two sides, ax_r, ax_z, ax_n (blocks of xw[:, t]) and ah_r, ah_z, hn_t
    (blocks of h @ W_hh.T + b_hh), are read in place: ah = hW + b_hh is summed where each gate is
    activated, and only hn_t, which the backward pass needs, is stored."""
    N, T, H3 = xw.shape
    H = H3 // 3
    one = xw.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    b_hh_n = b_hh[2 * H :]  # (H,) views from here on: loops from 0 vectorise (minis2s.kernels)
    for t in range(T):
        gemm_nt(h, W_hh, hW)  # h @ W_hh.T for every row in one GEMM
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            xw_t, hW_row, gates_t = xw[row, t], hW[row], gates[row, t]  # (3H,) rows
            # r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z): both blocks in one pass
            for k in range(2 * H):
                gates_t[k] = sigmoid(xw_t[k] + (hW_row[k] + b_hh[k]))
            r, z, n = gates_t[:H], gates_t[H : 2 * H], gates_t[2 * H :]  # (H,) views
            ax_n, hW_n = xw_t[2 * H :], hW_row[2 * H :]
            h_row, hs_t, hn_t = h[row], hs_state[row, t], hn[row, t]
            for j in range(H):
                hn_t[j] = hW_n[j] + b_hh_n[j]  # h_{t-1} W_hn^T + b_hn, the hidden side of n
                n[j] = tanh(ax_n[j] + r[j] * hn_t[j])
                h_new = (one - z[j]) * n[j] + z[j] * h_row[j]  # h~_t
                h_row[j] = h_new if m_t else h_row[j]  # a padded step keeps h (NaN gates)
                hs_t[j] = h_row[j]


@float_twin(gru.backward_loop)
def backward_loop(dys, dh_final, hs_state, gates, hn, h0, m, W_hh):
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final (N, H), hs_state (N, T, H), gates (N, T, 3H) and hn (N, T, H) from forward_loop,
    h0 (N, H), m (N, T), W_hh (3H, H) -> (dax (N, T, 3H), dah (N, T, 3H), dh0 (N, H)): the
    gradients of the input-side and hidden-side pre-activations [r, z, n]."""
    N, T, H = dys.shape
    dax = np.empty((N, T, 3 * H), dtype=dys.dtype)  # NumPy's allocation: see minis2s.kernels
    dah = np.empty((N, T, 3 * H), dtype=dys.dtype)
    dh_next = np.array(dh_final, order="C")  # (N, H), updated step by step
    dah_W = np.empty((N, H), dtype=dys.dtype)  # dah[:, t] W_hh
    W_hh = np.ascontiguousarray(W_hh)
    backward_loop_into(dys, dh_next, hs_state, gates, hn, h0, m, W_hh, dax, dah, dah_W)
    return dax, dah, dh_next


@twin_jit
def backward_loop_into(dys, dh_next, hs_state, gates, hn, h0, m, W_hh, dax, dah, dah_W):
    """The loop of `gru.backward_loop`, writing dax, dah in place; dh_next (N, H) enters as
    dh_final and leaves as dh0; dah_W (N, H) is scratch for dah[:, t] W_hh.

    `gru.gate_grads` is inlined, its blocks written straight into dax_t and dah_t (so no
    concatenate); dax_r is the gradient of ax_r, dah_n of hn, and so on. The step's
    dah[:, t] @ W_hh is one GEMM after all rows: each row's dh_next holds dh z (a real step) or
    dh (a padded one) until the GEMM adds dah_t W_hh to it."""
    N, T, H = dys.shape
    zero, one = dys.dtype.type(0), dys.dtype.type(1)  # not literals, which would promote float32
    for t in range(T - 1, -1, -1):
        for row in range(N):
            m_t = m[row, t] > 0  # False at padding
            h_prev = h0[row] if t == 0 else hs_state[row, t - 1]  # (H,) views from here on
            gates_t, dax_t, dah_t = gates[row, t], dax[row, t], dah[row, t]
            r, z, n = gates_t[:H], gates_t[H : 2 * H], gates_t[2 * H :]  # gate_blocks(.., 3)
            dax_r, dax_z, dax_n = dax_t[:H], dax_t[H : 2 * H], dax_t[2 * H :]
            dah_r, dah_z, dah_n = dah_t[:H], dah_t[H : 2 * H], dah_t[2 * H :]
            dh_row, dys_t, hn_t = dh_next[row], dys[row, t], hn[row, t]
            for j in range(H):
                dh = dh_row[j] + (dys_t[j] if m_t else zero)  # through y_t and through h_{t+1}
                # gate_grads, one entry at a time
                dan = dh * (one - z[j]) * (one - n[j] * n[j])  # dh/dn = 1 - z, tanh'
                dar = dan * hn_t[j] * r[j] * (one - r[j])  # n = tanh(.. + r hn), sigma'
                daz = dh * (h_prev[j] - n[j]) * z[j] * (one - z[j])  # dh/dz = h_prev - n
                # a padded step has no gates (they may be NaN): 0 there
                dax_r[j], dax_z[j], dax_n[j] = (dar, daz, dan) if m_t else (zero, zero, zero)
                dah_r[j], dah_z[j], dah_n[j] = (dar, daz, dan * r[j]) if m_t else (zero, zero, zero)
                # a padded step passes dh through; + dah_t W_hh (0 in its row) once rows are done
                dh_row[j] = dh * z[j] if m_t else dh
        gemm_nn(dah[:, t], W_hh, dah_W)  # reads the rows of dah[:, t] in place
        dh_next += dah_W  # dh_{t-1}


# -- one step, for the decoder's loop ---------------------------------------------------------


@float_twin(gru.step_forward)
def step_forward(x, h_prev, p):
    """One step h = (1 - z) * n + z * h_prev, unmasked (see minis2s.layers.gru's equations).

    Shapes: x (N, D), h_prev (N, H) -> h (N, H).
    """
    check_step_forward(x, h_prev, p)  # before the loop reads b_ih, b_hh
    N, H = h_prev.shape
    h, hn = np.empty((N, H), dtype=x.dtype), np.empty((N, H), dtype=x.dtype)
    gates = np.empty((N, 3 * H), dtype=x.dtype)
    xW, hW = np.empty((N, 3 * H), dtype=x.dtype), np.empty((N, 3 * H), dtype=x.dtype)
    W_ih, W_hh, nn = input_weights(p)  # W^T where step_weights made them: see there
    step_forward_into(x, h_prev, W_ih, W_hh, nn, p["b_ih"], p["b_hh"], xW, hW, h, gates, hn)
    return h, GRUStepCache(x, h_prev, gates, hn, p)


@twin_jit
def step_forward_into(x, h_prev, W_ih, W_hh, nn, b_ih, b_hh, xW, hW, h, gates, hn):
    """The step of `gru.step_forward`, writing h, gates and hn in place; xW, hW (N, 3H) are
    scratch for x W_ih^T and h_prev W_hh^T. W_ih, W_hh are W_ih^T (D, 3H), W_hh^T (H, 3H) when
    `nn`. As in `forward_loop_into`, the two sides ax = xW + b_ih and ah = hW + b_hh are summed
    where each gate is activated; only hn is stored."""
    N, H = h_prev.shape
    step_products(x, h_prev, W_ih, W_hh, nn, xW, hW)  # x @ W_ih.T, h_prev @ W_hh.T
    one = x.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    b_ih_n, b_hh_n = b_ih[2 * H :], b_hh[2 * H :]  # (H,) views from here on: see minis2s.kernels
    for row in range(N):
        xW_row, hW_row, gates_row = xW[row], hW[row], gates[row]  # (3H,) rows
        for k in range(2 * H):  # r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)
            gates_row[k] = sigmoid(xW_row[k] + b_ih[k] + (hW_row[k] + b_hh[k]))
        r, z, n = gates_row[:H], gates_row[H : 2 * H], gates_row[2 * H :]  # (H,) views
        xW_n, hW_n = xW_row[2 * H :], hW_row[2 * H :]
        hn_row, h_row, h_prev_row = hn[row], h[row], h_prev[row]
        for j in range(H):
            hn_row[j] = hW_n[j] + b_hh_n[j]  # hn = h_prev W_hn^T + b_hn
            n[j] = tanh(xW_n[j] + b_ih_n[j] + r[j] * hn_row[j])  # ax_n = xW_n + b_in
            h_row[j] = (one - z[j]) * n[j] + z[j] * h_prev_row[j]


@float_twin(gru.step_backward_data)
def step_backward_data(dh, cache):
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (dax, dah)), the (N, 3H) gradients of the input-side and hidden-side pre-activations."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)  # before the loop reads dh
    x, h_prev, gates, hn, p = cache
    N, H = h_prev.shape
    dax, dah = np.empty((N, 3 * H), dtype=dh.dtype), np.empty((N, 3 * H), dtype=dh.dtype)
    dx, dh_prev = np.empty(x.shape, dtype=dh.dtype), np.empty((N, H), dtype=dh.dtype)
    dah_W = np.empty((N, H), dtype=dh.dtype)  # dah W_hh
    W_ih, W_hh = p["W_ih"], p["W_hh"]
    step_backward_data_into(dh, h_prev, gates, hn, W_ih, W_hh, dax, dah, dah_W, dx, dh_prev)
    return dx, dh_prev, (dax, dah)


@twin_jit
def step_backward_data_into(dh, h_prev, gates, hn, W_ih, W_hh, dax, dah, dah_W, dx, dh_prev):
    """The step of `gru.step_backward_data`, writing dax, dah, dx and dh_prev in place; dah_W
    (N, H) is scratch for dah W_hh. `gru.gate_grads` is inlined (dax_r the gradient of ax_r, dah_n
    of hn, ..); the reference's dh_prev = dh * z + dah @ W_hh takes a second pass over the rows,
    after the GEMM."""
    N, H = h_prev.shape
    one = dh.dtype.type(1)  # not the literal 1, which would promote float32 math to float64
    for row in range(N):
        gates_row, dax_row, dah_row = gates[row], dax[row], dah[row]  # (3H,) rows
        r, z, n = gates_row[:H], gates_row[H : 2 * H], gates_row[2 * H :]  # gate_blocks(.., 3)
        dax_r, dax_z, dax_n = dax_row[:H], dax_row[H : 2 * H], dax_row[2 * H :]
        dah_r, dah_z, dah_n = dah_row[:H], dah_row[H : 2 * H], dah_row[2 * H :]
        dh_row, hn_row, h_prev_row = dh[row], hn[row], h_prev[row]
        for j in range(H):  # gate_grads
            dan = dh_row[j] * (one - z[j]) * (one - n[j] * n[j])  # dh/dn = 1 - z, tanh'
            dar = dan * hn_row[j] * r[j] * (one - r[j])  # n = tanh(.. + r hn), sigma'
            daz = dh_row[j] * (h_prev_row[j] - n[j]) * z[j] * (one - z[j])  # dh/dz = h_prev - n
            dax_r[j], dax_z[j], dax_n[j] = dar, daz, dan
            dah_r[j], dah_z[j], dah_n[j] = dar, daz, dan * r[j]
    gemm_nn(dax, np.ascontiguousarray(W_ih), dx)  # dax @ W_ih
    gemm_nn(dah, np.ascontiguousarray(W_hh), dah_W)  # dah @ W_hh
    for row in range(N):
        z, dh_row = gates[row, H : 2 * H], dh[row]
        dah_W_row, dh_prev_row = dah_W[row], dh_prev[row]
        for j in range(H):
            dh_prev_row[j] = dh_row[j] * z[j] + dah_W_row[j]  # dh z + dah W_hh

"""CuPy twins of `minis2s.layers.gru.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "cupy" backend).

Same names, arguments, results and statement order as the reference. Each step is one cuBLAS
GEMM, h_{t-1} W_hh^T (forward) or dah_t W_hh (backward), into a buffer reused every step, then one
fused kernel (`minis2s.kernels.elementwise`) for the gate math, which reads the gate blocks
[r, z, n] as (N, H) views (and b_hh's blocks as (H,) rows) and writes straight into the outputs;
the reference launches 25 kernels per step forward and 28 backward (tests/test_launches.py).

A padded step selects (`where`), as the reference does, so what padding holds never reaches h or a
gradient. The backward twin carries dh_{t} as two parts, dh z (dh itself through a padded step) and
the GEMM dah W_hh, and the next step's kernel adds them. The carried part alternates between two
buffers, since a kernel's output must not overlap its input.
"""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module
from minis2s.kernels.elementwise import Elementwise, blocks
from minis2s.layers.gru import WHERE, GRUStepCache, check_step_forward, check_step_grads

LOOP_STEP_FORWARD = Elementwise(
    "gru_loop_step_forward",
    inputs="xw_r xw_z xw_n hW_r hW_z hW_n b_hh_r b_hh_z b_hh_n h_prev m",
    outputs="h r_t z_t n_t hn",
    body="""
        r_t = sigmoid(xw_r + (hW_r + b_hh_r))
        z_t = sigmoid(xw_z + (hW_z + b_hh_z))
        hn = hW_n + b_hh_n
        n_t = tanh(xw_n + r_t * hn)
        h_new = (1 - z_t) * n_t + z_t * h_prev
        h = where(m, h_new, h_prev)
    """,
)

LOOP_STEP_BACKWARD = Elementwise(
    "gru_loop_step_backward",
    inputs="dh_rest dh_W dys_t h_prev r_t z_t n_t hn m",
    outputs="dax_r dax_z dax_n dah_r dah_z dah_n dh_rest_prev",
    body="""
        dh = dh_rest + dh_W + where(m, dys_t, 0)
        dan = dh * (1 - z_t) * (1 - n_t * n_t)
        dar = dan * hn * r_t * (1 - r_t)
        daz = dh * (h_prev - n_t) * z_t * (1 - z_t)
        dax_r = where(m, dar, 0)
        dax_z = where(m, daz, 0)
        dax_n = where(m, dan, 0)
        dah_r = where(m, dar, 0)
        dah_z = where(m, daz, 0)
        dah_n = where(m, dan * r_t, 0)
        dh_rest_prev = where(m, dh * z_t, dh)
    """,
)


def forward_loop(xw: Any, h0: Any, W_hh: Any, b_hh: Any, m: Any) -> tuple[Any, Any, Any]:
    """The time loop. xw (N, T, 3H) = x W_ih^T + b_ih -> carried states (N, T, H), the activated
    gates (N, T, 3H) and hn (N, T, H) = h_{t-1} W_hn^T + b_hn."""
    xp = get_array_module(xw)
    N, T, H3 = xw.shape
    H = H3 // 3
    hs_state = xp.empty((N, T, H), dtype=xw.dtype)
    hn = xp.empty((N, T, H), dtype=xw.dtype)
    gates = xp.empty_like(xw)
    hW = xp.empty((N, H3), dtype=xw.dtype)  # h_{t-1} W_hh^T (without b_hh), reused every step
    h = h0
    for t in range(T):
        xp.matmul(h, W_hh.T, out=hW)
        LOOP_STEP_FORWARD(*blocks(xw[:, t], 3), *blocks(hW, 3), *blocks(b_hh, 3), h, m[:, t, None],
                          hs_state[:, t], *blocks(gates[:, t], 3), hn[:, t])  # fmt: skip
        h = hs_state[:, t]
    return hs_state, gates, hn


def backward_loop(
    dys: Any, dh_final: Any, hs_state: Any, gates: Any, hn: Any, h0: Any, m: Any, W_hh: Any
) -> tuple[Any, Any, Any]:
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient; returns
    (dax (N, T, 3H), dah (N, T, 3H), dh0 (N, H)): the gradients of the input-side and hidden-side
    pre-activations [r, z, n]."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    dax, dah = xp.empty_like(gates), xp.empty_like(gates)
    dh_W = xp.zeros((N, H), dtype=dys.dtype)  # dah_{t+1} W_hh; none after the last step
    dh_rest, buffers = dh_final, (xp.empty_like(dh_final), xp.empty_like(dh_final))
    for t in range(T - 1, -1, -1):  # dh_{t} = dh_rest + dh_W
        dh_rest_prev = buffers[t % 2]  # not dh_rest's buffer: outputs must not overlap inputs
        h_prev = h0 if t == 0 else hs_state[:, t - 1]
        LOOP_STEP_BACKWARD(dh_rest, dh_W, dys[:, t], h_prev, *blocks(gates[:, t], 3), hn[:, t],
                           m[:, t, None], *blocks(dax[:, t], 3), *blocks(dah[:, t], 3),
                           dh_rest_prev)  # fmt: skip
        xp.matmul(dah[:, t], W_hh, out=dh_W)
        dh_rest = dh_rest_prev
    return dax, dah, dh_rest + dh_W


STEP_FORWARD = Elementwise(
    "gru_step_forward",
    inputs="xW_r xW_z xW_n b_ih_r b_ih_z b_ih_n hW_r hW_z hW_n b_hh_r b_hh_z b_hh_n h_prev",
    outputs="h r_t z_t n_t hn",
    body="""
        r_t = sigmoid(xW_r + b_ih_r + (hW_r + b_hh_r))
        z_t = sigmoid(xW_z + b_ih_z + (hW_z + b_hh_z))
        hn = hW_n + b_hh_n
        n_t = tanh(xW_n + b_ih_n + r_t * hn)
        h = (1 - z_t) * n_t + z_t * h_prev
    """,
)

STEP_BACKWARD = Elementwise(
    "gru_step_backward",
    inputs="dh h_prev r_t z_t n_t hn",
    outputs="dax_r dax_z dax_n dah_r dah_z dah_n dh_z",
    body="""
        dan = dh * (1 - z_t) * (1 - n_t * n_t)
        dar = dan * hn * r_t * (1 - r_t)
        daz = dh * (h_prev - n_t) * z_t * (1 - z_t)
        dax_r = dar
        dax_z = daz
        dax_n = dan
        dah_r = dar
        dah_z = daz
        dah_n = dan * r_t
        dh_z = dh * z_t
    """,
)


def step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> tuple[Any, GRUStepCache]:
    """One step h = (1 - z) * n + z * h_prev, unmasked: two GEMMs and one fused kernel.

    Shapes: x (N, D), h_prev (N, H) -> h (N, H), cache.
    """
    check_step_forward(x, h_prev, p)  # the fused kernel reads b_ih, b_hh unchecked
    xp = get_array_module(x)
    N, H = h_prev.shape
    h, hn = xp.empty((N, H), dtype=x.dtype), xp.empty((N, H), dtype=x.dtype)
    gates = xp.empty((N, 3 * H), dtype=x.dtype)
    xW, hW = x @ p["W_ih"].T, h_prev @ p["W_hh"].T  # (N, 3H) each
    STEP_FORWARD(*blocks(xW, 3), *blocks(p["b_ih"], 3), *blocks(hW, 3), *blocks(p["b_hh"], 3),
                 h_prev, h, *blocks(gates, 3), hn)  # fmt: skip
    return h, GRUStepCache(x, h_prev, gates, hn, p)


def step_backward_data(dh: Any, cache: GRUStepCache) -> tuple[Any, Any, tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (dax, dah)), the (N, 3H) gradients of the input-side and hidden-side pre-activations."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)  # before the kernel reads dh
    x, h_prev, gates, hn, p = cache
    xp = get_array_module(x)
    N, H = h_prev.shape
    dax, dah = xp.empty((N, 3 * H), dtype=x.dtype), xp.empty((N, 3 * H), dtype=x.dtype)
    dh_z = xp.empty((N, H), dtype=x.dtype)
    STEP_BACKWARD(dh, h_prev, *blocks(gates, 3), hn, *blocks(dax, 3), *blocks(dah, 3), dh_z)
    return dax @ p["W_ih"], dh_z + dah @ p["W_hh"], (dax, dah)

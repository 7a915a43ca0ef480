"""CuPy twins of `minis2s.layers.lstm.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "cupy" backend).

Same names, arguments, results and statement order as the reference. Each step is one cuBLAS
GEMM, h_{t-1} W_hh^T (forward) or da_t W_hh (backward), into a buffer reused every step, then one
fused kernel (`minis2s.kernels.elementwise`) for the gate math, which reads the gate blocks
[i, f, g, o] as (N, H) views and writes straight into the outputs; the reference launches 27
kernels per step forward and 32 backward, and allocates their results (tests/test_launches.py).

A padded step selects (`where`), as the reference does, so what padding holds never reaches h, c or
a gradient. The backward twin carries dh_{t} as two parts, the rest (dh passed through a padded
step, else 0) and the GEMM da W_hh, and the next step's kernel adds them; dc_{t} is carried whole.
Carried parts alternate between two buffers, since a kernel's output must not overlap its input.
"""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module
from minis2s.kernels.elementwise import Elementwise, blocks
from minis2s.layers._lstm_checks import WHERE, LSTMStepCache, check_step_forward, check_step_grads

LOOP_STEP_FORWARD = Elementwise(
    "lstm_loop_step_forward",
    inputs="xw_i xw_f xw_g xw_o hW_i hW_f hW_g hW_o h_prev c_prev m",
    outputs="h c i_t f_t g_t o_t",
    body="""
        i_t = sigmoid(xw_i + hW_i)
        f_t = sigmoid(xw_f + hW_f)
        g_t = tanh(xw_g + hW_g)
        o_t = sigmoid(xw_o + hW_o)
        c_new = f_t * c_prev + i_t * g_t
        h_new = o_t * tanh(c_new)
        c = where(m, c_new, c_prev)
        h = where(m, h_new, h_prev)
    """,
)

LOOP_STEP_BACKWARD = Elementwise(
    "lstm_loop_step_backward",
    inputs="dh_rest dh_W dys_t dc_next c c_prev i_t f_t g_t o_t m",
    outputs="da_i da_f da_g da_o dh_rest_prev dc_prev",
    body="""
        tc = tanh(c)
        dh = dh_rest + dh_W + where(m, dys_t, 0)
        dc = dc_next + dh * o_t * (1 - tc * tc)
        da_i = where(m, dc * g_t * i_t * (1 - i_t), 0)
        da_f = where(m, dc * c_prev * f_t * (1 - f_t), 0)
        da_g = where(m, dc * i_t * (1 - g_t * g_t), 0)
        da_o = where(m, dh * tc * o_t * (1 - o_t), 0)
        dc_prev = where(m, dc * f_t, dc_next)
        dh_rest_prev = where(m, 0, dh)
    """,
)


def forward_loop(xw: Any, h0: Any, c0: Any, W_hh: Any, m: Any) -> tuple[Any, Any, Any]:
    """The time loop. xw (N, T, 4H) = x W_ih^T + b_ih + b_hh -> carried states hs, cs (N, T, H)
    and the activated gates (N, T, 4H)."""
    xp = get_array_module(xw)
    N, T, H4 = xw.shape
    H = H4 // 4
    hs_state = xp.empty((N, T, H), dtype=xw.dtype)
    cs_state = xp.empty((N, T, H), dtype=xw.dtype)
    gates = xp.empty_like(xw)
    hW = xp.empty((N, H4), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    h, c = h0, c0
    for t in range(T):
        xp.matmul(h, W_hh.T, out=hW)
        LOOP_STEP_FORWARD(*blocks(xw[:, t], 4), *blocks(hW, 4), h, c, m[:, t, None],
                          hs_state[:, t], cs_state[:, t], *blocks(gates[:, t], 4))  # fmt: skip
        h, c = hs_state[:, t], cs_state[:, t]
    return hs_state, cs_state, gates


def backward_loop(
    dys: Any,
    dh_final: Any,
    dc_final: Any,
    hs_state: Any,
    cs_state: Any,
    gates: Any,
    c0: Any,
    m: Any,
    W_hh: Any,
) -> tuple[Any, Any, Any]:
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient; returns
    (da (N, T, 4H), dh0 (N, H), dc0 (N, H))."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    da = xp.empty_like(gates)
    dh_W = xp.zeros((N, H), dtype=dys.dtype)  # da_{t+1} W_hh; none after the last step
    dh_rest, dc_next = dh_final, dc_final  # dh_{t} = dh_rest + dh_W
    buffers = [(xp.empty_like(dh_final), xp.empty_like(dh_final)) for _ in range(2)]
    for t in range(T - 1, -1, -1):
        dh_rest_prev, dc_prev = buffers[t % 2]  # not the inputs' buffers: outputs must not overlap
        c_prev = c0 if t == 0 else cs_state[:, t - 1]
        LOOP_STEP_BACKWARD(dh_rest, dh_W, dys[:, t], dc_next, cs_state[:, t], c_prev,
                           *blocks(gates[:, t], 4), m[:, t, None],
                           *blocks(da[:, t], 4), dh_rest_prev, dc_prev)  # fmt: skip
        xp.matmul(da[:, t], W_hh, out=dh_W)
        dh_rest, dc_next = dh_rest_prev, dc_prev
    return da, dh_rest + dh_W, dc_next


STEP_FORWARD = Elementwise(
    "lstm_step_forward",
    inputs="xW_i xW_f xW_g xW_o b_ih_i b_ih_f b_ih_g b_ih_o "
    "hW_i hW_f hW_g hW_o b_hh_i b_hh_f b_hh_g b_hh_o c_prev",
    outputs="h c i_t f_t g_t o_t",
    body="""
        i_t = sigmoid(xW_i + b_ih_i + hW_i + b_hh_i)
        f_t = sigmoid(xW_f + b_ih_f + hW_f + b_hh_f)
        g_t = tanh(xW_g + b_ih_g + hW_g + b_hh_g)
        o_t = sigmoid(xW_o + b_ih_o + hW_o + b_hh_o)
        c = f_t * c_prev + i_t * g_t
        h = o_t * tanh(c)
    """,
)

STEP_BACKWARD = Elementwise(
    "lstm_step_backward",
    inputs="dh dc_next c c_prev i_t f_t g_t o_t",
    outputs="da_i da_f da_g da_o dc_prev",
    body="""
        tc = tanh(c)
        dc = dc_next + dh * o_t * (1 - tc * tc)
        da_i = dc * g_t * i_t * (1 - i_t)
        da_f = dc * c_prev * f_t * (1 - f_t)
        da_g = dc * i_t * (1 - g_t * g_t)
        da_o = dh * tc * o_t * (1 - o_t)
        dc_prev = dc * f_t
    """,
)


def step_forward(x: Any, state: tuple[Any, Any], p: dict[str, Any]) -> tuple[Any, Any]:
    """One step (h, c) = cell(x, (h_prev, c_prev)), unmasked: two GEMMs and one fused kernel.

    Shapes: x (N, D), state = (h_prev (N, H), c_prev (N, H)) -> ((h, c) (N, H) each, cache).
    """
    h_prev, c_prev = check_step_forward(x, state, p)  # the fused kernel reads c_prev, b_* unchecked
    xp = get_array_module(x)
    N, H = h_prev.shape
    h, c = xp.empty((N, H), dtype=x.dtype), xp.empty((N, H), dtype=x.dtype)
    gates = xp.empty((N, 4 * H), dtype=x.dtype)
    xW, hW = x @ p["W_ih"].T, h_prev @ p["W_hh"].T  # (N, 4H) each
    STEP_FORWARD(*blocks(xW, 4), *blocks(p["b_ih"], 4), *blocks(hW, 4), *blocks(p["b_hh"], 4),
                 c_prev, h, c, *blocks(gates, 4))  # fmt: skip
    return (h, c), LSTMStepCache(x, h_prev, c_prev, gates, c, p)


def step_backward_data(
    dstate: tuple[Any, Any], cache: LSTMStepCache
) -> tuple[Any, tuple[Any, Any], tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), (dh_prev, dc_prev)
    (N, H) each, (da, da)), da (N, 4H) the pre-activations' gradient, for `weight_grads`."""
    dh, dc = check_step_grads(f"{WHERE}.step_backward_data", dstate, cache)  # before the kernel
    x, h_prev, c_prev, gates, c, p = cache
    xp = get_array_module(x)
    dc = xp.zeros_like(c) if dc is None else dc
    N, H = c.shape
    da, dc_prev = xp.empty((N, 4 * H), dtype=c.dtype), xp.empty((N, H), dtype=c.dtype)
    STEP_BACKWARD(dh, dc, c, c_prev, *blocks(gates, 4), *blocks(da, 4), dc_prev)
    return da @ p["W_ih"], (da @ p["W_hh"], dc_prev), (da, da)

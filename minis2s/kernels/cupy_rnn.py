"""CuPy twins of `minis2s.layers.rnn.forward_loop` and `backward_loop`, and of the single step
`step_forward` / `step_backward_data` that the decoder's loop calls (the "cupy" backend).

Same names, arguments, results and statement order as the reference. Each step is one cuBLAS
GEMM, h_{t-1} W_hh^T (forward) or da_t W_hh (backward), into a buffer reused every step, then one
fused kernel (`minis2s.kernels.elementwise`) for the rest of the step, which writes straight into
the outputs; the reference launches 6 kernels per step forward and 10 backward
(tests/test_launches.py).

A padded step selects (`where`), as the reference does, so what padding holds never reaches h or a
gradient. The backward twin carries dh_{t} as two parts, the rest (dh passed through a padded step,
else 0) and the GEMM da W_hh, and the next step's kernel adds them, so the sum is not a kernel of
its own. The carried parts alternate between two buffers, since a kernel's output must not overlap
its input.
"""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module
from minis2s.kernels.elementwise import Elementwise
from minis2s.layers.rnn import WHERE, RNNStepCache, check_step_forward, check_step_grads

LOOP_STEP_FORWARD = Elementwise(
    "rnn_loop_step_forward",
    inputs="xw hW h_prev m",
    outputs="h",
    body="""
        h_new = tanh(xw + hW)
        h = where(m, h_new, h_prev)
    """,
)

LOOP_STEP_BACKWARD = Elementwise(
    "rnn_loop_step_backward",
    inputs="dh_rest dh_W dys_t h m",
    outputs="da dh_rest_prev",
    body="""
        dh = dh_rest + dh_W + where(m, dys_t, 0)
        da = where(m, dh * (1 - h * h), 0)
        dh_rest_prev = where(m, 0, dh)
    """,
)


def forward_loop(xw: Any, h0: Any, W_hh: Any, m: Any) -> Any:
    """The time loop. xw (N, T, H) = x W_ih^T + b_ih + b_hh -> carried states (N, T, H)."""
    xp = get_array_module(xw)
    N, T, H = xw.shape
    hs_state = xp.empty_like(xw)
    hW = xp.empty((N, H), dtype=xw.dtype)  # h_{t-1} W_hh^T, reused every step
    h = h0
    for t in range(T):
        xp.matmul(h, W_hh.T, out=hW)
        LOOP_STEP_FORWARD(xw[:, t], hW, h, m[:, t, None], hs_state[:, t])
        h = hs_state[:, t]
    return hs_state


def backward_loop(dys: Any, dh_final: Any, hs_state: Any, m: Any, W_hh: Any) -> tuple[Any, Any]:
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient; returns
    (da (N, T, H), dh0 (N, H))."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    da = xp.empty_like(dys)
    dh_W = xp.zeros((N, H), dtype=dys.dtype)  # da_{t+1} W_hh; none after the last step
    dh_rest, buffers = dh_final, (xp.empty_like(dh_final), xp.empty_like(dh_final))
    for t in range(T - 1, -1, -1):  # dh_{t} = dh_rest + dh_W
        dh_rest_prev = buffers[t % 2]  # not dh_rest's buffer: outputs must not overlap inputs
        LOOP_STEP_BACKWARD(dh_rest, dh_W, dys[:, t], hs_state[:, t], m[:, t, None], da[:, t],
                           dh_rest_prev)  # fmt: skip
        xp.matmul(da[:, t], W_hh, out=dh_W)
        dh_rest = dh_rest_prev
    return da, dh_rest + dh_W


STEP_FORWARD = Elementwise(
    "rnn_step_forward",
    inputs="xW b_ih hW b_hh",
    outputs="h",
    body="""
        h = tanh(xW + b_ih + hW + b_hh)
    """,
)

STEP_BACKWARD = Elementwise(
    "rnn_step_backward",
    inputs="dh h",
    outputs="da",
    body="""
        da = dh * (1 - h * h)
    """,
)


def step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> tuple[Any, RNNStepCache]:
    """One step h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh): two GEMMs and one fused kernel.

    Shapes: x (N, D), h_prev (N, H) -> h (N, H), cache.
    """
    check_step_forward(x, h_prev, p)  # the fused kernel reads b_ih, b_hh unchecked
    xp = get_array_module(x)
    h = xp.empty(h_prev.shape, dtype=x.dtype)
    STEP_FORWARD(x @ p["W_ih"].T, p["b_ih"], h_prev @ p["W_hh"].T, p["b_hh"], h)
    return h, RNNStepCache(x, h_prev, h, p)


def step_backward_data(dh: Any, cache: RNNStepCache) -> tuple[Any, Any, tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (da, da)), da (N, H) the pre-activation's gradient, for `weight_grads`."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)  # before the kernel reads dh
    h, p = cache.h, cache.p
    da = get_array_module(h).empty(h.shape, dtype=h.dtype)
    STEP_BACKWARD(dh, h, da)
    return da @ p["W_ih"], da @ p["W_hh"], (da, da)

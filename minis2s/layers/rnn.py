"""Vanilla (Elman) RNN with tanh, one step and a whole masked sequence (PyTorch `nn.RNN` layout).

Equations:
    a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    h_t = tanh(a_t) if m_t = 1 else h_{t-1}      m_t in {0, 1}: 0 = padding
    y_t = h_t if m_t = 1 else 0

Backward, from dh_t, all that reaches h_t (dy_t where m_t = 1, plus what step t+1 sends back, or
dh_final at t = T-1):
    da_t      = dh_t * (1 - h_t^2)                      tanh' = 1 - tanh^2
    dx_t      = da_t W_ih
    dh_{t-1} += da_t W_hh                               (a padded step: da_t = 0, sends dh_t on)
    dW_ih = sum_t da_t^T x_t,  dW_hh = sum_t da_t^T h_{t-1},  db_ih = db_hh = sum_t da_t

A padded step keeps the state and outputs zero, so the final state is each sequence's state at its
own last token. Padding may hold anything, NaN or inf included (features padded with NaN): a padded
step selects (`where`) what it keeps rather than blending m_t tanh(a_t) + (1 - m_t) h_{t-1}, as NaN
times 0 is NaN, and `forward` zeroes x there first (`project_inputs`), since the input projection
and the weight gradients sum over it. The input projection x W_ih^T for all steps is one GEMM before
the time loop; the weight gradients are one GEMM each after it. Only `forward_loop` /
`backward_loop` walk the time axis. The numba and cupy backends replace them with twins, and the
single step `step_forward` / `step_backward_data` (which a decoder's loop calls) too.

Parameters: W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, validate
from minis2s.backend import get_array_module
from minis2s.layers._gemm import rows
from minis2s.layers._recurrent import (
    check_backward,
    check_sequence,
    check_step,
    project_inputs,
    refuse_no_rows,
    shift_right,
    weight_grads,
    zeros_state,
)

WHERE = "rnn"


class RNNStepCache(NamedTuple):
    x: Any  # (N, D)
    h_prev: Any  # (N, H)
    h: Any  # (N, H) = tanh(a)
    p: dict


class RNNCache(NamedTuple):
    x: Any  # (N, T, D)
    h0: Any  # (N, H)
    hs_state: Any  # (N, T, H) carried state after each step (padding keeps the previous one)
    m: Any  # (N, T) float mask
    p: dict


def init(D: int, H: int, rng: np.random.Generator, dtype: Any = np.float32) -> dict[str, Any]:
    """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as nn.RNN."""
    validate.size(f"{WHERE}.init", "D", D)
    validate.size(f"{WHERE}.init", "H", H)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (H, D), "W_hh": (H, H), "b_ih": (H,), "b_hh": (H,)}
    validate.weights(f"{WHERE}.init", rng, dtype, list(shapes.values()), {"D": D, "H": H})
    return {name: rng.uniform(-k, k, s).astype(dtype) for name, s in shapes.items()}


def step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> tuple[Any, RNNStepCache]:
    """One step h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh).

    Shapes: x (N, D), h_prev (N, H) -> h (N, H).
    """
    check_step_forward(x, h_prev, p)
    xp = get_array_module(x)
    h = xp.tanh(x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"])
    return h, RNNStepCache(x, h_prev, h, p)


def check_step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> None:
    """Check one step's x (N, D) and h_prev (N, H) against p; the fast twins call it too."""
    check_step(f"{WHERE}.step_forward", x, (h_prev,), p, gates=1)


def step_backward(dh: Any, cache: RNNStepCache) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients of one step: (dx (N, D), dh_prev (N, H), dp) from dh (N, H)."""
    check_step_grads(f"{WHERE}.step_backward", dh, cache)
    dx, dh_prev, (dax, dah) = step_backward_data(dh, cache)
    return dx, dh_prev, weight_grads(dax, dah, cache.x, cache.h_prev)


def step_backward_data(dh: Any, cache: RNNStepCache) -> tuple[Any, Any, tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (da, da)), da (N, H) the pre-activation's gradient, for `weight_grads` (once per step, or once
    over stacked steps). da comes twice, as the gradient of x W_ih^T + b_ih and of
    h_prev W_hh^T + b_hh, which add into one a (the GRU's two sides differ)."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)
    h, p = cache.h, cache.p
    da = dh * (1 - h * h)  # tanh' = 1 - tanh^2
    return da @ p["W_ih"], da @ p["W_hh"], (da, da)  # a = x W_ih^T + h_prev W_hh^T + b


def check_step_grads(where: str, dh: Any, cache: RNNStepCache) -> None:
    """Check one step's upstream gradient dh against its forward pass: (N, H), in the dtype of the
    parameters. The fast twins call it too: their compiled steps check no bounds."""
    validate.cache(where, cache, RNNStepCache, "rnn.step_forward")
    validate.gradient(where, "dh", dh, cache.h.shape, "N, H", cache.p["W_ih"].dtype)
    refuse_no_rows(where, "dh", cache.h.shape[0])  # a hand-made cache: step_forward refuses N = 0


def forward_loop(xw: Any, h0: Any, W_hh: Any, m: Any) -> Any:
    """The time loop. xw (N, T, H) = x W_ih^T + b_ih + b_hh, h0 (N, H), W_hh (H, H), m (N, T)
    float mask -> carried states (N, T, H)."""
    xp = get_array_module(xw)
    N, T, H = xw.shape
    hs_state = xp.empty_like(xw)
    h = h0
    for t in range(T):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        h_new = xp.tanh(xw[:, t] + h @ W_hh.T)
        h = xp.where(m_t, h_new, h)  # a padded step keeps h (its h_new may be NaN)
        hs_state[:, t] = h
    return hs_state


def backward_loop(dys: Any, dh_final: Any, hs_state: Any, m: Any, W_hh: Any) -> tuple[Any, Any]:
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final (N, H), hs_state (N, T, H) from forward_loop, m (N, T), W_hh (H, H) -> (da (N, T, H)
    the pre-activations' gradient, dh0 (N, H))."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    da = xp.empty_like(dys)
    dh_next = dh_final
    for t in range(T - 1, -1, -1):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        dh = dh_next + xp.where(m_t, dys[:, t], 0)  # through y_t and through h_{t+1}
        da[:, t] = xp.where(m_t, dh * (1 - hs_state[:, t] * hs_state[:, t]), 0)
        dh_next = xp.where(m_t, da[:, t] @ W_hh, dh)  # dh_{t-1}; a padded step passes dh on
    return da, dh_next


def forward(x: Any, h0: Any, p: dict[str, Any], mask: Any = None) -> tuple[Any, Any, RNNCache]:
    """Run the RNN over a batch of sequences.

    Shapes: x (N, T, D), h0 (N, H) or None (zeros), mask (N, T) of 0/1 or None (all valid)
    -> ys (N, T, H) (zero at padding), h_final (N, H) (state at each row's last real token).
    """
    N, T, H = check_sequence(f"{WHERE}.forward", x, (h0,), p, gates=1)
    h0 = zeros_state(N, H, x) if h0 is None else h0
    # xw (N, T, H) = x W_ih^T + b_ih + b_hh; x with its padding zeroed
    m, x, xw = project_inputs(f"{WHERE}.forward", x, mask, p["W_ih"], p["b_ih"] + p["b_hh"])
    loop = backend.current().kernel("rnn.forward_loop", forward_loop)
    hs_state = loop(xw, h0, p["W_hh"], m)
    ys = hs_state * m[:, :, None]  # exact: hs_state at padding is the kept state, finite
    return ys, hs_state[:, -1], RNNCache(x, h0, hs_state, m, p)


def backward(dys: Any, dh_final: Any, cache: RNNCache) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients (dx (N, T, D), dh0 (N, H), dp) from dys (N, T, H) and dh_final (N, H) or None."""
    validate.cache(f"{WHERE}.backward", cache, RNNCache, "rnn.forward")
    x, h0, hs_state, m, p = cache
    check_backward(f"{WHERE}.backward", dys, {"dh_final": dh_final}, hs_state, p["W_ih"].dtype)
    if dh_final is None:
        dh_final = get_array_module(x).zeros_like(h0)
    loop = backend.current().kernel("rnn.backward_loop", backward_loop)
    da, dh0 = loop(dys, dh_final, hs_state, m, p["W_hh"])
    h_prev = shift_right(hs_state, h0)  # (N, T, H): state entering each step
    return rows(da, p["W_ih"]), dh0, weight_grads(da, da, x, h_prev)

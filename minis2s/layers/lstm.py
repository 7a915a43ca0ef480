"""Long short-term memory, one step and a whole masked sequence (PyTorch `nn.LSTM` layout).

Equations:
    [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    i = sigma(a_i),  f = sigma(a_f),  g = tanh(a_g),  o = sigma(a_o)
    c~_t = f * c_{t-1} + i * g
    h~_t = o * tanh(c~_t)
    c_t = c~_t if m_t = 1 else c_{t-1}      m_t in {0, 1}: 0 = padding
    h_t = h~_t if m_t = 1 else h_{t-1}
    y_t = h_t if m_t = 1 else 0

Backward of a real step, from what reaches h_t and c_t: dh_t (dy_t, plus what step t+1 sends
back, or dh_final at t = T-1) and dc_t (what step t+1 sends back, or dc_final). A padded step has
da_t = 0 and sends dh_t and dc_t on unchanged.
    dc~   = dc_t + dh_t * o * (1 - tanh^2(c_t))       all of c_t's gradient, h_t = o tanh(c_t) too
    da_i  = dc~ * g * i (1 - i)                       sigma' = sigma (1 - sigma)
    da_f  = dc~ * c_{t-1} * f (1 - f)
    da_g  = dc~ * i * (1 - g^2)                       tanh' = 1 - tanh^2
    da_o  = dh_t * tanh(c_t) * o (1 - o)
    da_t  = [da_i, da_f, da_g, da_o]
    dc_{t-1} = dc~ * f,   dh_{t-1} += da_t W_hh,   dx_t = da_t W_ih
    dW_ih = sum_t da_t^T x_t,  dW_hh = sum_t da_t^T h_{t-1},  db_ih = db_hh = sum_t da_t

A padded step keeps both states and outputs zero, so the final (h, c) is each sequence's state at
its own last token. Padding may hold anything, NaN or inf included (features padded with NaN): a
padded step selects (`where`) what it keeps rather than blending m_t c~_t + (1 - m_t) c_{t-1}, as
NaN times 0 is NaN, and `forward` zeroes x there first (`project_inputs`), since the input
projection and the weight gradients sum over it. The input projection x W_ih^T for all steps is one
GEMM before the time loop; the weight gradients are one GEMM each after it. Only `forward_loop` /
`backward_loop` walk the time axis. The numba and cupy backends replace them with twins, and the
single step `step_forward` / `step_backward_data` (which a decoder's loop calls) too; the step's
cache and the checks those twins share with it are in `_lstm_checks.py`, beside `state_pair`, which
reads the (h, c) pairs the sequence's forward and backward take.

Parameters: W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,); row blocks are the gates i, f, g, o.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, validate
from minis2s.backend import get_array_module
from minis2s.layers._gemm import rows
from minis2s.layers._lstm_checks import (
    WHERE,
    LSTMStepCache,
    check_step_forward,
    check_step_grads,
    state_pair,
)
from minis2s.layers._recurrent import (
    check_backward,
    check_sequence,
    gate_blocks,
    project_inputs,
    shift_right,
    sigmoid,
    weight_grads,
    zeros_state,
)


class LSTMCache(NamedTuple):
    x: Any  # (N, T, D)
    h0: Any  # (N, H)
    c0: Any  # (N, H)
    hs_state: Any  # (N, T, H) carried h after each step (padding keeps the previous one)
    cs_state: Any  # (N, T, H) carried c after each step
    gates: Any  # (N, T, 4H) activated gates [i, f, g, o] at each step
    m: Any  # (N, T) float mask
    p: dict


def init(D: int, H: int, rng: np.random.Generator, dtype: Any = np.float32) -> dict[str, Any]:
    """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as nn.LSTM."""
    validate.size(f"{WHERE}.init", "D", D)
    validate.size(f"{WHERE}.init", "H", H)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (4 * H, D), "W_hh": (4 * H, H), "b_ih": (4 * H,), "b_hh": (4 * H,)}
    validate.weights(f"{WHERE}.init", rng, dtype, list(shapes.values()), {"D": D, "H": H})
    return {name: rng.uniform(-k, k, s).astype(dtype) for name, s in shapes.items()}


def step_forward(
    x: Any, state: tuple[Any, Any], p: dict[str, Any]
) -> tuple[tuple[Any, Any], LSTMStepCache]:
    """One step (h, c) = cell(x, (h_prev, c_prev)), unmasked (see the module equations).

    Shapes: x (N, D), state = (h_prev (N, H), c_prev (N, H)) -> (h (N, H), c (N, H)).
    """
    h_prev, c_prev = check_step_forward(x, state, p)
    xp = get_array_module(x)
    a = x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"]  # (N, 4H)
    a_i, a_f, a_g, a_o = gate_blocks(a, 4)  # (N, H) each
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), xp.tanh(a_g), sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * xp.tanh(c)
    gates = xp.concatenate([i, f, g, o], axis=1)
    return (h, c), LSTMStepCache(x, h_prev, c_prev, gates, c, p)


def step_backward(
    dstate: tuple[Any, Any], cache: LSTMStepCache
) -> tuple[Any, tuple[Any, Any], dict[str, Any]]:
    """Gradients of one step: (dx (N, D), (dh_prev (N, H), dc_prev (N, H)), dp).

    dstate = (dh (N, H), dc (N, H) or None for zeros).
    """
    check_step_grads(f"{WHERE}.step_backward", dstate, cache)
    dx, dstate_prev, (dax, dah) = step_backward_data(dstate, cache)
    return dx, dstate_prev, weight_grads(dax, dah, cache.x, cache.h_prev)


def step_backward_data(
    dstate: tuple[Any, Any], cache: LSTMStepCache
) -> tuple[Any, tuple[Any, Any], tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), (dh_prev, dc_prev)
    (N, H) each, (da, da)), da (N, 4H) the pre-activations' gradient, for `weight_grads` (once per
    step, or once over stacked steps). da comes twice, as the gradient of x W_ih^T + b_ih and of
    h_prev W_hh^T + b_hh, which add into one a."""
    dh, dc = check_step_grads(f"{WHERE}.step_backward_data", dstate, cache)
    x, h_prev, c_prev, gates, c, p = cache
    xp = get_array_module(x)
    dc = xp.zeros_like(c) if dc is None else dc
    i, f, g, o = gate_blocks(gates, 4)
    tc = xp.tanh(c)
    dc = dc + dh * o * (1 - tc * tc)  # all of c's gradient, via h = o tanh(c)
    da = gate_grads(dh, dc, c_prev, i, f, g, o, tc)
    return da @ p["W_ih"], (da @ p["W_hh"], dc * f), (da, da)  # c = f c_prev + i g


def gate_grads(dh: Any, dc: Any, c_prev: Any, i: Any, f: Any, g: Any, o: Any, tc: Any) -> Any:
    """da (N, 4H), the gradient of the gates' pre-activations [a_i a_f a_g a_o], from dh and dc
    (N, H), dc being all of c_t's gradient (through c_t and through h_t = o tanh(c_t)), the
    gates i f g o and tc = tanh(c_t) (N, H) each."""
    xp = get_array_module(dh)
    return xp.concatenate(  # sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2
        [
            dc * g * i * (1 - i),
            dc * c_prev * f * (1 - f),
            dc * i * (1 - g * g),
            dh * tc * o * (1 - o),
        ],
        axis=1,
    )


def forward_loop(xw: Any, h0: Any, c0: Any, W_hh: Any, m: Any) -> tuple[Any, Any, Any]:
    """The time loop. xw (N, T, 4H) = x W_ih^T + b_ih + b_hh, h0, c0 (N, H), W_hh (4H, H), m (N, T)
    float mask -> carried states hs, cs (N, T, H) and the activated gates (N, T, 4H)."""
    xp = get_array_module(xw)
    N, T, H4 = xw.shape
    H = H4 // 4
    hs_state = xp.empty((N, T, H), dtype=xw.dtype)
    cs_state = xp.empty((N, T, H), dtype=xw.dtype)
    gates = xp.empty_like(xw)
    h, c = h0, c0
    for t in range(T):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        a_i, a_f, a_g, a_o = gate_blocks(xw[:, t] + h @ W_hh.T, 4)  # (N, H) each
        i, f, g, o = sigmoid(a_i), sigmoid(a_f), xp.tanh(a_g), sigmoid(a_o)
        c_new = f * c + i * g  # c~_t
        h_new = o * xp.tanh(c_new)  # h~_t
        c = xp.where(m_t, c_new, c)  # a padded step keeps c and h (its gates may be NaN)
        h = xp.where(m_t, h_new, h)
        hs_state[:, t], cs_state[:, t] = h, c
        gates[:, t] = xp.concatenate([i, f, g, o], axis=1)
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
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final, dc_final (N, H), hs_state, cs_state (N, T, H) and gates (N, T, 4H) from
    forward_loop, c0 (N, H), m (N, T), W_hh (4H, H) -> (da (N, T, 4H) the pre-activations'
    gradient, dh0 (N, H), dc0 (N, H))."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    da = xp.empty_like(gates)
    dh_next, dc_next = dh_final, dc_final
    for t in range(T - 1, -1, -1):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        c_prev = c0 if t == 0 else cs_state[:, t - 1]
        i, f, g, o = gate_blocks(gates[:, t], 4)
        tc = xp.tanh(cs_state[:, t])  # = tanh(c~_t) wherever m_t = 1
        dh = dh_next + xp.where(m_t, dys[:, t], 0)  # through y_t and through h_{t+1}
        dc = dc_next + dh * o * (1 - tc * tc)  # dc~: through c_t and through h~_t = o tanh(c~_t)
        # a padded step has no gates (they may be NaN): its da is 0
        da[:, t] = xp.where(m_t, gate_grads(dh, dc, c_prev, i, f, g, o, tc), 0)
        dc_next = xp.where(m_t, dc * f, dc_next)  # a padded step passes dc and dh through
        dh_next = xp.where(m_t, da[:, t] @ W_hh, dh)  # dh_{t-1}
    return da, dh_next, dc_next


def forward(
    x: Any, h0c0: Any, p: dict[str, Any], mask: Any = None
) -> tuple[Any, tuple[Any, Any], LSTMCache]:
    """Run the LSTM over a batch of sequences.

    Shapes: x (N, T, D), h0c0 = (h0 (N, H), c0 (N, H)) or None (zeros), mask (N, T) of 0/1 or
    None (all valid) -> ys (N, T, H) (zero at padding), (h_final (N, H), c_final (N, H)) (state
    at each row's last real token).
    """
    where = f"{WHERE}.forward"
    h0, c0 = state_pair(where, "h0c0", h0c0)
    N, T, H = check_sequence(where, x, (h0, c0), p, gates=4)
    h0 = zeros_state(N, H, x) if h0 is None else h0
    c0 = zeros_state(N, H, x) if c0 is None else c0
    # xw (N, T, 4H) = x W_ih^T + b_ih + b_hh; x with its padding zeroed
    m, x, xw = project_inputs(where, x, mask, p["W_ih"], p["b_ih"] + p["b_hh"])
    loop = backend.current().kernel("lstm.forward_loop", forward_loop)
    hs_state, cs_state, gates = loop(xw, h0, c0, p["W_hh"], m)
    ys = hs_state * m[:, :, None]  # exact: hs_state at padding is the kept state, finite
    cache = LSTMCache(x, h0, c0, hs_state, cs_state, gates, m, p)
    return ys, (hs_state[:, -1], cs_state[:, -1]), cache


def backward(
    dys: Any, dfinal: Any, cache: LSTMCache
) -> tuple[Any, tuple[Any, Any], dict[str, Any]]:
    """Gradients (dx (N, T, D), (dh0 (N, H), dc0 (N, H)), dp) from dys (N, T, H) and
    dfinal = (dh_final (N, H), dc_final (N, H)) or None; either entry may be None (zeros)."""
    where = f"{WHERE}.backward"
    validate.cache(where, cache, LSTMCache, "lstm.forward")
    x, h0, c0, hs_state, cs_state, gates, m, p = cache
    dh_final, dc_final = state_pair(where, "dfinal", dfinal)
    finals = {"dh_final (dfinal[0])": dh_final, "dc_final (dfinal[1])": dc_final}
    check_backward(where, dys, finals, hs_state, p["W_ih"].dtype)
    xp = get_array_module(x)
    dh_final = xp.zeros_like(h0) if dh_final is None else dh_final
    dc_final = xp.zeros_like(c0) if dc_final is None else dc_final
    loop = backend.current().kernel("lstm.backward_loop", backward_loop)
    da, dh0, dc0 = loop(dys, dh_final, dc_final, hs_state, cs_state, gates, c0, m, p["W_hh"])
    h_prev = shift_right(hs_state, h0)  # (N, T, H): state entering each step
    return rows(da, p["W_ih"]), (dh0, dc0), weight_grads(da, da, x, h_prev)

"""Gated recurrent unit, one step and a whole masked sequence (PyTorch `nn.GRU` layout).

Equations:
    r = sigma(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
    z = sigma(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
    h~_t = (1 - z) * n + z * h_{t-1}
    h_t = h~_t if m_t = 1 else h_{t-1}      m_t in {0, 1}: 0 = padding
    y_t = h_t if m_t = 1 else 0

Backward of a real step, from dh_t, all that reaches h_t (dy_t, plus what step t+1 sends back, or
dh_final at t = T-1), with hn = h_{t-1} W_hn^T + b_hn kept from the forward pass; a_r, a_z, a_n
are the pre-activations, what sigma, sigma and tanh read in the equations above:
    da_n = dh_t * (1 - z) * (1 - n^2)          dh_t/dn = 1 - z;  tanh' = 1 - tanh^2
    da_r = da_n * hn * r (1 - r)               n = tanh(.. + r * hn);  sigma' = sigma (1 - sigma)
    da_z = dh_t * (h_{t-1} - n) * z (1 - z)    dh_t/dz = h_{t-1} - n
    dax_t = [da_r, da_z, da_n]                 input side:  dx_t = dax_t W_ih
    dah_t = [da_r, da_z, da_n * r]             hidden side: dh_{t-1} += dh_t * z + dah_t W_hh
    dW_ih = sum_t dax_t^T x_t,  db_ih = sum_t dax_t,  dW_hh = sum_t dah_t^T h_{t-1},
    db_hh = sum_t dah_t
A padded step has dax_t = dah_t = 0 and sends dh_t on unchanged.

A padded step keeps the state and outputs zero, so the final state is each sequence's state at its
own last token. Padding may hold anything, NaN or inf included (features padded with NaN): a padded
step selects (`where`) what it keeps rather than blending m_t h~_t + (1 - m_t) h_{t-1}, as NaN times
0 is NaN, and `forward` zeroes x there first (`project_inputs`), since the input projection and the
weight gradients sum over it. The input projection x W_ih^T for all steps is one GEMM before the
time loop; the weight gradients are one GEMM each after it. Only `forward_loop` / `backward_loop`
walk the time axis. The numba and cupy backends replace them with twins, and the single step
`step_forward` / `step_backward_data` (which a decoder's loop calls) too. Unlike the RNN and LSTM,
b_hh stays inside the loop: b_hn is scaled by r, so it cannot join the input projection.

Parameters: W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,); row blocks are r, z, n
(W_ih = [W_ir; W_iz; W_in], W_hh = [W_hr; W_hz; W_hn], the biases alike).
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
    gate_blocks,
    project_inputs,
    refuse_no_rows,
    shift_right,
    sigmoid,
    weight_grads,
    zeros_state,
)

WHERE = "gru"


class GRUStepCache(NamedTuple):
    x: Any  # (N, D)
    h_prev: Any  # (N, H)
    gates: Any  # (N, 3H) activated gates [r, z, n]
    hn: Any  # (N, H) = h_prev W_hn^T + b_hn, the term that r scales
    p: dict


class GRUCache(NamedTuple):
    x: Any  # (N, T, D)
    h0: Any  # (N, H)
    hs_state: Any  # (N, T, H) carried state after each step (padding keeps the previous one)
    gates: Any  # (N, T, 3H) activated gates [r, z, n] at each step
    hn: Any  # (N, T, H) h_{t-1} W_hn^T + b_hn at each step
    m: Any  # (N, T) float mask
    p: dict


def init(D: int, H: int, rng: np.random.Generator, dtype: Any = np.float32) -> dict[str, Any]:
    """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as nn.GRU."""
    validate.size(f"{WHERE}.init", "D", D)
    validate.size(f"{WHERE}.init", "H", H)
    k = 1.0 / np.sqrt(H)
    shapes = {"W_ih": (3 * H, D), "W_hh": (3 * H, H), "b_ih": (3 * H,), "b_hh": (3 * H,)}
    validate.weights(f"{WHERE}.init", rng, dtype, list(shapes.values()), {"D": D, "H": H})
    return {name: rng.uniform(-k, k, s).astype(dtype) for name, s in shapes.items()}


def step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> tuple[Any, GRUStepCache]:
    """One step h = (1 - z) * n + z * h_prev, unmasked (see the module equations).

    Shapes: x (N, D), h_prev (N, H) -> h (N, H).
    """
    check_step_forward(x, h_prev, p)
    xp = get_array_module(x)
    ax_r, ax_z, ax_n = gate_blocks(x @ p["W_ih"].T + p["b_ih"], 3)  # input side, (N, H) each
    ah_r, ah_z, hn = gate_blocks(h_prev @ p["W_hh"].T + p["b_hh"], 3)  # hidden side
    r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)
    n = xp.tanh(ax_n + r * hn)
    h = (1 - z) * n + z * h_prev
    gates = xp.concatenate([r, z, n], axis=1)
    return h, GRUStepCache(x, h_prev, gates, hn, p)


def check_step_forward(x: Any, h_prev: Any, p: dict[str, Any]) -> None:
    """Check one step's x (N, D) and h_prev (N, H) against p; the fast twins call it too."""
    check_step(f"{WHERE}.step_forward", x, (h_prev,), p, gates=3)


def step_backward(dh: Any, cache: GRUStepCache) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients of one step: (dx (N, D), dh_prev (N, H), dp) from dh (N, H)."""
    check_step_grads(f"{WHERE}.step_backward", dh, cache)
    dx, dh_prev, (dax, dah) = step_backward_data(dh, cache)
    return dx, dh_prev, weight_grads(dax, dah, cache.x, cache.h_prev)


def step_backward_data(dh: Any, cache: GRUStepCache) -> tuple[Any, Any, tuple[Any, Any]]:
    """One step's backward pass without the weight gradients: (dx (N, D), dh_prev (N, H),
    (dax, dah)), the (N, 3H) gradients of the input-side and hidden-side pre-activations, for
    `weight_grads` (once per step, or once over stacked steps)."""
    check_step_grads(f"{WHERE}.step_backward_data", dh, cache)
    x, h_prev, gates, hn, p = cache
    r, z, n = gate_blocks(gates, 3)
    dax, dah = gate_grads(dh, h_prev, r, z, n, hn)
    return dax @ p["W_ih"], dh * z + dah @ p["W_hh"], (dax, dah)  # h = .. + z h_prev


def gate_grads(dh: Any, h_prev: Any, r: Any, z: Any, n: Any, hn: Any) -> tuple[Any, Any]:
    """(dax, dah) (N, 3H), the gradients of the input-side and hidden-side pre-activations
    [a_r, a_z, a_n], from dh (N, H), all that reaches h_t, and h_prev, the gates r z n and
    hn = h_prev W_hn^T + b_hn (N, H) each. They differ in their n block only: r scales hn."""
    xp = get_array_module(dh)
    dan = dh * (1 - z) * (1 - n * n)  # dh/dn = 1 - z, tanh' = 1 - tanh^2
    dar = dan * hn * r * (1 - r)  # n = tanh(.. + r hn), sigma' = sigma (1 - sigma)
    daz = dh * (h_prev - n) * z * (1 - z)  # dh/dz = h_prev - n
    dax = xp.concatenate([dar, daz, dan], axis=1)  # of x W_ih^T + b_ih
    dah = xp.concatenate([dar, daz, dan * r], axis=1)  # of h_prev W_hh^T + b_hh
    return dax, dah


def check_step_grads(where: str, dh: Any, cache: GRUStepCache) -> None:
    """Check one step's upstream gradient dh against its forward pass: (N, H), in the dtype of the
    parameters. The fast twins call it too: their compiled steps check no bounds."""
    validate.cache(where, cache, GRUStepCache, "gru.step_forward")
    validate.gradient(where, "dh", dh, cache.h_prev.shape, "N, H", cache.p["W_ih"].dtype)
    refuse_no_rows(where, "dh", cache.h_prev.shape[0])  # a hand-made cache: step_forward refuses 0


def forward_loop(xw: Any, h0: Any, W_hh: Any, b_hh: Any, m: Any) -> tuple[Any, Any, Any]:
    """The time loop. xw (N, T, 3H) = x W_ih^T + b_ih, h0 (N, H), W_hh (3H, H), b_hh (3H,), m (N, T)
    float mask -> carried states (N, T, H), the activated gates (N, T, 3H) and hn (N, T, H) =
    h_{t-1} W_hn^T + b_hn."""
    xp = get_array_module(xw)
    N, T, H3 = xw.shape
    H = H3 // 3
    hs_state = xp.empty((N, T, H), dtype=xw.dtype)
    hn = xp.empty((N, T, H), dtype=xw.dtype)
    gates = xp.empty_like(xw)
    h = h0
    for t in range(T):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        ax_r, ax_z, ax_n = gate_blocks(xw[:, t], 3)  # input side, (N, H) each
        ah_r, ah_z, hn_t = gate_blocks(h @ W_hh.T + b_hh, 3)  # hidden side
        r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)
        n = xp.tanh(ax_n + r * hn_t)
        h_new = (1 - z) * n + z * h  # h~_t
        h = xp.where(m_t, h_new, h)  # a padded step keeps h (its gates may be NaN)
        hs_state[:, t], hn[:, t] = h, hn_t
        gates[:, t] = xp.concatenate([r, z, n], axis=1)
    return hs_state, gates, hn


def backward_loop(
    dys: Any, dh_final: Any, hs_state: Any, gates: Any, hn: Any, h0: Any, m: Any, W_hh: Any
) -> tuple[Any, Any, Any]:
    """The time loop of the backward pass. dys (N, T, H) = dL/dy, the outputs' gradient,
    dh_final (N, H), hs_state (N, T, H), gates (N, T, 3H) and hn (N, T, H) from forward_loop,
    h0 (N, H), m (N, T), W_hh (3H, H) -> (dax (N, T, 3H), dah (N, T, 3H), dh0 (N, H)): the
    gradients of the input-side and hidden-side pre-activations [r, z, n]."""
    xp = get_array_module(dys)
    N, T, H = dys.shape
    dax, dah = xp.empty_like(gates), xp.empty_like(gates)
    dh_next = dh_final
    for t in range(T - 1, -1, -1):
        m_t = m[:, t, None] > 0  # (N, 1), False at padding
        h_prev = h0 if t == 0 else hs_state[:, t - 1]
        r, z, n = gate_blocks(gates[:, t], 3)
        dh = dh_next + xp.where(m_t, dys[:, t], 0)  # through y_t and through h_{t+1}
        dax_t, dah_t = gate_grads(dh, h_prev, r, z, n, hn[:, t])
        # a padded step has no gates (they may be NaN): 0 there
        dax[:, t] = xp.where(m_t, dax_t, 0)
        dah[:, t] = xp.where(m_t, dah_t, 0)
        dh_next = xp.where(m_t, dh * z + dah[:, t] @ W_hh, dh)  # a padded step passes dh through
    return dax, dah, dh_next


def forward(x: Any, h0: Any, p: dict[str, Any], mask: Any = None) -> tuple[Any, Any, GRUCache]:
    """Run the GRU over a batch of sequences.

    Shapes: x (N, T, D), h0 (N, H) or None (zeros), mask (N, T) of 0/1 or None (all valid)
    -> ys (N, T, H) (zero at padding), h_final (N, H) (state at each row's last real token).
    """
    N, T, H = check_sequence(f"{WHERE}.forward", x, (h0,), p, gates=3)
    h0 = zeros_state(N, H, x) if h0 is None else h0
    # xw (N, T, 3H) = x W_ih^T + b_ih; b_hh is added inside the loop, where r scales b_hn
    m, x, xw = project_inputs(f"{WHERE}.forward", x, mask, p["W_ih"], p["b_ih"])
    loop = backend.current().kernel("gru.forward_loop", forward_loop)
    hs_state, gates, hn = loop(xw, h0, p["W_hh"], p["b_hh"], m)
    ys = hs_state * m[:, :, None]  # exact: hs_state at padding is the kept state, finite
    return ys, hs_state[:, -1], GRUCache(x, h0, hs_state, gates, hn, m, p)


def backward(dys: Any, dh_final: Any, cache: GRUCache) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients (dx (N, T, D), dh0 (N, H), dp) from dys (N, T, H) and dh_final (N, H) or None."""
    validate.cache(f"{WHERE}.backward", cache, GRUCache, "gru.forward")
    x, h0, hs_state, gates, hn, m, p = cache
    check_backward(f"{WHERE}.backward", dys, {"dh_final": dh_final}, hs_state, p["W_ih"].dtype)
    if dh_final is None:
        dh_final = get_array_module(x).zeros_like(h0)
    loop = backend.current().kernel("gru.backward_loop", backward_loop)
    dax, dah, dh0 = loop(dys, dh_final, hs_state, gates, hn, h0, m, p["W_hh"])
    h_prev = shift_right(hs_state, h0)  # (N, T, H): state entering each step
    return rows(dax, p["W_ih"]), dh0, weight_grads(dax, dah, x, h_prev)

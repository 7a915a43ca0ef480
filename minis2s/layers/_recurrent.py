"""Helpers shared by the recurrent cells (rnn, lstm, gru): input checks, the input projection
before the time loop, gate blocks, state shifting and the weight gradients, which every cell
computes the same way from its pre-activation gradients."""

from __future__ import annotations

from typing import Any

from minis2s import validate
from minis2s.backend import get_array_module
from minis2s.layers import linear
from minis2s.layers._gemm import rows
from minis2s.layers._padding import zero_padding

PARAMS = ("W_ih", "W_hh", "b_ih", "b_hh")  # every cell's parameters (the `init` functions)
INIT = "init(D, H, rng)"


def check_sequence(
    where: str, x: Any, states0: tuple[Any, ...], p: dict[str, Any], gates: int
) -> tuple[int, int, int]:
    """Validate the parameters p (W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (G*H,) with G =
    `gates`), x (N, T, D) and the initial state (h0,), or (h0, c0) for an LSTM, each (N, H) or
    None, against each other; return (N, T, H)."""
    if not isinstance(p, dict):  # `name in p` of a list of arrays is NumPy's "ambiguous"
        validate.params(where, p, PARAMS, INIT)
    missing = [name for name in PARAMS if name not in p]
    if missing:
        raise ValueError(
            f"{where}: p has no {', '.join(missing)}; a recurrent layer needs {', '.join(PARAMS)} "
            f"(its `{INIT}` makes them)"
        )
    validate.unused(where, p, PARAMS, where.split(".")[0], INIT)
    _check_weights(where, p, gates)
    H, D = p["W_hh"].shape[1], p["W_ih"].shape[1]
    validate.shape(where, "x", x, (None, None, D), "N, T, D")
    validate.floating(where, "x", x, p["W_ih"].dtype)
    N, T = x.shape[:2]
    if T == 0:
        raise ValueError(f"{where}: x has T = 0 steps; every sequence needs at least one step")
    refuse_no_rows(where, "x", N)
    for name, s0 in zip(("h0", "c0"), states0, strict=False):
        if s0 is not None:
            validate.shape(where, name, s0, (N, H), "N, H")
            validate.floating(where, name, s0, p["W_ih"].dtype)
    return N, T, H


def _check_weights(where: str, p: dict[str, Any], gates: int) -> None:
    """W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (G*H,), all of W_ih's float dtype."""
    validate.shape(where, "p['W_hh']", p["W_hh"], (None, None), f"G*H, H; G = {gates}")
    validate.shape(where, "p['W_ih']", p["W_ih"], (None, None), f"G*H, D; G = {gates}")
    H, D = p["W_hh"].shape[1], p["W_ih"].shape[1]
    want = {"W_ih": ((gates * H, D), "G*H, D"), "W_hh": ((gates * H, H), "G*H, H")}
    for name in ("W_hh", "W_ih", "b_ih", "b_hh"):  # W_hh first: H is read from it
        shape, letters = want.get(name, ((gates * H,), "G*H"))
        validate.shape(where, f"p[{name!r}]", p[name], shape, f"{letters}; G = {gates}")
        validate.floating(where, f"p[{name!r}]", p[name], p["W_ih"].dtype)


def check_step(where: str, x: Any, states: tuple[Any, ...], p: dict[str, Any], gates: int) -> None:
    """Validate one step's x (N, D) and state (h_prev, and c_prev for an LSTM; (N, H) each)
    against p (W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (G*H,)), all of one float dtype; N >= 1,
    as the sequence forward asks. A decoder steps every token, so the usual case costs a few
    compares; the fast twins call it too, as their compiled loops read x, the state and the
    biases without bounds checks."""
    try:
        W_ih, W_hh, b_ih, b_hh = p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"]
        N, H = states[0].shape
        G_H, dtype = W_hh.shape[0], W_ih.dtype
        if (
            N and G_H == gates * H and W_hh.shape[1] == H and W_ih.shape[0] == G_H
            and b_ih.shape == b_hh.shape == (G_H,) and x.shape == (N, W_ih.shape[1])
            and dtype.kind == "f" and x.dtype == W_hh.dtype == b_ih.dtype == b_hh.dtype == dtype
            and all(s.shape == (N, H) and s.dtype == dtype for s in states)
        ):  # fmt: skip
            return  # the usual case, at every step of a decoder
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        pass  # named below
    validate.params(where, p, PARAMS, INIT)
    _check_weights(where, p, gates)
    H, D, dtype = p["W_hh"].shape[1], p["W_ih"].shape[1], p["W_ih"].dtype
    names = ("h_prev", "c_prev")[: len(states)]
    validate.shape(where, names[0], states[0], (None, H), "N, H")
    N = states[0].shape[0]
    for name, s in zip(names, states, strict=True):
        validate.shape(where, name, s, (N, H), "N, H")
        validate.floating(where, name, s, dtype)
    validate.shape(where, "x", x, (N, D), "N, D")
    validate.floating(where, "x", x, dtype)
    refuse_no_rows(where, "x", N)  # as the sequence forward refuses it (check_sequence)


def refuse_no_rows(where: str, name: str, N: int) -> None:
    """Refuse a step of N = 0 rows, named by its array `name` (x forward, dh backward)."""
    if N == 0:
        raise ValueError(f"{where}: {name} has N = 0 sequences; pass a batch of at least one")


def check_backward(where: str, dys: Any, dfinals: dict[str, Any], states: Any, dtype: Any) -> None:
    """Check a sequence backward's upstream gradients against its forward pass: dys (N, T, H) and
    each entry of `dfinals` {name: (N, H) array or None}, shapes read from the carried states
    (N, T, H), dtype that of the parameters. The compiled time loops check no bounds, so a wrong
    shape must stop here, not corrupt memory there."""
    N, T, H = states.shape
    validate.gradient(where, "dys", dys, (N, T, H), "N, T, H", dtype)
    for name, g in dfinals.items():
        if g is not None:
            validate.gradient(where, name, g, (N, H), "N, H", dtype)


def zeros_state(N: int, H: int, like: Any) -> Any:
    """A zero state (N, H) on the array module and dtype of `like`."""
    return get_array_module(like).zeros((N, H), dtype=like.dtype)


def project_inputs(where: str, x: Any, mask: Any, W_ih: Any, b: Any) -> tuple[Any, Any, Any]:
    """(m, x, xw): the (N, T) float mask (all 1 for mask None), x (N, T, D) with its padding
    zeroed, and xw = x W_ih^T + b (N, T, G*H), the input side of every step's pre-activations in
    one GEMM before the time loop. Padding may hold NaN or inf: a select sets it to 0 first
    (`zero_padding`), as xw and the weight gradient dW_ih, which sums over every step of the
    cached x, would carry it (0 * NaN is NaN)."""
    N, T = x.shape[:2]
    m = validate.mask(where, mask, N, T, x.dtype, like=x)
    if mask is not None:
        x = zero_padding(x, m)
    xw = rows(x, W_ih.T)  # (N, T, G*H)
    xw += b  # in place: no second (N, T, G*H) array
    return m, x, xw


def shift_right(states: Any, s0: Any) -> Any:
    """[s0, s_1, ..., s_{T-1}]: the state entering each step, (N, T, H), from states (N, T, H)."""
    xp = get_array_module(states)
    return xp.concatenate([s0[:, None], states[:, :-1]], axis=1)


def gate_blocks(a: Any, G: int) -> list[Any]:
    """The G gate blocks of a (..., G*H) array, G views of (..., H) in the order the rows of
    W_ih and W_hh stack them: i, f, g, o for the LSTM (G = 4), r, z, n for the GRU (G = 3)."""
    H = a.shape[-1] // G
    return [a[..., k * H : (k + 1) * H] for k in range(G)]


def sigmoid(a: Any) -> Any:
    """sigma(a) = 1 / (1 + exp(-a)), computed as (1 + tanh(a / 2)) / 2: no exp to overflow."""
    xp = get_array_module(a)
    return 0.5 * (1.0 + xp.tanh(0.5 * a))


def weight_grads(dax: Any, dah: Any, x: Any, h_prev: Any) -> dict[str, Any]:
    """Gradients of W_ih, W_hh, b_ih, b_hh, summed over every leading axis, for a cell whose
    pre-activations are a_x = x W_ih^T + b_ih and a_h = h_prev W_hh^T + b_hh.

    Shapes: dax, dah (..., G*H) the gradients of a_x and a_h (one array, passed twice, for the RNN
    and the LSTM, which add them), x (..., D), h_prev (..., H). The leading axes are (N,) for one
    step or (N, T) for a sequence; a decoder stacks its steps so this is one GEMM per weight.
    """
    shared = dah is dax  # RNN, LSTM: db_hh = db_ih, so one sum over the rows serves both
    ih, hh = linear.weight_grads(dax, x), linear.weight_grads(dah, h_prev, bias=not shared)
    if shared:
        hh["b"] = ih["b"].copy()  # a copy: in-place updates of one (clipping) must not hit both
    return {"W_ih": ih["W"], "W_hh": hh["W"], "b_ih": ih["b"], "b_hh": hh["b"]}

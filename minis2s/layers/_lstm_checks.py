"""What an LSTM step (`lstm.step_forward`, `lstm.step_backward_data`) and its fast twins
(kernels/numba_lstm.py, cupy_lstm.py) share apart from the math: the step's cache, which each
of them returns, and the checks of the step's arguments and upstream gradients, which each runs
before its first product (the compiled steps check no bounds). The sequence's checks are
`_recurrent.check_sequence` / `check_backward`, as for the other cells, after `state_pair` has
read its (h0, c0) or (dh_final, dc_final)."""

from __future__ import annotations

from typing import Any, NamedTuple

from minis2s import validate
from minis2s.layers._recurrent import check_step, refuse_no_rows

WHERE = "lstm"


class LSTMStepCache(NamedTuple):
    x: Any  # (N, D)
    h_prev: Any  # (N, H)
    c_prev: Any  # (N, H)
    gates: Any  # (N, 4H) activated gates [i, f, g, o]
    c: Any  # (N, H) new cell state
    p: dict


def check_step_forward(x: Any, state: Any, p: dict[str, Any]) -> tuple[Any, Any]:
    """(h_prev, c_prev) from one step's state, checked with x (N, D) against p: a tuple of two
    (N, H) arrays. The fast twins call it too."""
    where = f"{WHERE}.step_forward"
    if not isinstance(state, tuple | list) or len(state) != 2:
        raise ValueError(
            f"{where}: state must be a tuple (h_prev, c_prev) of two (N, H) arrays; "
            f"got {type(state).__name__}"
        )
    check_step(where, x, tuple(state), p, gates=4)
    return state[0], state[1]


def check_step_grads(where: str, dstate: Any, cache: LSTMStepCache) -> tuple[Any, Any]:
    """(dh, dc) from one step's upstream gradients dstate, checked against its forward pass:
    dh (N, H), dc (N, H) or None, in the dtype of the parameters. The fast twins call it too:
    their compiled steps check no bounds."""
    if not isinstance(dstate, tuple | list) or len(dstate) != 2:
        raise ValueError(
            f"{where}: dstate must be a tuple (dh, dc) of two (N, H) arrays (dc may be None); "
            f"got {type(dstate).__name__}"
        )
    validate.cache(where, cache, LSTMStepCache, "lstm.step_forward")
    dh, dc = dstate
    dtype = cache.p["W_ih"].dtype
    validate.gradient(where, "dh", dh, cache.c.shape, "N, H", dtype)
    if dc is not None:
        validate.gradient(where, "dc", dc, cache.c.shape, "N, H", dtype)
    refuse_no_rows(where, "dh", cache.c.shape[0])  # a hand-made cache: step_forward refuses N = 0
    return dh, dc


def state_pair(where: str, name: str, pair: Any) -> tuple[Any, Any]:
    """(h, c) from None or a 2-tuple, as lstm.forward's h0c0 and lstm.backward's dfinal; either
    entry may be None (zeros)."""
    if pair is None:
        return None, None
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValueError(
            f"{where}: {name} must be None or a tuple (h, c) of two (N, H) arrays; "
            f"got {type(pair).__name__}"
        )
    return pair[0], pair[1]

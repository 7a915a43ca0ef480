"""The bridge: the decoder's initial state from the encoder's final state.

The encoder's final state is in PyTorch's layout, (L*dirs, N, H) ordered l0.fwd, l0.bwd, l1.fwd,
... (a tuple (h, c) for LSTM). The decoder's state is a list with one entry per decoder layer,
each (N, H) (or (h, c) for LSTM). Four bridges (ModelConfig.bridge):

    zero:       s_l = 0
    last:       s_l = final[l.fwd] + final[l.bwd]            (directions summed; h and c alike;
                                                              final[l] when unidirectional)
    learned:    h_l = tanh(W_b [h_top.fwd; h_top.bwd] + b_b)  (every layer l; params bridge.W, .b)
                c_l = W_bc [c_top.fwd; c_top.bwd] + b_bc       (LSTM; params bridge_c.W, .b)
    learned_h:  h_l as learned, c_l = 0                        (LSTM only)

c gets no tanh: an LSTM's cell state is not bounded, and the decoder's c_l is of its kind.
learned_h was minis2s's learned bridge before checkpoint format 2; it loses the encoder's c, which
a decoder without attention misses (README, Things to try 2).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minis2s.backend import get_array_module
from minis2s.layers import linear
from minis2s.models.config import ModelConfig
from minis2s.models.params import prefixed, sub


class BridgeCache(NamedTuple):
    cfg: ModelConfig
    final: Any  # the encoder's final state, for shapes
    lin_h: Any  # LinearCache of the learned bridge's h, else None
    h: Any  # (N, H) tanh output of the learned bridge, else None
    lin_c: Any  # LinearCache of the learned bridge's c (LSTM, bridge "learned"), else None


def _parts(state: Any, cfg: ModelConfig) -> list[Any]:
    """A cell state (or its gradient) as a list of arrays: [h], or [h, c] for LSTM."""
    return list(state) if cfg.cell == "lstm" else [state]


def _pack(parts: list[Any], cfg: ModelConfig) -> Any:
    """The inverse of `_parts`: [h] -> h, [h, c] -> (h, c) for LSTM."""
    return tuple(parts) if cfg.cell == "lstm" else parts[0]


def _top(a: Any, dirs: int) -> Any:
    """The top layer of a (L*dirs, N, H) state, its directions side by side: (N, dirs*H), the
    input [h_top.fwd; h_top.bwd] of the learned bridge."""
    return get_array_module(a).concatenate(list(a[-dirs:]), axis=1)


def _add_to_top(da: Any, dtop: Any, dirs: int) -> None:
    """The backward of `_top`: add dtop (N, dirs*H) into the top layer's rows of da (L*dirs, N,
    H), in place."""
    H = da.shape[2]
    for d in range(dirs):
        da[len(da) - dirs + d] += dtop[:, d * H : (d + 1) * H]


def forward(final: Any, p: dict[str, Any], cfg: ModelConfig) -> tuple[list[Any], BridgeCache]:
    """Decoder initial states from the encoder's final states: final (L*dirs, N, H), an (h, c)
    pair of them for LSTM -> a list of dec_layers states, each h (N, H) or (h, c)."""
    parts = _parts(final, cfg)
    xp = get_array_module(parts[0])
    dirs = 2 if cfg.bidirectional else 1
    N, H = parts[0].shape[1:]
    if cfg.bridge == "zero":
        zero = xp.zeros((N, H), dtype=parts[0].dtype)
        states = [_pack([zero] * len(parts), cfg) for _ in range(cfg.dec_layers)]
        return states, BridgeCache(cfg, final, None, None, None)
    if cfg.bridge == "last":
        states = [
            _pack([a[l * dirs : (l + 1) * dirs].sum(axis=0) for a in parts], cfg)  # (N, H)
            for l in range(cfg.dec_layers)
        ]
        return states, BridgeCache(cfg, final, None, None, None)
    z, lin_h = linear.forward(_top(parts[0], dirs), sub(p, "bridge."))
    h = xp.tanh(z)
    c, lin_c = None, None
    if cfg.cell == "lstm":
        if cfg.bridge == "learned":
            c, lin_c = linear.forward(_top(parts[1], dirs), sub(p, "bridge_c."))
        else:  # learned_h
            c = xp.zeros_like(h)
    state = _pack([h] if c is None else [h, c], cfg)
    return [state] * cfg.dec_layers, BridgeCache(cfg, final, lin_h, h, lin_c)


def backward(dstates: list[Any], cache: BridgeCache) -> tuple[Any, dict[str, Any]]:
    """dstates (the gradients of forward's states, the same layout) -> (dfinal in the encoder's
    layout (L*dirs, N, H), or an LSTM pair of them; the bridge's parameter gradients)."""
    cfg = cache.cfg
    parts = _parts(cache.final, cfg)
    xp = get_array_module(parts[0])
    dparts = [xp.zeros_like(a) for a in parts]
    dirs = 2 if cfg.bidirectional else 1
    if cfg.bridge == "zero":
        return _pack(dparts, cfg), {}
    dstate_parts = [_parts(s, cfg) for s in dstates]  # per layer: [dh] or [dh, dc]
    if cfg.bridge == "last":
        for l, ds in enumerate(dstate_parts):
            for k, d in enumerate(ds):
                dparts[k][l * dirs : (l + 1) * dirs] += d  # the sum sends d to both directions
        return _pack(dparts, cfg), {}
    dh = sum(ds[0] for ds in dstate_parts)  # every layer started from the same h_l
    dz = dh * (1 - cache.h * cache.h)  # h = tanh(z), tanh' = 1 - tanh^2
    dx, dp = linear.backward(dz, cache.lin_h)
    _add_to_top(dparts[0], dx, dirs)
    grads = prefixed(dp, "bridge.")
    if cache.lin_c is not None:
        dc = sum(ds[1] for ds in dstate_parts)  # and the same c_l, linear: no tanh' to apply
        dx_c, dp_c = linear.backward(dc, cache.lin_c)
        _add_to_top(dparts[1], dx_c, dirs)
        grads |= prefixed(dp_c, "bridge_c.")
    return _pack(dparts, cfg), grads

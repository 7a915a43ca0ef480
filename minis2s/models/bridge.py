"""The bridge: the decoder's initial state from the encoder's final state.

The encoder's final state is in PyTorch's layout, (L*dirs, N, H) ordered l0.fwd, l0.bwd, l1.fwd,
... (a tuple (h, c) for LSTM). The decoder's state is a list with one entry per decoder layer,
each (N, H) (or (h, c) for LSTM). Three bridges (ModelConfig.bridge):

    zero:     s_l = 0
    last:     s_l = final[l.fwd] + final[l.bwd]          (directions summed; h and c alike)
    learned:  h_l = tanh(W_b [h_top.fwd; h_top.bwd] + b_b),  c_l = 0   (every layer l)
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
    lin: Any  # LinearCache of the learned bridge, else None
    h: Any  # (N, H) tanh output of the learned bridge, else None


def _parts(state: Any, cfg: ModelConfig) -> list[Any]:
    """A cell state (or its gradient) as a list of arrays: [h], or [h, c] for LSTM."""
    return list(state) if cfg.cell == "lstm" else [state]


def _pack(parts: list[Any], cfg: ModelConfig) -> Any:
    return tuple(parts) if cfg.cell == "lstm" else parts[0]


def forward(final: Any, p: dict[str, Any], cfg: ModelConfig) -> tuple[list[Any], BridgeCache]:
    """Decoder initial states from the encoder's final states: final (L*dirs, N, H), an (h, c)
    pair of them for LSTM -> a list of dec_layers states, each h (N, H) or (h, c)."""
    parts = _parts(final, cfg)
    xp = get_array_module(parts[0])
    dirs = 2 if cfg.bidirectional else 1
    N, H = parts[0].shape[1:]
    if cfg.bridge == "zero":
        zero = xp.zeros((N, H), dtype=parts[0].dtype)
        return [_pack([zero] * len(parts), cfg) for _ in range(cfg.dec_layers)], BridgeCache(
            cfg, final, None, None
        )
    if cfg.bridge == "last":
        states = [
            _pack([a[l * dirs : (l + 1) * dirs].sum(axis=0) for a in parts], cfg)
            for l in range(cfg.dec_layers)
        ]
        return states, BridgeCache(cfg, final, None, None)
    h_top = parts[0][-dirs:]  # (dirs, N, H): the top layer's directions
    x = xp.concatenate(list(h_top), axis=1)  # (N, dirs*H)
    z, c_lin = linear.forward(x, sub(p, "bridge."))
    h = xp.tanh(z)
    zero = xp.zeros_like(h)
    state = _pack([h] + [zero] * (len(parts) - 1), cfg)
    return [state] * cfg.dec_layers, BridgeCache(cfg, final, c_lin, h)


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
    dh = sum(ds[0] for ds in dstate_parts)  # every layer started from the same h
    dz = dh * (1 - cache.h * cache.h)
    dx, dp = linear.backward(dz, cache.lin)
    H = parts[0].shape[2]
    for d in range(dirs):
        dparts[0][len(parts[0]) - dirs + d] += dx[:, d * H : (d + 1) * H]
    return _pack(dparts, cfg), prefixed(dp, "bridge.")

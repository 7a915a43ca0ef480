"""PyTorch-layout state dicts <-> minis2s parameter dicts, with plain NumPy arrays (no torch).

minis2s keeps PyTorch's gate layouts, so moving weights is renaming keys:

    nn.RNN / nn.LSTM / nn.GRU         minis2s.layers.stack
    weight_ih_l{k}[_reverse]    <->   l{k}.fwd|bwd.W_ih
    weight_hh_l{k}[_reverse]    <->   l{k}.fwd|bwd.W_hh
    bias_ih_l{k}[_reverse]      <->   l{k}.fwd|bwd.b_ih
    bias_hh_l{k}[_reverse]      <->   l{k}.fwd|bwd.b_hh
    nn.Linear weight, bias      <->   linear W, b
    nn.Embedding weight         <->   embedding W

    lstm = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)
    p = from_torch_rnn({k: v.numpy() for k, v in lstm.state_dict().items()})
    ys, (hT, cT), _ = stack.forward(x, None, p, mask, cell="lstm")
    lstm.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_rnn(p).items()})

`from_torch_*` read the keys of `state` that start with `prefix` (so a whole model's state dict
can be passed) and reject any other key under that prefix; `to_torch_*` write keys with `prefix`
prepended. Arrays are copied to host NumPy arrays with their dtype kept. Not supported: nn.RNN
with nonlinearity="relu" (minis2s uses tanh, which a state dict does not record), bias=False
(add zero biases) and nn.LSTM with proj_size > 0.

Only weights move, not how a model reads them. The encoder of a model with
ModelConfig.reverse_source (`train --reverse-source`) feeds its stack each row reversed: its
"enc.rnn." weights, given to an nn.LSTM, compute that encoder only when the module is fed each
row's first L_n tokens reversed (padding left at the end) and its outputs are reversed back the
same way (minis2s.layers.stack.reverse_index gives that gather; tests/test_reverse_source.py
feeds PyTorch the reversed rows). Nothing in a state dict records it: check the run's config.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import to_numpy
from minis2s.layers import stack_layout

_TORCH_RNN_KEY = re.compile(r"(weight|bias)_(ih|hh)_l(0|[1-9]\d*)(_reverse)?")


def _torch_rnn_key(k: int, d: str, name: str) -> str:
    """The nn.RNN state-dict key of stack parameter (layer k, direction d, W_ih ... b_hh)."""
    kind = "weight" if name.startswith("W") else "bias"
    return f"{kind}_{name[2:]}_l{k}{'_reverse' if d == 'bwd' else ''}"


def _own(where: str, state: dict[str, Any], prefix: str) -> dict[str, np.ndarray]:
    """The entries of `state` under `prefix`, prefix removed, as host NumPy copies."""
    out = {
        n[len(prefix) :]: np.array(to_numpy(v)) for n, v in state.items() if n.startswith(prefix)
    }
    if not out:
        raise ValueError(f"{where}: no key of state starts with prefix {prefix!r}")
    return out


def _exact(where: str, got: dict[str, Any], want: tuple[str, ...], prefix: str) -> None:
    """Raise naming the first missing or extra key."""
    for name in want:
        if name not in got:
            raise ValueError(f"{where}: missing key {prefix + name!r}")
    for name in got:
        if name not in want:
            raise ValueError(
                f"{where}: unexpected key {prefix + name!r}; expected only "
                f"{', '.join(repr(prefix + w) for w in want)}"
            )


def from_torch_rnn(state: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """nn.RNN / nn.LSTM / nn.GRU state dict -> stack parameters "l{k}.fwd|bwd.W_ih" ...

    Raises ValueError naming the key for an unknown or missing key, a gap in the layers, layers
    with different directions, or shapes that do not fit together.
    """
    where = "interop.from_torch_rnn"
    entries = {}
    for name, v in _own(where, state, prefix).items():
        found = _TORCH_RNN_KEY.fullmatch(name)
        if found is None:
            raise ValueError(
                f"{where}: unexpected key {prefix + name!r}; expected "
                f"{prefix}(weight|bias)_(ih|hh)_l{{k}}[_reverse] (proj_size is not supported)"
            )
        kind, io, k, rev = found.groups()
        W_or_b = "W" if kind == "weight" else "b"
        entries[int(k), "bwd" if rev else "fwd", f"{W_or_b}_{io}"] = v
    stack_layout.check_layout(entries, lambda *e: prefix + _torch_rnn_key(*e), where=where)
    return {stack_layout.key(*e): v for e, v in sorted(entries.items())}


def to_torch_rnn(params: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Stack parameters "l{k}.fwd|bwd.W_ih" ... -> nn.RNN / nn.LSTM / nn.GRU state dict."""
    stack_layout.layout(params, where="interop.to_torch_rnn")
    out = {}
    for name, v in params.items():
        k, d, p_name = name.split(".")
        out[prefix + _torch_rnn_key(int(k[1:]), d, p_name)] = np.array(to_numpy(v))
    return out


def from_torch_linear(state: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """nn.Linear state dict {weight (O, D), bias (O,)} -> linear parameters {W, b}."""
    where = "interop.from_torch_linear"
    own = _own(where, state, prefix)
    _exact(where, own, ("weight", "bias"), prefix)
    _check_linear(where, own["weight"], own["bias"], prefix + "weight", prefix + "bias")
    return {"W": own["weight"], "b": own["bias"]}


def to_torch_linear(params: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Linear parameters {W (O, D), b (O,)} -> nn.Linear state dict {weight, bias}."""
    where = "interop.to_torch_linear"
    _exact(where, params, ("W", "b"), "")
    W, b = np.array(to_numpy(params["W"])), np.array(to_numpy(params["b"]))
    _check_linear(where, W, b, "W", "b")
    return {prefix + "weight": W, prefix + "bias": b}


def _check_linear(where: str, W: Any, b: Any, W_name: str, b_name: str) -> None:
    validate.shape(where, W_name, W, (None, None), "O, D")
    validate.shape(where, b_name, b, (W.shape[0],), "O")


def from_torch_embedding(state: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """nn.Embedding state dict {weight (V, E)} -> embedding parameters {W}."""
    where = "interop.from_torch_embedding"
    own = _own(where, state, prefix)
    _exact(where, own, ("weight",), prefix)
    validate.shape(where, prefix + "weight", own["weight"], (None, None), "V, E")
    return {"W": own["weight"]}


def to_torch_embedding(params: dict[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Embedding parameters {W (V, E)} -> nn.Embedding state dict {weight}."""
    where = "interop.to_torch_embedding"
    _exact(where, params, ("W",), "")
    W = np.array(to_numpy(params["W"]))
    validate.shape(where, "W", W, (None, None), "V, E")
    return {prefix + "weight": W}

"""Stacks of recurrent layers, optionally bidirectional, with dropout between layers (PyTorch
`nn.RNN` / `nn.LSTM` / `nn.GRU` with `num_layers`, `bidirectional` and `dropout`).

Equations (layer k = 0 .. L-1, x^0 = x, R = reverse each row's valid prefix):
    y^k_fwd = cell(x^k, s0[k, fwd])                reads t = 0, 1, ..., L_n - 1
    y^k_bwd = R(cell(R(x^k), s0[k, bwd]))          reads t = L_n - 1, ..., 1, 0
    y^k     = [y^k_fwd ; y^k_bwd]                  (N, T, dirs*H)
    x^{k+1} = dropout(y^k)                         inverted dropout, training only

R is a gather along time that reverses t < L_n and leaves the padding where it is, so the
backward direction never reads padding, and the mask stays right-padded. R is its own inverse:
the same gather maps the outputs back and the gradients through. The bwd final state is the
state after reading each row's first token, as in PyTorch with packed sequences.

Parameters "l{k}.fwd.W_ih", ... ("l{k}.bwd.*" when bidirectional), their names and shapes read
and checked by stack_layout.py.
States follow PyTorch: (L*dirs, N, H) ordered l0.fwd, l0.bwd, l1.fwd, ...; for lstm a pair
(h, c) of such arrays.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module
from minis2s.layers import dropout as dropout_layer
from minis2s.layers import gru, lstm, rnn
from minis2s.layers._recurrent import PARAMS
from minis2s.layers.stack_layout import DIRECTIONS, WHERE, Layout, key, layout


class Cell(NamedTuple):
    module: ModuleType  # forward(x, s0, p, mask) / backward(dys, dfinal, cache)
    gates: int  # G: row blocks of W_ih and W_hh
    paired: bool  # the state is a pair (h, c) rather than h alone


CELLS = {"rnn": Cell(rnn, 1, False), "lstm": Cell(lstm, 4, True), "gru": Cell(gru, 3, False)}


class DirCache(NamedTuple):
    cell: Any  # the cell's own cache
    rev: Any  # (N, T) int gather index reversing each row's valid prefix; None for fwd


class StackCache(NamedTuple):
    cell: str
    layout: Layout
    NT: tuple[int, int]  # (N, T)
    layers: list  # [layer k][direction j] DirCache
    drops: list  # [layer k] dropout cache on the input of layer k, None where none


def _cell(cell: str) -> Cell:
    if cell not in CELLS:
        raise ValueError(f"{WHERE}: unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    return CELLS[cell]


def init(
    cell: str,
    D: int,
    H: int,
    num_layers: int,
    bidirectional: bool,
    rng: np.random.Generator,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """Parameters of a stack, each layer and direction initialised as its cell's `init`."""
    spec = _cell(cell)
    validate.integer(f"{WHERE}.init", "num_layers", num_layers, None)
    if num_layers < 1:
        raise ValueError(f"{WHERE}.init: num_layers must be at least 1; got {num_layers}")
    validate.boolean(f"{WHERE}.init", "bidirectional", bidirectional)  # "no" made two
    validate.size(f"{WHERE}.init", "H", H)
    dirs = DIRECTIONS if bidirectional else DIRECTIONS[:1]
    # num_layers 10**12 of a small H built a layer at a time for ever: at least an H x H matrix each
    validate.fits(f"{WHERE}.init", f"num_layers {num_layers} of H {H}", num_layers * H * H * 4)
    p = {}
    for k in range(num_layers):
        for d in dirs:
            p_kd = spec.module.init(D if k == 0 else len(dirs) * H, H, rng, dtype)
            p.update({key(k, d, name): v for name, v in p_kd.items()})
    return p


def _right_padded_mask(where: str, mask: Any, x: Any) -> Any:
    """The (N, T) float mask of x (N, T, D), on x's array module, checked to be right-padded
    (real tokens first, then padding)."""
    N, T = x.shape[:2]
    m = validate.mask(where, mask, N, T, x.dtype, like=x)
    xp = get_array_module(m)
    late = xp.any(m[:, 1:] > m[:, :-1], axis=1)  # a real token right after padding
    if bool(late.any()):
        n = int(xp.argmax(late))
        raise ValueError(
            f"{where}: mask must be right-padded (each row: 1s for its tokens, then 0s); row {n} "
            "has a real token after padding. Move each row's tokens to the start"
        )
    return m


def reverse_index(m: Any) -> Any:
    """(N, T) gather index of R: t -> L_n - 1 - t for t < L_n (row n's tokens), t for padding,
    from a right-padded (N, T) 0/1 mask `m` (the backward direction, and the encoder's
    reverse_source)."""
    xp = get_array_module(m)
    L_n = m.sum(axis=1).astype(np.int64)[:, None]  # (N, 1) each row's length
    t = xp.arange(m.shape[1])[None, :]  # (1, T)
    return xp.where(t < L_n, L_n - 1 - t, t)


def reverse(a: Any, rev: Any) -> Any:
    """R(a): a (N, T, F) reordered along time by `rev` (N, T), on a's array module; `a` itself
    when rev is None. With rev = reverse_index(m) it is its own inverse."""
    if rev is None:
        return a
    # rev as (N, T, 1): every feature of a step moves with it
    return get_array_module(a).take_along_axis(a, rev[:, :, None], axis=1)


def _split_state(
    where: str, name: str, state: Any, spec: Cell, lay: Layout, N: int, dtype: Any = None
) -> list:
    """A PyTorch-layout state (or gradient) -> one cell state per (layer, direction); each array
    checked to be (L*dirs, N, H), and of `dtype` when it is given."""
    n = lay.num_layers * len(lay.directions)
    if state is None:
        return [None] * n
    if spec.paired != isinstance(state, tuple | list) or (spec.paired and len(state) != 2):
        want = "a pair (h, c) of arrays" if spec.paired else "one array, not a tuple"
        raise ValueError(f"{where}: {name} must be None or {want} of shape (L*dirs, N, H)")
    parts = tuple(state) if spec.paired else (state,)
    for i, a in enumerate(parts):
        label = f"{name}[{i}]" if spec.paired else name
        if a is not None and dtype is not None:
            validate.gradient(where, label, a, (n, N, lay.H), "L*dirs, N, H", dtype)
        elif a is not None:
            validate.shape(where, label, a, (n, N, lay.H), "L*dirs, N, H")
    cols = [tuple(None if a is None else a[j] for a in parts) for j in range(n)]
    return cols if spec.paired else [c[0] for c in cols]


def _join_state(states: list, spec: Cell) -> Any:
    """One cell state per (layer, direction) -> the PyTorch layout (L*dirs, N, H)."""
    xp = get_array_module(states[0][0] if spec.paired else states[0])
    parts = states if spec.paired else [(s,) for s in states]
    stacked = tuple(xp.stack(col) for col in zip(*parts, strict=True))
    return stacked if spec.paired else stacked[0]


def _layer_forward(spec: Cell, x: Any, s0: list, p: dict, k: int, m: Any, rev: Any, dirs: tuple):
    """Layer k in every direction: (y (N, T, dirs*H), finals, caches), one per direction, from
    x (N, T, D_k) (D_0 = D, then dirs*H) and s0, one initial state (or None) per direction."""
    ys, finals, caches = [], [], []
    for d, s0_d in zip(dirs, s0, strict=True):
        r = rev if d == "bwd" else None
        p_d = {name: p[key(k, d, name)] for name in PARAMS}
        y, final, cache = spec.module.forward(reverse(x, r), s0_d, p_d, mask=m)
        ys.append(reverse(y, r))
        finals.append(final)
        caches.append(DirCache(cache, r))
    return get_array_module(x).concatenate(ys, axis=-1), finals, caches


def forward(
    x: Any,
    state0: Any,
    p: dict[str, Any],
    mask: Any = None,
    *,
    cell: str,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[Any, Any, StackCache]:
    """Run a stack of `cell` layers ("rnn", "lstm" or "gru"); L and directions come from `p`.

    Shapes: x (N, T, D), state0 (L*dirs, N, H) or for lstm (h0, c0) of those, or None (zeros),
    mask (N, T) right-padded 0/1 or None -> ys (N, T, dirs*H) (zero at padding), final state in
    the layout of state0. Dropout with rate `dropout` drops outputs of every layer but the
    last, drawing from `rng`; with rng None (evaluation) there is no dropout.
    """
    where = f"{WHERE}.forward"
    spec = _cell(cell)
    lay = layout(p, spec.gates, where)
    validate.shape(where, "x", x, (None, None, lay.D), "N, T, D")
    validate.finite(where, "dropout", dropout)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be in [0, 1); got {dropout}")
    N, T = x.shape[:2]
    m = _right_padded_mask(where, mask, x)
    s0 = _split_state(where, "state0", state0, spec, lay, N)
    n_dirs = len(lay.directions)
    rev = reverse_index(m) if n_dirs == 2 else None
    y, finals, layers, drops = x, [], [], []
    for k in range(lay.num_layers):  # y: y^{k-1} (x for k = 0), the input of layer k
        drop = None
        if k > 0 and dropout > 0 and rng is not None:
            y, drop = dropout_layer.forward(y, dropout, rng)  # x^k
        y, fin_k, caches_k = _layer_forward(
            spec, y, s0[k * n_dirs : (k + 1) * n_dirs], p, k, m, rev, lay.directions
        )
        finals += fin_k
        layers.append(caches_k)
        drops.append(drop)
    return y, _join_state(finals, spec), StackCache(cell, lay, (N, T), layers, drops)


def _layer_backward(spec: Cell, dy: Any, dfinal: list, caches: list, k: int, H: int):
    """Layer k: (dx (N, T, D_k) summed over directions, dstate0 per direction, dp) from
    dy (N, T, dirs*H) and dfinal, one entry per direction."""
    dx, ds0, dp = None, [], {}
    for j, (c_dir, dfinal_d) in enumerate(zip(caches, dfinal, strict=True)):
        # y_bwd = R(cell(R(x))) and R is its own inverse: the cell gets R(dy), x gets R(dx)
        dy_d = reverse(dy[:, :, j * H : (j + 1) * H], c_dir.rev)  # (N, T, H): direction j's half
        dx_d, ds0_d, dp_d = spec.module.backward(dy_d, dfinal_d, c_dir.cell)
        dx_d = reverse(dx_d, c_dir.rev)
        dx = dx_d if dx is None else dx + dx_d
        ds0.append(ds0_d)
        dp.update({key(k, DIRECTIONS[j], name): g for name, g in dp_d.items()})
    return dx, ds0, dp


def backward(dys: Any, dfinal: Any, cache: StackCache) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients (dx (N, T, D), dstate0 in the layout of state0, dp) from dys (N, T, dirs*H)
    and dfinal in the layout of the final state, or None (entries may be None)."""
    where = f"{WHERE}.backward"
    validate.cache(where, cache, StackCache, "stack.forward")
    spec, lay, (N, T) = CELLS[cache.cell], cache.layout, cache.NT
    n_dirs = len(lay.directions)
    dtype = cache.layers[0][0].cell.p["W_ih"].dtype
    validate.gradient(where, "dys", dys, (N, T, n_dirs * lay.H), "N, T, dirs*H", dtype)
    dfin = _split_state(where, "dfinal", dfinal, spec, lay, N, dtype)
    dy, ds0, dp = dys, [], {}
    for k in reversed(range(lay.num_layers)):  # dy: the gradient of y^k, layer k's output
        dfin_k = dfin[k * n_dirs : (k + 1) * n_dirs]
        dx, ds0_k, dp_k = _layer_backward(spec, dy, dfin_k, cache.layers[k], k, lay.H)
        ds0 = ds0_k + ds0  # prepended: the layers come last first, the state is ordered l0, l1, ...
        dp.update(dp_k)
        drop = cache.drops[k]
        dy = dx if drop is None else dropout_layer.backward(dx, drop)  # y^{k-1}'s (x's at k = 0)
    return dy, _join_state(ds0, spec), dp

"""The arrays a gradient check compares (gradcheck.check_layer): a layer's inputs, arrays or
tuples of them (an LSTM's (h0, c0)), flattened into named leaves ("x", "h0c0[1]") and paired
with the gradients backward returns for them (`blocks_of`); and random upstream gradients shaped
like the forward's outputs (`random_like`, over the outputs' tree with `tree_like`).

Those make check_layer's scalar: L = sum_k <out_k, dout_k> (`dot`) over the outputs' leaves,
with the douts held fixed, has dL/dx = what backward(douts) returns for x, so centred finite
differences of L check every block at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minis2s.backend import get_array_module, to_numpy


def leaves(tree: Any, name: str) -> list[tuple[str, Any]]:
    """Flatten arrays nested in tuples/lists (None skipped) into (name, array) pairs."""
    return [(leaf_name, leaf) for leaf_name, leaf, _ in paired(tree, None, name)]


def paired(x: Any, dx: Any, name: str) -> list[tuple[str, Any, Any]]:
    """(name, input leaf, its gradient or None) for every array leaf of input `x`: a gradient
    of None, for the whole input or one entry of a tuple, pairs None with each leaf below it."""
    if x is None:
        return []
    if isinstance(x, tuple | list):
        if dx is not None and (not isinstance(dx, tuple | list) or len(dx) != len(x)):
            raise ValueError(f"check_layer: the gradient of {name} does not match its structure")
        subs = [None] * len(x) if dx is None else list(dx)
        out = []
        for i, (t, d) in enumerate(zip(x, subs, strict=True)):
            out += paired(t, d, f"{name}[{i}]")
        return out
    return [(name, x, dx)]


def tree_like(tree: Any, make: Callable[[Any], Any]) -> Any:
    """A tree of the same structure with `make(leaf)` at each leaf."""
    if tree is None:
        return None
    if isinstance(tree, tuple | list):
        return type(tree)(tree_like(t, make) for t in tree)
    return make(tree)


def dot(a: Any, b: Any) -> float:
    """<a, b>, the sum of a * b over every entry of two arrays of one shape, as a float (on the
    host: the finite differences sum it in float64 whatever the backend)."""
    return float((to_numpy(a) * to_numpy(b)).sum())


def blocks_of(
    inputs: Sequence, arg_names: list[str], dinputs: list, params: dict | None, dparams: dict
) -> list[tuple[str, Any, Any]]:
    """(name, array, its gradient from backward) for every input leaf and parameter checked."""
    blocks = []
    for k, (x, dx) in enumerate(zip(inputs, dinputs, strict=True)):
        for name, leaf, dleaf in paired(x, dx, arg_names[k]):
            if dleaf is None:  # no gradient claimed: a float input must then truly have none
                if np.dtype(leaf.dtype).kind != "f":
                    continue  # token ids and other integer inputs have no gradient to check
                dleaf = get_array_module(leaf).zeros_like(leaf)
            blocks.append((name, leaf, dleaf))
    return blocks + [(key, w, dparams[key]) for key, w in (params or {}).items()]


def random_like(o: Any, r: np.random.Generator) -> Any:
    """Standard normal draws from `r` in the shape of output `o` (an array of `o`'s array module,
    float64), or one float for a scalar output (a loss)."""
    xp = get_array_module(o)
    if np.isscalar(o) or getattr(o, "ndim", 1) == 0:
        return float(r.standard_normal())
    return xp.asarray(r.standard_normal(o.shape))

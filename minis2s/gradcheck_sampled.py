"""A model's gradient checked on a sample: some entries of each parameter, and random directions
through all of it.

`check_model` takes four forward passes per parameter entry: for the many configurations a
property test draws, that is most of the test suite's time. With `entries=k` it takes, for each
parameter w of n entries,

- k of its entries drawn at random, each by the differences of `numerical_grad`, and
- `directions` random unit vectors v through the whole of w: the derivative of L(w + t v) at
  t = 0, by the same fourth-order stencil in t, against <dL/dw, v>;

or, when n <= k + directions, every entry of w: as many passes as the sample would take, or
fewer, and the full check itself (a drawn model of size-1 units has many such parameters).

A wrong entry anywhere in dL/dw (a padded row, the last unit, one term of one gate) moves
<dL/dw, v> for all v but a set of measure zero, so the directions see what the entries drawn
miss; the entries check single values to the same tolerance as the full check. Each parameter
is compared on the vector [entries..., projections...]: a unit v drawn from a standard normal
gives projections of the size of a typical entry, so one scale (and the full check's floor)
serves both. The full check stays the definition; this one is for checks repeated over many
draws, with the fixed cases and `minis2s gradcheck` checking every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minis2s.backend import get_array_module, to_numpy

STEPS = (2, 1, -1, -2)  # the fourth-order stencil's points, in units of h


def stencil(f: Callable[[], float], move: Callable[[float], None], h: float) -> float:
    """(-f(2h) + 8 f(h) - 8 f(-h) + f(-2h)) / 12h, where `move(s)` sets the point s (and
    `move(0.0)` restores it): numerical_grad's formula for one entry or one direction."""
    f_at = []
    for s in STEPS:
        move(s * h)
        f_at.append(float(f()))
    move(0.0)
    return (8 * (f_at[1] - f_at[2]) - (f_at[0] - f_at[3])) / (12 * h)


def sampled(
    loss: Callable[[], float],
    w: Any,
    dw: Any,
    h: float,
    entries: int,
    directions: int,
    r: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(finite differences, backward's values, what their positions are) of `entries` entries
    of `w` drawn by `r` and of `directions` unit directions through w; of every entry of w
    instead when it has no more than entries + directions (no more passes than the sample).
    `w` is moved in place and restored exactly."""
    old = w.copy()
    flat = to_numpy(dw).reshape(-1).astype(np.float64)
    n = w.size
    every = n <= entries + directions
    picked = np.arange(n) if every else np.sort(r.choice(n, entries, replace=False))
    numeric, analytic = [], []
    for k in picked:
        i = np.unravel_index(int(k), w.shape)

        def move(s: float, i: tuple = i) -> None:
            w[i] = old[i] + s

        numeric.append(stencil(loss, move, h))
        analytic.append(flat[k])
    for _ in range(0 if every else directions):
        v = r.standard_normal(w.shape)
        v /= np.linalg.norm(v)
        v_w = get_array_module(w).asarray(v, dtype=w.dtype)

        def move(s: float, v_w: Any = v_w) -> None:
            w[...] = old + s * v_w if s else old

        numeric.append(stencil(loss, move, h))
        analytic.append(float(flat @ v.reshape(-1)))
    return np.array(numeric), np.array(analytic), _positions(picked, n, w.shape, len(numeric))


def _positions(picked: np.ndarray, n: int, shape: tuple[int, ...], m: int) -> str:
    """A note for a failing block's diagnosis, whose "worst at [i]" counts positions in the
    vector compared: which entries of the parameter they are, and where the directions begin."""
    if len(picked) == n:
        return "; every entry checked (flattened)"
    at = [tuple(int(i) for i in np.unravel_index(int(k), shape)) for k in picked]
    k = len(picked)
    note = f"; sampled: positions 0-{k - 1} are entries {at}"
    return note + (f", {k}-{m - 1} random directions through all of it" if m > k else "")

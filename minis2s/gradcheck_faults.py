"""What is wrong with a backward pass, in words that lead to the line: the gradient checks' faults.

Before any finite differences (which take seconds), `check_layer` and `check_model` refuse a
backward pass whose gradients cannot be compared at all: a missing or misspelt parameter key, a
gradient of the wrong shape, or one that wrote into its cache, its inputs or its upstream
gradients (a pure backward pass leaves them as it found them; one that does not gives a second
call on the same cache, or the caller, different numbers). After them, `diagnose` says of a
wrong block where it is worst, by how much, and what the pattern suggests: a transpose, a sign,
a factor, or a gradient where the outputs do not depend on the input at all (a padded step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minis2s.backend import to_numpy


def check_param_keys(who: str, params: dict[str, Any], dparams: Any) -> None:
    """Raise unless `dparams` is a dict with exactly the keys of `params` (an unknown key first:
    a misspelt one is then named as such, not as the missing key it stands for)."""
    if not isinstance(dparams, dict):
        raise ValueError(
            f"{who}: the parameter gradients must be a dict with the same keys as params "
            f"({sorted(params)}); got {type(dparams).__name__}"
        )
    for key in dparams:
        if key not in params:
            raise ValueError(
                f"{who}: backward returned a gradient for {key!r}, which params does not have "
                f"(params: {sorted(params)}); a misspelt key?"
            )
    for key in params:
        if key not in dparams:
            raise ValueError(
                f"{who}: backward returned no gradient for parameter {key!r} (it returned "
                f"{sorted(dparams)}); dparams needs the same keys as params, one gradient each"
            )


def check_shape(who: str, name: str, x: Any, dx: Any) -> None:
    """Raise unless the gradient `dx` has the shape of `x`, with a guess at why not."""
    got, want = tuple(np.shape(dx)), tuple(np.shape(x))
    if got == want:
        return
    hint = ""
    if len(got) == 2 and got == want[::-1]:
        hint = " (a transpose missing?)"
    elif len(got) > len(want) and got[len(got) - len(want) :] == want:
        hint = " (a sum over the leading, batch, axes missing?)"
    elif math.prod(got) == math.prod(want):
        hint = " (the right number of entries in another shape: a reshape to undo?)"
    raise ValueError(
        f"{who}: the gradient of {name} has shape {got}, but {name} has shape {want}{hint}; "
        "a gradient has the shape of what it differentiates"
    )


def arrays_in(tree: Any, name: str) -> list[tuple[str, Any]]:
    """(name, array) for every array in a cache-like tree: NamedTuple fields by name
    ("cache.h"), tuple and list entries by index, dict entries by key."""
    if hasattr(tree, "_fields"):
        return [a for f in tree._fields for a in arrays_in(getattr(tree, f), f"{name}.{f}")]
    if isinstance(tree, tuple | list):
        return [a for i, t in enumerate(tree) for a in arrays_in(t, f"{name}[{i}]")]
    if isinstance(tree, dict):
        return [a for k, t in tree.items() for a in arrays_in(t, f"{name}[{k!r}]")]
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):
        return [(name, tree)]
    return []


class Untouched:
    """Snapshots of named arrays, to tell afterwards which one a backward pass wrote into."""

    def __init__(self, named: list[tuple[str, Any]]):
        seen: set[int] = set()
        self.saved = []
        for what, a in named:  # the first name an array goes by is the one reported
            if id(a) not in seen:
                seen.add(id(a))
                self.saved.append((what, a, to_numpy(a).tobytes()))

    def check(self, who: str) -> None:
        for what, a, before in self.saved:
            if to_numpy(a).tobytes() != before:  # bytes: padding may hold NaN, != itself
                raise ValueError(
                    f"{who}: backward changed {what} in place; a backward pass must leave its "
                    "cache, inputs and upstream gradients as it found them (write a = a * m, "
                    "not a *= m), or a second call on the same cache gives other gradients"
                )


def diagnose(name: str, numeric: Any, analytic: Any, floor: float, tol: float) -> str:
    """One line on a block that failed: its worst entry, which rows are wrong, and a guess."""
    n, a = to_numpy(numeric).astype(np.float64), to_numpy(analytic).astype(np.float64)
    if n.size == 0:
        return f"{name}: empty"
    finite = np.isfinite(a) & np.isfinite(n)
    diff = np.where(finite, np.abs(n - a), np.inf)
    at = np.unravel_index(int(np.argmax(diff)), n.shape)
    where = ", ".join(str(int(i)) for i in at)
    line = f"{name}: worst at [{where}]: backward gave {a[at]:.6g}, finite differences {n[at]:.6g}"
    scale = max(float(np.abs(np.where(finite, n, 0)).max()), np.abs(np.where(finite, a, 0)).max(),
                floor)  # fmt: skip
    wrong = diff >= tol * scale
    rows = np.unique(np.nonzero(wrong)[0]) if n.ndim else np.array([])
    if 0 < len(rows) < n.shape[0]:
        line += f"; wrong only in rows {rows.tolist()} of axis 0"
    return line + _guess(n, a, wrong, tol)


def _guess(n: np.ndarray, a: np.ndarray, wrong: np.ndarray, tol: float) -> str:
    """What the pattern of a wrong block suggests, or nothing."""
    if not np.isfinite(a).all():
        return ". Backward gave NaN or inf: a division by zero, or a log or sqrt of 0"
    if (n[wrong] == 0).all():
        return (
            ". Finite differences are exactly 0 at every wrong entry: the outputs do not depend "
            "on them (padded steps, or entries a mask drops), so their gradient must be 0"
        )

    def close(b: np.ndarray) -> bool:
        scale = max(np.abs(b).max(), np.abs(a).max())
        return scale > 0 and np.abs(b - a).max() < tol * scale

    if n.ndim == 2 and n.shape[0] == n.shape[1] and close(n.T):
        return ". Backward gave the transpose of the right gradient: a transpose missing"
    if close(-n):
        return ". Backward has the wrong sign"
    k = float((a * n).sum() / (n * n).sum())
    if close(k * n):
        return f". Backward is {k:.6g} times the right gradient: a factor missing or extra"
    return ""

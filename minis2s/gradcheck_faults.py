"""What is wrong with a backward pass, in words that lead to the line: the gradient checks' faults.

Before any finite differences (which take seconds), `check_layer` and `check_model` refuse a
backward pass whose gradients cannot be compared at all: a return value that is not
`(*dinputs, dparams)`, a missing or misspelt parameter key, a gradient of the wrong shape or
dtype, or one that wrote into its cache, its inputs or its upstream gradients (a pure backward
pass leaves them as it found them; one that does not gives a second call on the same cache, or
the caller, different numbers). After them, `diagnose` says of a wrong block where it is
worst, by how much, and what the pattern suggests: a transpose, a sign, a factor, or a gradient
where the outputs do not depend on the input at all (a padded step); `masked_douts` lets
check_layer ask whether a block is right once the upstream gradients are zeroed on padding
(then it lets padding in).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minis2s.backend import to_numpy


class GradErrors(dict):
    """{block: rel_error}, which also keeps the gradients compared, so that `assert_close` can
    say where a failing block is wrong."""

    def __init__(self, errors: dict[str, float], numeric: dict, analytic: dict, floor: float):
        super().__init__(errors)
        self.numeric, self.analytic, self.floor = numeric, analytic, floor
        self.notes: dict[str, str] = {}

    def note_padding(self, names: list[str]) -> None:
        """`names` are wrong, and right once the upstream gradients are zeroed on padding."""
        for k in names:
            self.notes[k] = (
                ". With the upstream gradients zeroed on the mask's padded positions, backward "
                "gives the right gradient: it lets gradient in through padding (multiply dy by "
                "the mask)"
            )

    def diagnoses(self, names: list[str], tol: float) -> list[str]:
        return [
            diagnose(k, self.numeric[k], self.analytic[k], self.floor, tol) + self.notes.get(k, "")
            for k in names
        ]


def masked_douts(douts: list, mask: Any) -> list | None:
    """The upstream gradients with each one whose leading axes are the mask's, (N, T) or (N,),
    zeroed where the mask is 0; None when there is no mask or no such gradient."""
    if getattr(mask, "ndim", 0) < 1:
        return None
    hits = []

    def zero(d: Any) -> Any:
        if isinstance(d, tuple | list):
            return type(d)(zero(e) for e in d)
        if getattr(d, "shape", ())[: mask.ndim] != mask.shape:
            return d
        hits.append(d)
        return d * mask.reshape(mask.shape + (1,) * (d.ndim - mask.ndim))

    out = zero(list(douts))
    return out if hits else None


def split_grads(grads: Any, n_inputs: int, params: dict | None) -> tuple[list, dict]:
    """(input gradients, parameter gradients) from what a backward pass returned, refused
    with a message when it cannot be read as such."""
    if isinstance(grads, dict):
        dinputs, dparams = [None] * n_inputs, grads
    elif params is None:
        dinputs = list(grads) if isinstance(grads, tuple) else [grads]
        dparams = {}
    elif not isinstance(grads, tuple | list):
        raise ValueError(
            f"check_layer: backward returned one {_kind(grads)}; a layer with params "
            "returns (*dinputs, dparams), dparams a dict with the same keys as params"
        )
    else:
        *dinputs, dparams = grads
    if params is not None:
        check_param_keys("check_layer", params, dparams)
    if len(dinputs) != n_inputs:
        raise ValueError(
            f"check_layer: backward returned {len(dinputs)} input gradients for {n_inputs} inputs"
        )
    return dinputs, dparams


def _kind(x: Any) -> str:
    return "array" if hasattr(x, "shape") else type(x).__name__


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
    elif len(got) == len(want) and sorted(got) == sorted(want):  # a reshape would scramble it
        hint = " (the axes in another order: a transpose missing, time-major for batch-major?)"
    elif len(got) > len(want) and got[len(got) - len(want) :] == want:
        if math.prod(got) == math.prod(want):  # summed with keepdims, or a batch of 1
            hint = " (extra leading axes of size 1: keepdims=True, or a sum over a batch of 1?)"
        else:
            hint = " (a sum over the leading, batch, axes missing?)"
    elif math.prod(got) == math.prod(want):
        hint = " (the right number of entries in another shape: a reshape to undo?)"
    raise ValueError(
        f"{who}: the gradient of {name} has shape {got}, but {name} has shape {want}{hint}; "
        "a gradient has the shape of what it differentiates"
    )


def check_dtype(who: str, name: str, x: Any, dx: Any) -> None:
    """Raise unless the gradient `dx` has the dtype of `x`: a float32 gradient of a float64
    array is right only to ~6e-8 of each entry, under the tolerance, so values cannot show it."""
    got, want = np.asarray(to_numpy(dx)).dtype, np.dtype(x.dtype)
    if got != want and not np.issubdtype(want, np.inexact):  # np.arange(12) for a float input
        raise ValueError(
            f"{who}: {name} is {want}, yet backward gave it a gradient; give a real-valued input "
            f"as floats, np.asarray({name}, dtype=np.float64) (an input of token ids gets None "
            "for its gradient)"
        )
    if got != want:
        raise ValueError(
            f"{who}: the gradient of {name} is {got}, but {name} is {want}; an array of another "
            "dtype in backward (a cache, a constant, np.zeros(..., dtype=...)) sets the "
            "gradient's, and rounds away what the check is there to prove"
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
    line = (
        f"{name}: worst at [{where}]: backward gave {a[at]:.6g}, finite differences {n[at]:.6g} "
        f"(off by {a[at] - n[at]:.2g})"  # 6 digits alike when the error is ~1e-7
    )
    scale = max(float(np.abs(np.where(finite, n, 0)).max()), np.abs(np.where(finite, a, 0)).max(),
                floor)  # fmt: skip
    wrong = diff >= tol * scale
    count = int(wrong.sum())
    if count < n.size:  # a few wrong entries point at a padded step, an edge, one term
        line += f"; wrong in {count} of {n.size} entries"
        if count <= 4:
            line += ": " + ", ".join(str(list(map(int, i))) for i in np.argwhere(wrong))
        elif len(rows := np.unique(np.nonzero(wrong)[0])) < n.shape[0]:
            line += f", in rows {rows.tolist()} of axis 0"
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

    scale = max(np.abs(n).max(), np.abs(a).max())
    if np.abs(n - a).max() < 1e-4 * scale:  # 4 digits agree: no factor, sign or transpose
        return (
            ". Backward agrees to within 1e-4: a tiny term missing, float32 somewhere in backward "
            "(it rounds to ~1e-7 of each entry), or a function that bends too sharply for the "
            "finite differences' step (try check_layer(..., h=1e-4))"
        )

    def close(b: np.ndarray) -> bool:
        scale = max(np.abs(b).max(), np.abs(a).max())
        return scale > 0 and np.abs(b - a).max() < tol * scale

    if n.ndim == 2 and n.shape[0] == n.shape[1] and close(n.T):
        return ". Backward gave the transpose of the right gradient: a transpose missing"
    if np.count_nonzero(n) < 2:  # any two numbers differ by a sign, or by a factor
        return ""
    if close(-n):
        return ". Backward has the wrong sign"
    k = float((a * n).sum() / (n * n).sum())
    if close(k * n):
        return f". Backward is {k:.6g} times the right gradient: a factor missing or extra"
    return ""

"""The finite differences a gradient check compares a backward pass with, and how it compares.

A backward pass is right when it matches centred differences of the forward pass. We use the
fourth-order centred stencil

    df/dx_i ~ (-f(x + 2h e_i) + 8 f(x + h e_i) - 8 f(x - h e_i) + f(x - 2h e_i)) / (12 h)

whose truncation error is O(h^4) instead of the O(h^2) of (f(x + h) - f(x - h)) / 2h, so h can
be 1e-3 and the rounding error (~1e-16 |f| / h) stays near 1e-13 |f|. That matters for
composite models: a weight deep in the encoder can have a gradient 1e-4 of the loss's size, and
the plain two-point difference (accurate to ~1e-10 |f| at best) cannot check it to 1e-7.

Each block of a check (an input, a parameter) is compared by rel_error on at least FLOOR x the
largest gradient of the check (`block_errors`), and a block that fails at h is compared again at
h / 10 where h / 100 confirms those differences (`finer_if_needed`). Apart from gradcheck.py,
which drives a layer or a model through these: they know nothing of layers, caches or models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module, to_numpy
from minis2s.gradcheck_faults import GradErrors

TOLERANCE = 1e-7
FLOOR = 1e-3  # blocks are compared on at least FLOOR x the largest gradient of the check


def numerical_grad(f: Callable[[], float], x: Any, h: float = 1e-3) -> Any:
    """Fourth-order centred-difference gradient of the scalar `f()` with respect to array `x`.

    `x` is perturbed in place, one element at a time, and restored. float64 only: in float32
    the rounding error of f (~1e-7 relative) divided by h swamps the derivative.
    """
    validate.array("numerical_grad", "x", x)
    validate.finite("numerical_grad", "h", h)
    if not h > 0:
        raise ValueError(f"numerical_grad: h, the finite-difference step, must be > 0; got {h}")
    if np.dtype(x.dtype) != np.float64:
        raise ValueError(
            f"numerical_grad needs float64 arrays; got {np.dtype(x.dtype)}. Finite differences "
            "in float32 are too noisy to prove anything: cast inputs and parameters with "
            ".astype(np.float64) (backends: use dtype=backend.CHECK_DTYPE)"
        )
    xp = get_array_module(x)
    grad = xp.zeros_like(x)
    for i in np.ndindex(x.shape):  # indexing (not a flat reshape) so views work too
        old = float(x[i])
        f_at = []
        for step in (2 * h, h, -h, -2 * h):
            x[i] = old + step
            f_at.append(float(f()))
        x[i] = old
        # differences first: an input f does not depend on gives exactly 0, not round-off
        grad[i] = (8 * (f_at[1] - f_at[2]) - (f_at[0] - f_at[3])) / (12 * h)
    return grad


def rel_error(a: Any, b: Any, floor: float = 0.0) -> float:
    """max|a - b| / max(max|a|, max|b|, floor): the error relative to the gradient's scale.

    Normalising by the largest entry (not entry by entry) keeps a true zero (a padded row)
    from turning round-off into a huge "relative" error. Two all-zero arrays give 0. A NaN or
    infinity in either gives inf, not NaN: `max(errors.values()) < tol` skips a NaN that is not
    first (every comparison with NaN is False), so a NaN gradient would pass such a check.
    """
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    scale = max(np.abs(a).max(), np.abs(b).max(), floor)
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def block_errors(
    numeric: dict[str, Any], analytic: dict[str, Any], scale: dict[str, Any] | None = None
) -> GradErrors:
    """rel_error of every block (input or parameter), each on at least FLOOR x the largest
    gradient of the check (of `scale`, the whole gradients, where the blocks are samples of them).

    Finite differences resolve a gradient only to ~1e-16 |L| / h in absolute terms, so a block
    whose gradient is a millionth of the others' (an attention weight behind a saturated gate)
    cannot be checked to 1e-7 of *itself*; it is checked to 1e-7 x FLOOR of the largest
    gradient instead, an absolute error of ~1e-10 that a wrong backward pass still exceeds.
    """
    grads = analytic if scale is None else scale
    largest = max((float(np.abs(to_numpy(g)).max(initial=0.0)) for g in grads.values()),
                  default=0.0)  # fmt: skip
    errors = {k: rel_error(numeric[k], analytic[k], FLOOR * largest) for k in numeric}
    return GradErrors(errors, numeric, analytic, FLOOR * largest)


def compared(loss: Callable[[], float], blocks: list[tuple[str, Any, Any]], h: float) -> GradErrors:
    """block_errors of every block's gradient from backward (name, array, gradient of its shape)
    against the finite differences of `loss` at h, or at h / 10 where h was too coarse for that
    block (`finer_if_needed`)."""
    numeric = {name: numerical_grad(loss, leaf, h) for name, leaf, _ in blocks}
    analytic = {name: dleaf for name, _, dleaf in blocks}
    errors = block_errors(numeric, analytic)
    for name, leaf, dleaf in blocks:
        if not errors[name] < TOLERANCE:
            numeric[name] = finer_if_needed(loss, leaf, dleaf, numeric[name], h, errors.floor)
    return block_errors(numeric, analytic)


def finer_if_needed(
    loss: Callable[[], float], x: Any, dx: Any, numeric: Any, h: float, floor: float
) -> Any:
    """The differences at h / 10 in place of `numeric` (those at h) where h was too coarse.

    A function that bends sharply within h (a layer norm of nearly equal values) needs a finer
    step, but rounding grows as the step shrinks (~1e-16 |L| / step). From one step to the next
    the truncation error shrinks 10^4-fold and the rounding grows 10-fold, so the differences
    at h / 10 are used only where those at h / 100 agree with them to TOLERANCE: then both are
    accurate. Which differences are closer to backward's `dx` is never asked (rounding noise
    that happens to match a wrong gradient would pass it); `dx` only spares the pass at h / 100
    when the block fails at h / 10 anyway.
    """
    finer = numerical_grad(loss, x, h / 10)
    if not rel_error(finer, dx, floor) < TOLERANCE:
        return numeric
    finest = numerical_grad(loss, x, h / 100)
    return finer if rel_error(finer, finest, floor) < TOLERANCE else numeric

"""Finite-difference gradient checks, the proof behind every backward pass.

A backward pass is right when it matches centred differences of the forward pass:

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h)        error O(h^2)

We check a scalar L = sum_k <out_k, dout_k> for random upstream gradients dout_k, so one check
covers every output of a layer. In float64 with h = 1e-5 the truncation error (h^2 f'''/6) and
the rounding error (1e-16 |f| / h) are both near 1e-11: balanced, and far below the 1e-7 of the
gradient's scale that a wrong backward pass cannot reach.

    >>> import numpy as np
    >>> from minis2s.gradcheck import check_layer
    >>> from minis2s.layers import linear
    >>> r = np.random.default_rng(0)
    >>> x, p = r.standard_normal((4, 3)), linear.init(3, 2, r, dtype=np.float64)
    >>> errors = check_layer(linear.forward, linear.backward, [x], p)
    >>> max(errors.values()) < 1e-7
    True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minis2s.backend import get_array_module, to_numpy

TOLERANCE = 1e-7


def numerical_grad(f: Callable[[], float], x: Any, h: float = 1e-5) -> Any:
    """Centred-difference gradient of the scalar `f()` with respect to the array `x`.

    `x` is perturbed in place, one element at a time, and restored. float64 only: in float32
    the rounding error of f (~1e-7 relative) divided by h swamps the derivative.
    """
    if np.dtype(x.dtype) != np.float64:
        raise ValueError(
            f"numerical_grad needs float64 arrays; got {np.dtype(x.dtype)}. Finite differences "
            "in float32 are too noisy to prove anything: cast inputs and parameters with "
            ".astype(np.float64) (backends: use dtype=backend.CHECK_DTYPE)"
        )
    xp = get_array_module(x)
    grad = xp.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + h
        f_plus = float(f())
        flat[i] = old - h
        f_minus = float(f())
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a: Any, b: Any) -> float:
    """max|a - b| / max(max|a|, max|b|): the error relative to the gradient's scale.

    Normalising by the largest entry (not entry by entry) keeps a true zero (a padded row)
    from turning round-off into a huge "relative" error. Two all-zero arrays give 0.
    """
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def _leaves(tree: Any, name: str) -> list[tuple[str, Any]]:
    """Flatten arrays nested in tuples/lists (None skipped) into (name, array) pairs."""
    if tree is None:
        return []
    if isinstance(tree, tuple | list):
        out = []
        for i, t in enumerate(tree):
            out += _leaves(t, f"{name}[{i}]")
        return out
    return [(name, tree)]


def _like(tree: Any, make: Callable[[Any], Any]) -> Any:
    """A tree of the same structure with `make(leaf)` at each leaf."""
    if tree is None:
        return None
    if isinstance(tree, tuple | list):
        return type(tree)(_like(t, make) for t in tree)
    return make(tree)


def _dot(a: Any, b: Any) -> float:
    return float((to_numpy(a) * to_numpy(b)).sum())


def check_layer(
    forward: Callable,
    backward: Callable,
    inputs: Sequence[Any],
    params: dict[str, Any] | None,
    *,
    h: float = 1e-5,
    seed: int = 0,
    **options: Any,
) -> dict[str, float]:
    """Relative error of `backward` against finite differences, for every input and parameter.

    Calls `*outs, cache = forward(*inputs, params, **options)` and
    `grads = backward(*douts, cache)` with random `douts`. `grads` is `(*dinputs, dparams)`,
    one entry per input (None for an input without a gradient, such as token ids), or just
    `dparams` for a layer whose inputs have no gradient. A layer without parameters is checked
    with `params=None`: it is called as `forward(*inputs, **options)` and its backward returns
    the input gradients alone (one array for one input). Inputs may be arrays or tuples of
    arrays (an LSTM's `(h0, c0)`); keyword `options` (mask, score kind, ...) pass through.

    Returns {name: rel_error}, names like "x", "h0c0[1]", "W_ih".
    """
    call = (
        (lambda: forward(*inputs, **options))
        if params is None
        else (lambda: forward(*inputs, params, **options))
    )
    *outs, cache = call()
    r = np.random.default_rng(seed)
    douts = _like(outs, lambda o: _random_like(o, r))
    grads = backward(*douts, cache)
    dinputs, dparams = _split_grads(grads, len(inputs), params is not None)

    def loss() -> float:
        *o, _ = call()
        pairs = zip(_leaves(o, "o"), _leaves(douts, "d"), strict=True)
        return sum(_dot(a, d) for (_, a), (_, d) in pairs)

    arg_names = list(inspect.signature(forward).parameters)
    errors: dict[str, float] = {}
    for k, (x, dx) in enumerate(zip(inputs, dinputs, strict=True)):
        if dx is None:
            continue
        leaves = zip(_leaves(x, arg_names[k]), _leaves(dx, "d"), strict=True)
        for (name, leaf), (_, dleaf) in leaves:
            errors[name] = rel_error(numerical_grad(loss, leaf, h), dleaf)
    for key, w in (params or {}).items():
        errors[key] = rel_error(numerical_grad(loss, w, h), dparams[key])
    return errors


def _split_grads(grads: Any, n_inputs: int, has_params: bool) -> tuple[list, dict]:
    """(input gradients, parameter gradients) from what a backward pass returned."""
    if isinstance(grads, dict):
        return [None] * n_inputs, grads
    if not has_params:
        dinputs = list(grads) if isinstance(grads, tuple) else [grads]
        dparams: dict = {}
    else:
        *dinputs, dparams = grads
    if len(dinputs) != n_inputs:
        raise ValueError(
            f"check_layer: backward returned {len(dinputs)} input gradients for {n_inputs} inputs"
        )
    return dinputs, dparams


def _random_like(o: Any, r: np.random.Generator) -> Any:
    xp = get_array_module(o)
    if np.isscalar(o) or getattr(o, "ndim", 1) == 0:
        return float(r.standard_normal())
    return xp.asarray(r.standard_normal(o.shape))


def check_model(
    model: Any,
    batch: Any,
    *,
    seed: int | None = None,
    sampling_eps: float = 0.0,
    label_smoothing: float = 0.0,
    h: float = 1e-5,
) -> dict[str, float]:
    """Relative error of `model.loss_and_grads(batch)` against finite differences, per parameter.

    The model must hold float64 parameters. With `seed`, dropout and scheduled sampling draw from
    a generator re-seeded with it before every pass, so every pass draws the same masks.
    """

    def rng() -> Any:
        return None if seed is None else np.random.default_rng(seed)

    opts = {"sampling_eps": sampling_eps, "label_smoothing": label_smoothing}
    _, grads = model.loss_and_grads(batch, rng=rng(), **opts)
    errors = {}
    for name, w in model.params.items():
        num = numerical_grad(lambda: model.loss(batch, rng=rng(), **opts), w, h)
        errors[name] = rel_error(num, grads[name])
    return errors


def assert_close(errors: dict[str, float], tol: float = TOLERANCE) -> None:
    """Raise AssertionError listing every entry of `errors` at or above `tol`."""
    bad = {k: v for k, v in errors.items() if not v < tol}
    if bad:
        raise AssertionError(f"gradient check failed (tol {tol:g}): {bad}")

"""Finite-difference gradient checks, the proof behind every backward pass: `check_layer` for a
layer's forward and backward pair, `check_model` for a model's loss_and_grads.

A backward pass is right when it matches centred differences of the forward pass. How those
are taken (numerical_grad's fourth-order stencil) and compared (rel_error, on a floor shared by
the blocks of one check) is gradcheck_differences.py's, importable from here as before; what
check_layer refuses of its arguments before it runs anything is gradcheck_arguments.py's; here
is how a layer or a model is driven through them.

We check a scalar L = sum_k <out_k, dout_k> for random upstream gradients dout_k, so one check
covers every output of a layer.

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
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import to_numpy
from minis2s.gradcheck_arguments import check_arguments, check_finite_outputs, check_not_empty
from minis2s.gradcheck_blocks import blocks_of, dot, leaves, random_like, tree_like
from minis2s.gradcheck_differences import FLOOR as FLOOR  # importable here, as before
from minis2s.gradcheck_differences import (
    TOLERANCE,
    block_errors,
    compared,
    numerical_grad,
    rel_error,
)
from minis2s.gradcheck_faults import (
    GradErrors,
    Untouched,
    arrays_in,
    check_dtype,
    check_param_keys,
    check_shape,
    masked_douts,
    split_grads,
)
from minis2s.gradcheck_sampled import sampled


def check_layer(
    forward: Callable,
    backward: Callable,
    inputs: Sequence[Any],
    params: dict[str, Any] | None,
    *,
    h: float = 1e-3,
    seed: int = 0,
    entries: int | None = None,
    directions: int = 2,
    **options: Any,
) -> dict[str, float]:
    """Relative error of `backward` against finite differences, for every input and parameter.

    Calls `*outs, cache = forward(*inputs, params, **options)` and
    `grads = backward(*douts, cache)` with random `douts`. `grads` is `(*dinputs, dparams)`,
    one entry per input (None for an input without a gradient, such as token ids), or just
    `dparams` for a layer whose inputs have no gradient (a float input given no gradient is
    checked to have none: its finite differences must vanish). A layer without parameters is
    checked with `params=None`: it is called as `forward(*inputs, **options)` and its backward
    returns the input gradients alone (one array for one input). Inputs may be arrays or tuples of
    arrays (an LSTM's `(h0, c0)`); keyword `options` (mask, score kind, ...) pass through.

    It refuses (ValueError) arguments it would misread, empty arrays and a forward whose outputs
    are not finite (gradcheck_arguments.py); then, before the finite differences, a gradient
    of the wrong shape or dtype, a missing or unknown parameter key, and a backward pass that
    wrote into its cache, inputs, parameters or upstream gradients (naming the array). A block
    that fails at h is checked again at h / 10 where h / 100 confirms those differences
    (`gradcheck_differences.finer_if_needed`). Returns {name: rel_error}, names like "x",
    "h0c0[1]", "W_ih"; `assert_close` on them says where a wrong block is wrong.

    With `entries=k`, each parameter is checked on k entries drawn at random and `directions`
    random directions through all of it (gradcheck_sampled.py), the inputs still entry by entry
    (without the h / 10 retry or the padding note): for a layer made of layers whose own
    checks go entry by entry (a stack of cells), where what the composite adds, its wiring,
    shows in every input's gradient and moves every direction through a parameter.
    """
    if entries is not None:
        validate.integer("check_layer", "entries (of each parameter to check)", entries, 1)
    validate.integer("check_layer", "directions (through each parameter)", directions, 0)
    check_arguments(forward, backward, inputs, params, seed)
    arg_names = list(inspect.signature(forward).parameters)
    check_not_empty(inputs, arg_names, params)
    call = (
        (lambda: forward(*inputs, **options))
        if params is None
        else (lambda: forward(*inputs, params, **options))
    )
    result = call()
    if hasattr(result, "shape"):  # unpacked, its rows would pass for outputs and a cache
        raise ValueError("check_layer: forward returned one array; it must return (*outputs, "
                         "cache), e.g. `return y, cache`, the cache holding what backward "
                         "needs")  # fmt: skip
    *outs, cache = result
    check_finite_outputs(outs, inputs, arg_names, params)
    # not default_rng(seed): a learner's x drawn first from default_rng(0) would equal dy, and
    # x == dy hides a transpose (x^T dy is then symmetric) or a gradient built from x for dy
    r = np.random.default_rng((seed, 1))
    douts = tree_like(outs, lambda o: random_like(o, r))
    untouched = _untouched(inputs, arg_names, params, douts, cache)
    grads = backward(*douts, cache)
    untouched.check("check_layer")
    dinputs, dparams = split_grads(grads, len(inputs), params)

    def loss() -> float:
        *o, _ = call()
        pairs = zip(leaves(o, "o"), leaves(douts, "d"), strict=True)
        return sum(dot(a, d) for (_, a), (_, d) in pairs)

    blocks = blocks_of(inputs, arg_names, dinputs, params, dparams)
    for name, leaf, dleaf in blocks:  # all of them before the slow part
        check_shape("check_layer", name, leaf, dleaf)
        check_dtype("check_layer", name, leaf, dleaf)
    if entries is not None:  # the inputs entry by entry, the parameters sampled
        inputs_named = {name for name, _, _ in blocks} - set(params or {})
        sample = np.random.default_rng([3, seed]), entries, directions, inputs_named
        return _sampled_errors(loss, blocks, h, sample)
    errors = compared(loss, blocks, h)
    masked = masked_douts(douts, options.get("mask"))
    if masked is not None and not max(errors.values(), default=0.0) < TOLERANCE:
        # a wrong block that is right for upstream gradients zeroed on padding lets them in
        dinputs, dparams = split_grads(backward(*masked, cache), len(inputs), params)
        again = blocks_of(inputs, arg_names, dinputs, params, dparams)
        numeric, floor = errors.numeric, errors.floor
        right = [k for k, _, d in again if rel_error(numeric[k], d, floor) < TOLERANCE]
        errors.note_padding(right)
    return errors


def _untouched(
    inputs: Sequence[Any],
    arg_names: list[str],
    params: dict[str, Any] | None,
    douts: Any,
    cache: Any,
) -> Untouched:
    """Snapshots of every array a backward pass must only read, each by the name an error gives
    it: the inputs' leaves, the parameters, the upstream gradients and the arrays in the cache."""
    return Untouched(
        [(f"the input {n}", a) for k, x in enumerate(inputs) for n, a in leaves(x, arg_names[k])]
        + [(f"the parameter {k}", w) for k, w in (params or {}).items()]
        + [(f"its upstream gradient {n}", d) for n, d in leaves(douts, "dout")]
        + arrays_in(cache, "cache")
    )


def check_model(
    model: Any,
    batch: Any,
    *,
    seed: int | None = None,
    sampling_eps: float = 0.0,
    label_smoothing: float = 0.0,
    h: float = 1e-3,
    entries: int | None = None,
    directions: int = 2,
    every_entry: Collection[str] = (),
) -> dict[str, float]:
    """Relative error of `model.loss_and_grads(batch)` against finite differences, per parameter.

    The model must hold float64 parameters. With `seed`, dropout and scheduled sampling draw from
    a generator re-seeded with it before every pass, so every pass draws the same masks. The
    tokens scheduled sampling feeds back (the model's argmax) are discrete: every pass replays
    the first pass's choices, which is what the backward pass assumes (they are constants).

    With `entries=k`, each parameter is checked on k entries drawn at random and `directions`
    random directions through all of it, not entry by entry (gradcheck_sampled.py): for checks
    repeated over many drawn configurations. The parameters named in `every_entry` are still
    checked entry by entry: a case whose own parameters (a bridge's) are checked nowhere else
    entry by entry, while the rest of the model is (test_model.py's EVERY_ENTRY cases).
    """

    if entries is not None:  # 0 entries and 0 directions compared nothing, and passed
        validate.integer("check_model", "entries (of each parameter to check)", entries, 1)
    validate.integer("check_model", "directions (through each parameter)", directions, 0)
    unknown = sorted(set(every_entry) - set(model.params))
    if unknown:  # a misspelt name would quietly be sampled
        raise ValueError(
            f"check_model: every_entry names {unknown}, not parameters of the model; "
            f"its parameters: {list(model.params)}"
        )

    def rng() -> Any:
        return None if seed is None else np.random.default_rng(seed)

    opts = {"sampling_eps": sampling_eps, "label_smoothing": label_smoothing}
    chosen: list[Any] = []
    real_predict = model._predict
    model._predict = lambda out: chosen.append(real_predict(out)) or chosen[-1]
    try:
        _, grads = model.loss_and_grads(batch, rng=rng(), **opts)
        check_param_keys("check_model", model.params, grads)
        for name, w in model.params.items():
            check_shape("check_model", name, w, grads[name])
            check_dtype("check_model", name, w, grads[name])

        def loss() -> float:
            replay = iter(chosen)
            model._predict = lambda out: next(replay)
            return model.loss(batch, rng=rng(), **opts)

        if entries is None:
            numeric = {name: numerical_grad(loss, w, h) for name, w in model.params.items()}
        else:
            r = np.random.default_rng([2, 0 if seed is None else seed])
            blocks = [(k, w, grads[k]) for k, w in model.params.items()]
            return _sampled_errors(loss, blocks, h, (r, entries, directions, set(every_entry)))
    finally:
        del model._predict  # back to the class's method
    return block_errors(numeric, grads)


def _sampled_errors(
    loss: Callable[[], float],
    blocks: list[tuple[str, Any, Any]],
    h: float,
    sample: tuple[np.random.Generator, int, int, set[str]],
) -> GradErrors:
    """block_errors of each (name, value, gradient) block on a sample of its entries and
    directions (gradcheck_sampled.py), or entry by entry where `sample` = (generator, entries,
    directions, names to check entry by entry) names it; each on at least FLOOR x the largest
    gradient of the check, each noting what its positions are."""
    r, entries, directions, every_entry = sample
    checked = {}
    for name, w, dw in blocks:
        if name in every_entry:
            numeric = to_numpy(numerical_grad(loss, w, h)).reshape(-1)
            checked[name] = numeric, to_numpy(dw).reshape(-1), "; every entry checked (flattened)"
        else:
            checked[name] = sampled(loss, w, dw, h, entries, directions, r)
    errors = block_errors({k: n for k, (n, _, _) in checked.items()},
                          {k: a for k, (_, a, _) in checked.items()},
                          scale={name: dw for name, _, dw in blocks})  # fmt: skip
    errors.notes.update({k: note for k, (_, _, note) in checked.items()})
    return errors


def assert_close(errors: dict[str, float], tol: float = TOLERANCE) -> None:
    """Raise AssertionError listing every entry of `errors` at or above `tol`; for the errors
    of `check_layer` or `check_model`, with a line on where each of those blocks is wrong.
    ValueError for no errors at all: a check of nothing would pass whatever the gradients."""
    if len(errors) == 0:
        raise ValueError(
            "assert_close: no errors to check (an empty dict), so nothing was compared; give "
            "those of check_layer or check_model, with the inputs and parameters to check"
        )
    bad = {k: v for k, v in errors.items() if not v < tol}
    if bad:
        lines = errors.diagnoses(list(bad), tol) if isinstance(errors, GradErrors) else []
        raise AssertionError("\n  ".join([f"gradient check failed (tol {tol:g}): {bad}", *lines]))

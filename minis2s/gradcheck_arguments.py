"""What `check_layer` refuses before it calls backward, where Python's own error, or a check
that passes, would say nothing of the cause: a forward or backward that is no function, `inputs`
given as one array, params that are no dict of arrays, an input or parameter with no entries
(a check of nothing passes any backward), and a forward whose outputs hold NaN or inf (finite
differences of a NaN loss measure nothing). Each ValueError names the argument and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import to_numpy
from minis2s.gradcheck_blocks import leaves


def check_arguments(
    forward: Any, backward: Any, inputs: Any, params: dict[str, Any] | None, seed: Any
) -> None:
    """Refuse (ValueError) what check_layer would misread, where Python's own error names none
    of it: a forward or backward that is no function, one array (or string) for `inputs` (its
    rows unpacked as arguments), params that are no dict, a parameter not an array, a seed
    that is no integer >= 0 (NumPy's own error of default_rng((seed, 1)) named neither)."""
    validate.integer("check_layer", "seed (of the upstream gradients)", seed, 0)
    for name, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise ValueError(f"check_layer: {name} must be a function, such as "
                             f"linear.{name}; got {type(fn).__name__}")  # fmt: skip
    if params is not None and not isinstance(params, dict):
        raise ValueError(f"check_layer: params is {type(params).__name__}; give a dict "
                         "{name: array}, as the layer's init makes it (None for a layer "
                         "without parameters)")  # fmt: skip
    if hasattr(inputs, "shape"):
        raise ValueError(f"check_layer: inputs is one array of shape {tuple(inputs.shape)}; give "
                         "a list with one entry per argument of forward before p, e.g. "
                         "[x]")  # fmt: skip
    if isinstance(inputs, str) or not isinstance(inputs, Sequence):
        raise ValueError(f"check_layer: inputs is {type(inputs).__name__} {inputs!r:.40}; give a "
                         "list of arrays with one entry per argument of forward before p, e.g. "
                         "[x]")  # fmt: skip
    for key, value in (params or {}).items():
        if not hasattr(value, "dtype"):
            raise ValueError(f"check_layer: params[{key!r}] is a {type(value).__name__}; give "
                             "arrays, e.g. np.asarray(values, dtype=np.float64)")  # fmt: skip


def check_not_empty(inputs: Any, arg_names: list[str], params: dict[str, Any] | None) -> None:
    """Refuse an input or parameter with no entries: there is nothing to differ, every error is
    0.0, and the check passes whatever backward returns."""
    if len(inputs) > len(arg_names):  # each input is named by forward's parameter it fills
        raise ValueError(f"check_layer: inputs has {len(inputs)} entries, but forward takes "
                         f"{len(arg_names)} arguments ({', '.join(arg_names)}), p included: give "
                         "one entry per argument of forward before p")  # fmt: skip
    named = [leaf for k, x in enumerate(inputs) for leaf in leaves(x, arg_names[k])]
    for name, a in named:
        if not hasattr(a, "shape"):  # a str or a number has no entries to differ
            raise ValueError(f"check_layer: the input {name} is {type(a).__name__} {a!r:.40}; "
                             "give arrays, e.g. np.asarray(values, dtype=np.float64)")  # fmt: skip
    named += [(f"parameter {k}", w) for k, w in (params or {}).items()]
    for name, a in named:
        if a.size == 0:
            where = name if name.startswith("parameter") else f"input {name}"
            raise ValueError(f"check_layer: the {where} has no entries (shape {tuple(a.shape)}); "
                             "a check of nothing passes any backward: give every axis at "
                             "least one entry")  # fmt: skip


def check_finite_outputs(
    outs: list, inputs: Any, arg_names: list[str], params: dict[str, Any] | None
) -> None:
    """Refuse a forward pass whose outputs hold NaN or inf (a NaN input or parameter, other than
    at padding a mask hides): finite differences of a NaN loss measure nothing, and the errors
    would read as a wrong backward."""
    bad = [name for name, o in leaves(outs, "o") if _not_finite(o)]
    if not bad:
        return
    given = [leaf for k, x in enumerate(inputs) for leaf in leaves(x, arg_names[k])]
    causes = [name for name, a in given + list((params or {}).items()) if _not_finite(a)]
    held = f" ({', '.join(causes)} holds NaN or inf)" if causes else ""
    raise ValueError(f"check_layer: forward's output {', '.join(bad)} holds NaN or inf{held}; "
                     "finite differences need a finite loss: give finite inputs and parameters "
                     "(padding under a mask may hold anything)")  # fmt: skip


def _not_finite(a: Any) -> bool:
    """Whether a float array or number (a loss) holds NaN or inf."""
    a = to_numpy(a) if hasattr(a, "shape") else np.asarray(a)
    return a.dtype.kind == "f" and not np.isfinite(a).all()

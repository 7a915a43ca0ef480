"""The global L2 norm of a gradient dict, and clipping by it, as torch.nn.utils.clip_grad_norm_.

    loss, grads = model.loss_and_grads(batch)
    norm = clip_grad_norm(grads, 1.0)        # scales the arrays in place; the norm before it
    opt.step(model.params, grads)

The norm is the one device-to-host transfer of either call: a Python float, which the trainer
logs and checks for overflow (divergence.py).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from minis2s.backend import get_array_module

Params = dict[str, Any]


def check_arrays(where: str, name: str, arrays: Any) -> None:
    """ValueError unless `arrays` is a non-empty dict of float arrays by name (a model's params
    or their gradients), not a list, a string or ints."""
    if not isinstance(arrays, Mapping) or not arrays:
        got = "empty" if isinstance(arrays, Mapping) else f"{type(arrays).__name__}"
        raise ValueError(f"{where}: {name} is {got}; give a dict of arrays by name "
                         "(model.params, or the grads of loss_and_grads)")  # fmt: skip
    for k, a in arrays.items():
        # a torch tensor's dtype has no .kind: it was an AttributeError here
        if not hasattr(a, "shape") or getattr(getattr(a, "dtype", None), "kind", None) != "f":
            what = f"a {a.dtype} array" if hasattr(a, "dtype") else type(a).__name__
            raise ValueError(f"{where}: {name}[{k!r}] is {what}; give NumPy (or CuPy) "
                             "float arrays, float32 or float64")  # fmt: skip


def global_norm(grads: Params) -> float:
    """sqrt(sum over arrays of sum(g^2)), accumulated in float64 so float32 gradients do not
    overflow the sum; a Python float, the one device-to-host transfer of the call."""
    check_arrays("global_norm", "grads", grads)
    sums = [get_array_module(g).square(g, dtype="float64").sum() for g in grads.values()]
    return math.sqrt(float(sum(sums)))


def clip_grad_norm(grads: Params, max_norm: float) -> float:
    """Scale every gradient in place so that the global L2 norm is at most `max_norm`.

    total_norm = `global_norm(grads)`. When total_norm > max_norm every array is multiplied by
    max_norm / (total_norm + 1e-6) (torch.nn.utils.clip_grad_norm_). A non-finite norm (inf or
    NaN in some gradient) is returned as is and the gradients are left untouched, so that the
    caller can stop with a clear message. Returns total_norm before clipping, a Python float.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0; got {max_norm}")
    if not grads:
        raise ValueError("clip_grad_norm: grads is empty")
    total = global_norm(grads)
    if math.isfinite(total) and total > max_norm:
        coef = max_norm / (total + 1e-6)
        for g in grads.values():
            g *= coef
    return total

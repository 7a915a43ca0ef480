"""Inverted dropout: zero each unit with probability `rate` while training, scale the survivors.

Equations:
    keep ~ Bernoulli(1 - rate), one draw per element
    y    = x * keep / (1 - rate)          (train)      y = x  (eval, or rate == 0)
    dx   = dy * keep / (1 - rate)

Dividing by 1 - rate at training time keeps E[y] = x, so evaluation needs no rescaling and is
the identity. The mask is drawn on the host from a NumPy Generator, so a seed gives the same mask
on every backend; it is then moved to the array module of x.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module

WHERE = "dropout"


class DropoutCache(NamedTuple):
    scale: Any  # same shape as x: keep / (1 - rate), or None when dropout was the identity


def forward(
    x: Any, rate: float, rng: np.random.Generator | None, train: bool = True
) -> tuple[Any, DropoutCache]:
    """y = x * keep / (1 - rate) with keep ~ Bernoulli(1 - rate) drawn from `rng`.

    The identity (and nothing drawn from `rng`) when `train` is False or `rate` is 0.
    Shapes: x (...) -> y (...), same shape and dtype.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{WHERE}.forward: rate must be in [0, 1); got {rate!r}")
    validate.floating(f"{WHERE}.forward", "x", x)
    if not train or rate == 0.0:
        return x, DropoutCache(None)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{WHERE}.forward: rng must be a numpy Generator (np.random.default_rng(seed)) when "
            f"training with rate > 0; got {type(rng).__name__}"
        )
    xp = get_array_module(x)
    keep = rng.random(x.shape) >= rate  # True with probability 1 - rate
    scale = xp.asarray(keep, dtype=x.dtype) * (1.0 / (1.0 - rate))
    return x * scale, DropoutCache(scale)


def backward(dy: Any, cache: DropoutCache) -> Any:
    """dx = dy * keep / (1 - rate): the same mask as the forward pass. Shapes: dy (...) -> dx."""
    return dy if cache.scale is None else dy * cache.scale

"""Inverted dropout: zero each unit with probability `rate` while training, scale the survivors.

Equations:
    keep ~ Bernoulli(1 - rate), one draw per element
    y    = x * keep / (1 - rate)          (train)      y = x  (eval, or rate == 0)
    dx   = dy * keep / (1 - rate)

Dividing by 1 - rate at training time keeps E[y] = x, so evaluation needs no rescaling and is
the identity. The mask is drawn on the host from a NumPy Generator, so a seed gives the same mask
on every backend; it is then moved to the array module of x. A loop that drops out at every step
(the decoder) draws its whole pass ahead with `Uniforms`, so that its steps copy nothing to the
device.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module

WHERE = "dropout"


class Uniforms:
    """`count` numbers of `rng.random`, drawn in one call and moved to the array module of `like`
    in one copy, then handed out in order by `random(shape)`.

    They are the numbers, in the order, that calling `rng.random(shape)` each time would give: a
    Generator's doubles come one after another however the calls group them. So a loop that draws
    at every step can draw its whole pass ahead with the same results, without a copy to the GPU
    per step (CUDA waits for the device before each copy from host memory).
    """

    def __init__(self, rng: np.random.Generator, count: int, like: Any) -> None:
        self.values = get_array_module(like).asarray(rng.random(count)) if count else None
        self.count, self.used = count, 0

    def random(self, shape: int | tuple[int, ...]) -> Any:
        """The next prod(shape) numbers as an array of `shape` (a view, on the device)."""
        shape = shape if isinstance(shape, tuple) else (shape,)
        n = math.prod(shape)
        if self.used + n > self.count:
            raise RuntimeError(
                f"Uniforms: asked for {self.used + n} of {self.count} numbers drawn ahead; the "
                "count drawn ahead is out of step with the loop that uses them"
            )
        self.used += n
        return self.values[self.used - n : self.used].reshape(shape)

    def check_all_used(self, where: str) -> None:
        """Raise if fewer were used than drawn: the generator would have moved on too far."""
        if self.used != self.count:
            raise RuntimeError(
                f"{where}: used {self.used} of the {self.count} random numbers drawn ahead; the "
                "count drawn ahead is out of step with the loop that uses them"
            )


class DropoutCache(NamedTuple):
    scale: Any  # same shape as x: keep / (1 - rate), or None when dropout was the identity


def forward(
    x: Any, rate: float, rng: np.random.Generator | None, train: bool = True
) -> tuple[Any, DropoutCache]:
    """y = x * keep / (1 - rate) with keep ~ Bernoulli(1 - rate) drawn from `rng`.

    The identity (and nothing drawn from `rng`) when `train` is False or `rate` is 0.
    Shapes: x (...) -> y (...), same shape and dtype.
    """
    _check_forward(x, rate, rng, train)
    if not train or rate == 0.0:
        return x, DropoutCache(None)
    xp = get_array_module(x)
    keep = rng.random(x.shape) >= rate  # True with probability 1 - rate
    scale = xp.asarray(keep, dtype=x.dtype) * (1.0 / (1.0 - rate))
    return x * scale, DropoutCache(scale)


def _check_forward(x: Any, rate: float, rng: Any, train: bool) -> None:
    """ValueError unless rate is in [0, 1), x is a float array and train a bool, and, when forward
    draws a mask (train and rate > 0), rng is a Generator (or the `Uniforms` drawn ahead)."""
    validate.finite(f"{WHERE}.forward", "rate", rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{WHERE}.forward: rate must be in [0, 1); got {rate!r}")
    validate.floating(f"{WHERE}.forward", "x", x)
    validate.boolean(f"{WHERE}.forward", "train", train)  # "no" or 1 would read as True
    if train and rate != 0.0 and not isinstance(rng, np.random.Generator | Uniforms):
        raise ValueError(
            f"{WHERE}.forward: rng must be a numpy Generator (np.random.default_rng(seed)) when "
            f"training with rate > 0; got {type(rng).__name__}"
        )


def backward(dy: Any, cache: DropoutCache) -> Any:
    """dx = dy * keep / (1 - rate): the same mask as the forward pass. Shapes: dy (...) -> dx,
    both the shape of x. Where dropout was the identity, dy comes back as it is, unchecked."""
    validate.cache(f"{WHERE}.backward", cache, DropoutCache, "dropout.forward")
    if cache.scale is None:
        return dy
    validate.gradient(f"{WHERE}.backward", "dy", dy, cache.scale.shape, "...", cache.scale.dtype)
    return dy * cache.scale

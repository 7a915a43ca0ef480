"""The checks of the optimizers' hyper-parameters, apart from their update equations: each value
refused with a message that names the optimizer, the argument and the range it must lie in."""

from __future__ import annotations

import math
from numbers import Real


def check_hyper(where: str, **values: float) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not (isinstance(v, Real) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{where}: {name} must be a finite number >= 0; got {v!r}")


def check_eps(where: str, eps: float) -> None:
    """eps > 0: an entry whose gradient has always been 0 (the embedding's pad row, a token not
    seen yet) has sqrt(v) = 0, and its step 0 / (0 + eps) is 0 only if eps is not 0."""
    if isinstance(eps, bool) or not (isinstance(eps, Real) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"{where}: eps must be a finite number > 0; got {eps!r}")
    if eps == 0:
        raise ValueError(
            f"{where}: eps must be > 0; got 0, which makes the step of a parameter whose "
            "gradient has been 0 so far (the embedding's pad row) 0 / 0 = NaN"
        )


def check_betas(where: str, betas: tuple[float, float]) -> None:
    ok = len(betas) == 2 and all(isinstance(b, Real) and 0 <= b < 1 for b in betas)
    if not ok:
        raise ValueError(f"{where}: betas must be two numbers in [0, 1); got {betas!r}")

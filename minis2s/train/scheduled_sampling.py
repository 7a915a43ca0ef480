"""Scheduled sampling (Bengio et al. 2015): the probability of feeding the model its own token
at training step i, by the kind of schedule (`sampling_probability`, `SAMPLING`); and `_step`, the
check of a step counter that the lr schedules (schedule.py) share.
"""

from __future__ import annotations

import math
from numbers import Integral


def sampling_probability(kind: str, step: int, **params: float) -> float:
    """Scheduled sampling (Bengio et al. 2015): probability of feeding the model its own token.

    The paper decays the teacher-forcing probability e_i over training steps i; this returns
    eps = 1 - e_i, the chance of feeding the model's previous prediction instead of the truth.

        "constant"        (eps)                     eps
        "linear"          (eps_start, eps_end, n)   eps_start + (eps_end - eps_start) * min(i, n)/n
        "exponential"     (k, 0 < k <= 1)           1 - k^i              (e_i = k^i)
        "inverse_sigmoid" (k >= 1)                  1 / (1 + k exp(-i/k)) (e_i = k / (k + exp(i/k)))

    The inverse sigmoid is computed as 1 / (1 + k exp(-i/k)): exp of a non-positive number,
    which underflows to 0 (eps -> 1) instead of overflowing for large i.
    """
    if kind not in SAMPLING:
        raise ValueError(
            f"sampling_probability: unknown sampling kind {kind!r}; "
            f"choose one of {', '.join(SAMPLING)}"
        )
    fn, names = SAMPLING[kind]
    if set(params) != set(names):
        raise ValueError(
            f"sampling_probability({kind!r}): expects parameters {', '.join(names)}; "
            f"got {', '.join(sorted(params)) or 'none'}"
        )
    return fn(_step("sampling_probability", step), **params)


def _constant(i: int, eps: float) -> float:
    return _probability("eps", eps)


def _linear(i: int, eps_start: float, eps_end: float, n: int) -> float:
    eps_start, eps_end = _probability("eps_start", eps_start), _probability("eps_end", eps_end)
    if not (isinstance(n, Integral) and n >= 1):
        raise ValueError(f"sampling_probability('linear'): n must be an integer >= 1; got {n!r}")
    return eps_start + (eps_end - eps_start) * min(i, n) / n


def _exponential(i: int, k: float) -> float:
    if not 0 < k <= 1:
        raise ValueError(f"sampling_probability('exponential'): k must be in (0, 1]; got {k!r}")
    return 1.0 - k**i


def _inverse_sigmoid(i: int, k: float) -> float:
    if not k >= 1:
        raise ValueError(f"sampling_probability('inverse_sigmoid'): k must be >= 1; got {k!r}")
    return 1.0 / (1.0 + k * math.exp(-i / k))


SAMPLING = {
    "constant": (_constant, ("eps",)),
    "linear": (_linear, ("eps_start", "eps_end", "n")),
    "exponential": (_exponential, ("k",)),
    "inverse_sigmoid": (_inverse_sigmoid, ("k",)),
}


def _probability(name: str, p: float) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"sampling_probability: {name} must be in [0, 1]; got {p!r}")
    return float(p)


def _step(where: str, step: int) -> int:
    if isinstance(step, bool) or not (isinstance(step, Integral) and step >= 0):
        raise ValueError(f"{where}: step must be an integer >= 0; got {step!r}")
    return int(step)

"""The README's first layer of your own (Gradient checks), y = x * w elementwise, whose
gradients are known by hand: dx = dy * w, dw = the sum over rows of dy * x. Tests of the checker
itself use it as the layer a learner writes."""

import numpy as np


def forward(x, p):
    """y = x * p["w"]; the cache holds both factors."""
    return x * p["w"], (x, p["w"])


def backward(dy, cache):
    """(dx, {"w": dw}) for forward's cache."""
    x, w = cache
    return dy * w, {"w": (dy * x).sum(axis=0)}


def arguments(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x (4, 3) and w (3,), drawn in that order from default_rng(seed)."""
    r = np.random.default_rng(seed)
    return r.standard_normal((4, 3)), r.standard_normal(3)

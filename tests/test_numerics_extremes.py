"""Extreme but legal values, where each of these used to give NaN, a silent wrong answer or a
frozen weight: hyper-parameters that round to 0 in the parameters' dtype, a clipping threshold
beyond what the dtype can square. Each test names what it guards against."""

import math

import numpy as np
import pytest

from minis2s import backend
from minis2s.train.divergence import NonFiniteLoss, check_update
from minis2s.train.optim import Adagrad, Adam, AdamW

F32_SQUARE_LIMIT = math.sqrt(np.finfo(np.float32).max)  # 1.84e19: g * g overflows above it


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("kind", [Adam, AdamW, Adagrad])
def test_an_eps_below_float32s_range_is_refused_not_turned_into_nan(kind, name):
    """eps = 1e-46 is > 0 but rounds to 0 in float32, so the pad row's step was 0 / (0 + 0) = NaN
    on both backends; it is refused at construction, naming the dtype and the least eps."""
    p = {"W": np.ones((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"eps=1e-46 is below float32's smallest normal number"):
        kind(p, eps=1e-46)
    kind({"W": np.ones((2, 2))}, eps=1e-46)  # float64 holds it: accepted
    backend.use(name)
    try:  # the least eps accepted keeps a parameter with a zero gradient where it is
        opt = kind(p, lr=0.1, eps=float(np.finfo(np.float32).tiny), weight_decay=0.0)
        opt.step(p, {"W": np.zeros((2, 2), np.float32)})
    finally:
        backend.use("numpy")
    np.testing.assert_array_equal(p["W"], 1.0)


def test_a_clip_above_what_float32_can_square_does_not_freeze_weights_silently():
    """--clip 1e30 lets a gradient of norm 1e25 through unclipped; in float32 Adam's g * g is
    inf, v stays inf for good and the weight never moves again, with a finite loss and norm.
    check_update refused such a norm only with clipping off; it refuses the clipped norm."""
    with pytest.raises(NonFiniteLoss, match=r"gradient norm 1e\+25.*--clip below 1.84e\+19"):
        check_update(7, 1.0, 1e25, 1e30, np.float32, lambda: "last/ is step 6")
    check_update(7, 1.0, 1e25, 1.0, np.float32, lambda: "")  # clipped to 1: fine
    check_update(7, 1.0, 1e25, 1e30, np.float64, lambda: "")  # float64 squares 1e25
    # what the check prevents: the weight frozen by the overflow
    p, g = {"w": np.ones(1, np.float32)}, {"w": np.full(1, 1e25, np.float32)}
    opt = Adam(p, lr=0.1)
    with np.errstate(over="ignore"):
        opt.step(p, g)
    assert p["w"][0] == 1.0 and np.isinf(opt.state["exp_avg_sq"]["w"][0])


def test_an_adagrad_accumulator_beyond_float32s_range_is_refused_not_a_frozen_weight():
    """initial_accumulator_value = 1e39 is finite, but inf in float32: every step was
    g / (inf + eps) = 0, a weight that never moved, with a finite loss. Refused, naming the
    dtype's largest number; float64 holds it."""
    p = {"W": np.ones(3, np.float32)}
    with pytest.raises(ValueError, match=r"initial_accumulator_value=1e\+39 is beyond float32"):
        Adagrad(p, initial_accumulator_value=1e39)
    Adagrad({"W": np.ones(3)}, initial_accumulator_value=1e39)

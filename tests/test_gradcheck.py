"""The gradient checker itself: it refuses float32, finds wrong gradients, works on views."""

import numpy as np
import pytest

from minis2s.gradcheck import (
    FLOOR,
    TOLERANCE,
    assert_close,
    block_errors,
    check_layer,
    numerical_grad,
    rel_error,
)


def test_refuses_float32_with_a_reason():
    x = np.ones(3, dtype=np.float32)
    with pytest.raises(ValueError, match="float64.*astype"):
        numerical_grad(lambda: float(x.sum()), x)


def test_numerical_grad_of_a_known_function_and_of_a_view():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    g = numerical_grad(lambda: float((np.sin(x) * x).sum()), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-11)
    col = x[:, 1]  # a non-contiguous view: perturbations must reach x
    g = numerical_grad(lambda: float((x**3).sum()), col)
    np.testing.assert_allclose(g, 3 * col**2, rtol=1e-11)


def test_rel_error_is_scale_relative_and_zero_safe():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)
    assert rel_error([1e-9], [2e-9], floor=1.0) == pytest.approx(1e-9)


def test_check_layer_catches_a_wrong_backward():
    def forward(x, p):
        return np.tanh(x @ p["W"]), (x, p["W"])

    def backward(dy, cache, wrong=False):
        x, W = cache
        y = np.tanh(x @ W)
        da = dy * (1 - y * y) * (1.01 if wrong else 1.0)
        return da @ W.T, {"W": x.T @ da}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((3, 2)), {"W": r.standard_normal((2, 4))}
    assert_close(check_layer(forward, backward, [x], p))
    with pytest.raises(AssertionError, match="gradient check failed"):
        assert_close(check_layer(forward, lambda dy, c: backward(dy, c, wrong=True), [x], p))


def test_check_layer_draws_random_upstream_gradients():
    """A backward pass that sends dy back in the wrong order (here reversed along the batch)
    is right for any dy whose rows are all equal, such as ones: the upstream gradients must be
    random for the check to see it."""

    def forward(x):
        return 3.0 * x, None

    def backward(dy, cache):
        return 3.0 * dy[::-1]

    x = np.random.default_rng(0).standard_normal((4, 2))
    assert check_layer(forward, backward, [x], None)["x"] > 0.1


def test_check_layer_does_not_skip_a_float_input_left_without_a_gradient():
    """A backward pass that returns None for a float input (or only dparams) claims it has no
    gradient; the check must verify that, not skip the input. Integer ids are still skipped."""
    from minis2s.layers import embedding, linear, lstm

    r = np.random.default_rng(0)
    x, p = r.standard_normal((4, 3)), linear.init(3, 2, r, dtype=np.float64)
    for bad in (
        lambda dy, c: (None, linear.backward(dy, c)[1]),
        lambda dy, c: linear.backward(dy, c)[1],
    ):
        with pytest.raises(AssertionError, match="'x'"):
            assert_close(check_layer(linear.forward, bad, [x], p))
    x3, s = r.standard_normal((2, 3, 3)), (r.standard_normal((2, 4)), r.standard_normal((2, 4)))
    pl = lstm.init(3, 4, r, np.float64)
    for ds in (None, lambda d: (d[0], None)):

        def bad_lstm(dys, dfinal, cache, ds=ds):
            dx, d0, dp = lstm.backward(dys, dfinal, cache)
            return dx, None if ds is None else ds(d0), dp

        with pytest.raises(AssertionError, match=r"h0c0\[1\]"):
            assert_close(check_layer(lstm.forward, bad_lstm, [x3, s], pl))
    ids = np.array([[1, 2, 0], [3, 3, 1]])
    pe = embedding.init(5, 2, r, np.float64, pad_id=0)
    assert set(check_layer(embedding.forward, embedding.backward, [ids], pe, pad_id=0)) == {"W"}


def test_each_block_is_judged_on_at_least_floor_times_the_largest_gradient():
    """A block's error is |numeric - analytic| / max(its own scale, FLOOR x the largest gradient
    of the check): a small block wrong by a factor 2 shows an error of 0.5 (not 5e-3, as it would
    on the largest gradient's scale), and a block far below the floor is judged on the floor."""
    big = np.array([1.0, -2.0])
    errors = block_errors(
        {"big": big, "small": np.array([1e-2]), "tiny": np.array([1e-9])},
        {"big": big, "small": np.array([2e-2]), "tiny": np.array([2e-9])},
    )
    assert errors["big"] == 0.0
    assert errors["small"] == pytest.approx(1e-2 / 2e-2)
    assert errors["tiny"] == pytest.approx(1e-9 / (FLOOR * 2.0))


def test_an_empty_comparison_is_refused():
    """No errors compared nothing, and passed: a test of two empty gradient dicts (a layer
    whose parameters and inputs were all left out) proved nothing without a word."""
    for empty in ({}, block_errors({}, {})):
        with pytest.raises(ValueError, match="assert_close: no errors to check"):
            assert_close(empty)


def test_a_nan_error_and_an_error_at_the_tolerance_fail():
    """assert_close fails at or above the tolerance, and on NaN (no comparison `error > tol`
    would catch one); a backward pass that returns NaN gives an error of inf (rel_error)."""
    for v in (float("nan"), TOLERANCE):
        with pytest.raises(AssertionError, match="gradient check failed"):
            assert_close({"W": v})
    assert_close({"W": TOLERANCE / 2, "b": 0.0})
    with pytest.raises(AssertionError):  # the standard is 1e-7 (module docstring), not looser
        assert_close({"W": 1e-6})

    def forward(x, p):
        return x @ p["W"], x

    def backward(dy, x):
        return dy @ p["W"].T, {"W": np.full_like(p["W"], np.nan)}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((3, 2)), {"W": r.standard_normal((2, 4))}
    with pytest.raises(AssertionError, match="'W': inf"):
        assert_close(check_layer(forward, backward, [x], p))


def test_rel_error_of_a_gradient_holding_nan_is_inf_so_max_sees_it():
    """NaN used to come back as NaN, which `max(errors.values()) < 1e-7` skips when it is not
    the first entry: a check with a NaN gradient then passed."""
    good, bad = np.ones(3), np.array([1.0, np.nan, 1.0])
    assert rel_error(bad, good) == np.inf and rel_error(good, np.array([np.inf, 1, 1])) == np.inf
    errors = {"W": rel_error(good, good), "b": rel_error(bad, good)}
    assert not max(errors.values()) < 1e-7


def test_numerical_grad_names_a_step_that_is_not_positive_and_a_list():
    x = np.ones(3)
    for h in (0, -1e-3, float("nan"), "1e-3"):
        with pytest.raises(ValueError, match=r"numerical_grad: h"):
            numerical_grad(lambda: float(x.sum()), x, h=h)
    with pytest.raises(ValueError, match="numerical_grad: x must be an array"):
        numerical_grad(lambda: 0.0, [1.0, 2.0])

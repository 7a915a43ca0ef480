"""The gradient checker itself: it refuses float32, finds wrong gradients, works on views."""

import numpy as np
import pytest

from minis2s.gradcheck import assert_close, check_layer, numerical_grad, rel_error


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

"""Inverted dropout: gradient against finite differences, identity in eval, E[y] = x, one mask
shared by forward and backward."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import dropout
from tests.strategies import dims

rates = st.sampled_from([0.0, 0.1, 0.5, 0.9])


@given(dims, dims, dims, rates, st.integers(0, 2**16))
def test_gradients(N, T, H, rate, seed):
    x = np.random.default_rng(seed).standard_normal((N, T, H))
    # A fresh generator with the same seed on every call: the same mask for every perturbed x.
    forward = lambda x: dropout.forward(x, rate, np.random.default_rng(seed + 1))
    assert_close(check_layer(forward, dropout.backward, [x], None))


@given(dims, dims, rates, st.integers(0, 2**16))
def test_backward_uses_the_forward_mask(N, H, rate, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((N, H)) + 5.0  # no zeros, so y == 0 exactly where a unit was dropped
    y, cache = dropout.forward(x, rate, r)
    dy = r.standard_normal((N, H))
    dx = dropout.backward(dy, cache)
    kept = y != 0
    np.testing.assert_array_equal(dx[~kept], 0)
    np.testing.assert_allclose(dx[kept], dy[kept] / (1 - rate), rtol=1e-15)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-15)


def test_identity_in_eval_and_at_rate_zero(rng):
    x, dy = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    state = rng.bit_generator.state
    calls = [
        dropout.forward(x, 0.5, rng, train=False),
        dropout.forward(x, 0.0, rng),
        dropout.forward(x, 0.5, None, train=False),  # no generator needed in eval
    ]
    for y, cache in calls:
        assert y is x and dropout.backward(dy, cache) is dy
    assert rng.bit_generator.state == state  # nothing was drawn


def test_mean_preserved_and_rate_respected():
    x = np.ones(400_000)
    for rate in (0.1, 0.5, 0.8):
        y, _ = dropout.forward(x, rate, np.random.default_rng(7))
        # Each y is 1 / (1 - rate) w.p. 1 - rate, else 0: mean 1, std sqrt(rate / (1 - rate)).
        se = np.sqrt(rate / (1 - rate) / x.size)
        assert abs(y.mean() - 1.0) < 5 * se
        assert abs((y == 0).mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / x.size)


def test_same_seed_same_mask_and_dtype_kept():
    x = np.ones((5, 6), dtype=np.float32)
    y1, _ = dropout.forward(x, 0.3, np.random.default_rng(3))
    y2, _ = dropout.forward(x, 0.3, np.random.default_rng(3))
    np.testing.assert_array_equal(y1, y2)
    assert y1.dtype == np.float32


def test_bad_inputs(rng):
    x = rng.standard_normal((2, 3))
    for rate in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\); got"):
            dropout.forward(x, rate, rng)
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        dropout.forward(x, 0.5, None)
    with pytest.raises(ValueError, match="x must be a float array; got dtype int64"):
        dropout.forward(np.ones((2, 3), dtype=np.int64), 0.5, rng)


@given(sizes=st.lists(st.tuples(dims, dims), min_size=1, max_size=5), seed=st.integers(0, 99))
def test_uniforms_drawn_ahead_are_the_numbers_of_separate_draws(sizes, seed):
    """The decoder draws its whole pass ahead (dropout.Uniforms): same masks, same order, and the
    generator left where separate draws leave it."""
    each, ahead = np.random.default_rng(seed), np.random.default_rng(seed)
    draws = dropout.Uniforms(ahead, sum(a * b for a, b in sizes), like=np.zeros(1))
    for shape in sizes:
        np.testing.assert_array_equal(draws.random(shape), each.random(shape))
    draws.check_all_used("test")
    assert each.random() == ahead.random()


def test_uniforms_refuse_a_count_out_of_step_with_their_use():
    draws = dropout.Uniforms(np.random.default_rng(0), 5, like=np.zeros(1))
    draws.random((2, 2))
    with pytest.raises(RuntimeError, match="used 4 of the 5 random numbers drawn ahead"):
        draws.check_all_used("decoder.forward")
    with pytest.raises(RuntimeError, match="asked for 6 of 5 numbers drawn ahead"):
        draws.random(2)


def test_dropout_with_uniforms_equals_dropout_with_the_generator(rng):
    x = rng.standard_normal((3, 4))
    want, _ = dropout.forward(x, 0.5, np.random.default_rng(3))
    got, _ = dropout.forward(x, 0.5, dropout.Uniforms(np.random.default_rng(3), 12, like=x))
    np.testing.assert_array_equal(got, want)

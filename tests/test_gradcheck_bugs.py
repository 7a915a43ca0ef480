"""The mistakes a learner makes in a backward pass, one test each: check_layer must catch every
one, and its message must lead to the bug (which gradient, which entries, what kind of wrong),
not to a KeyError or a NumPy traceback. The layers are drawn as a learner draws them, with
np.random.default_rng(0), the seed the README's recipe uses."""

import numpy as np
import pytest

from minis2s.gradcheck import assert_close, check_layer


def linear_forward(x, p):  # y = x W^T + b: x (N, D), W (H, D) -> y (N, H)
    return x @ p["W"].T + p["b"], (x, p["W"])


def linear_backward(dy, cache):
    x, W = cache
    return dy @ W, {"W": dy.T @ x, "b": dy.sum(axis=0)}


def linear_case(D=3, H=3, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal((4, D))], {"W": r.standard_normal((H, D)), "b": r.standard_normal(H)}


def test_a_missing_transpose_is_caught_and_named_even_when_W_is_square():
    """dW = x^T dy instead of dy^T x. With a square W only the values can show it; they did not
    when the learner's x came from default_rng(0), because the upstream gradient did too (x ==
    dy makes x^T dy symmetric)."""

    def backward(dy, cache):
        x, W = cache
        return dy @ W, {"W": x.T @ dy, "b": dy.sum(axis=0)}

    inputs, p = linear_case()
    with pytest.raises(AssertionError, match=r"'W'(.|\n)*transpose"):
        assert_close(check_layer(linear_forward, backward, inputs, p))
    inputs, p = linear_case(D=3, H=2)  # not square: the shapes show it, named, before any work
    with pytest.raises(ValueError, match=r"gradient of W has shape \(3, 2\).*\(2, 3\).*transpose"):
        check_layer(linear_forward, backward, inputs, p)


def test_the_readme_recipe_with_its_seed_catches_a_gradient_built_from_x_instead_of_dy():
    """The README's y = x * w with x from default_rng(0): dw = sum(x * x) passed while the
    upstream gradient dy was drawn from the same stream as x, so equal to it."""

    def forward(x, p):
        return x * p["w"], (x, p["w"])

    def backward(dy, cache):
        x, w = cache
        return dy * w, {"w": (x * x).sum(axis=0)}

    r = np.random.default_rng(0)
    errors = check_layer(
        forward, backward, [r.standard_normal((4, 3))], {"w": r.standard_normal(3)}
    )
    assert errors["w"] > 0.1


def layer_norm_forward(x, p):  # over the last axis, without a shift: x (N, D) -> y (N, D)
    xc = x - x.mean(axis=-1, keepdims=True)
    inv = 1 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + 1e-5)
    return p["g"] * xc * inv, (xc * inv, inv, p["g"])


def test_a_forgotten_term_shows_where_and_by_how_much():
    """Layer norm's dx without its last term: the message names x and gives, at its worst
    entry, what backward said beside what finite differences say."""

    def backward(dy, cache):
        xhat, inv, g = cache
        dxhat = dy * g
        dx = inv * (dxhat - dxhat.mean(axis=-1, keepdims=True))  # - xhat * mean(dxhat xhat)
        return dx, {"g": (dy * xhat).sum(axis=0)}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((3, 4)), {"g": r.standard_normal(4)}
    with pytest.raises(AssertionError) as failed:
        assert_close(check_layer(layer_norm_forward, backward, [x], p))
    message = str(failed.value)
    assert "'g'" not in message
    assert "x: worst at [" in message and "backward gave" in message
    assert "finite differences" in message


def masked_forward(x, p, mask):  # y = m * tanh(x W^T): x (N, T, D), mask (N, T) -> y (N, T, H)
    a = np.tanh(x @ p["W"].T)
    return mask[:, :, None] * a, (x, a, p["W"], mask)


def test_a_gradient_for_a_padded_row_is_caught_and_called_so():
    def backward(dy, cache):
        x, a, W, mask = cache
        da = dy * (1 - a * a)  # forgot the mask: padded steps get a gradient
        return da @ W, {"W": np.einsum("nth,ntd->hd", da * mask[:, :, None], x)}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((2, 3, 2)), {"W": r.standard_normal((2, 2))}
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    with pytest.raises(AssertionError) as failed:
        assert_close(check_layer(masked_forward, backward, [x], p, mask=mask))
    message = str(failed.value)
    assert "x: worst at [1, " in message
    assert "do not depend on" in message and "padded" in message
    assert "W:" not in message


def test_a_dx_of_the_wrong_shape_is_named_before_any_finite_differences():
    calls = []

    def forward(x, p):
        calls.append(1)
        return linear_forward(x, p)

    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx.reshape(-1), dp

    inputs, p = linear_case()
    with pytest.raises(
        ValueError, match=r"check_layer: the gradient of x has shape \(12,\).*\(4, 3\)"
    ):
        check_layer(forward, backward, inputs, p)
    assert len(calls) == 1  # refused before the slow part


def test_a_bias_gradient_not_summed_over_the_batch_is_named():
    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, dp | {"b": dy}

    inputs, p = linear_case()
    with pytest.raises(ValueError, match=r"gradient of b has shape \(4, 3\).*\(3,\).*sum"):
        check_layer(linear_forward, backward, inputs, p)


def test_a_forgotten_parameter_gradient_is_named_not_a_key_error():
    inputs, p = linear_case()

    def no_b(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, {"W": dp["W"]}

    with pytest.raises(ValueError, match=r"no gradient for parameter 'b'.*same keys as params"):
        check_layer(linear_forward, no_b, inputs, p)

    def misspelt(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, {"W": dp["W"], "B": dp["b"]}

    with pytest.raises(ValueError, match=r"'B', which params does not have"):
        check_layer(linear_forward, misspelt, inputs, p)

    with pytest.raises(ValueError, match=r"returned one array.*\(\*dinputs, dparams\)"):
        check_layer(linear_forward, lambda dy, c: linear_backward(dy, c)[0], inputs, p)


def test_a_backward_that_writes_into_its_cache_is_caught_and_the_field_named():
    """Right gradients, but the second backward pass on the same cache (a check, gradient
    accumulation) would not be: pure functions leave their cache as they found it."""
    from typing import NamedTuple

    class Cache(NamedTuple):
        x: np.ndarray
        a: np.ndarray
        W: np.ndarray
        mask: np.ndarray

    def forward(x, p, mask):
        y, (x, a, W, mask) = masked_forward(x, p, mask)
        return y, Cache(x, a, W, mask)

    def backward(dy, cache):
        cache.a[...] = dy * (1 - cache.a**2) * cache.mask[:, :, None]  # reuses a's buffer
        da = cache.a
        return da @ cache.W, {"W": np.einsum("nth,ntd->hd", da, cache.x)}

    r = np.random.default_rng(0)
    x, p, mask = r.standard_normal((2, 3, 2)), {"W": r.standard_normal((2, 2))}, np.ones((2, 3))
    with pytest.raises(ValueError, match=r"backward changed cache\.a in place"):
        check_layer(forward, backward, [x], p, mask=mask)


def test_a_backward_that_writes_into_an_input_or_dout_is_named():
    """x *= 0 in backward zeroes the caller's x (cached by reference), after which the finite
    differences blamed dW, which was right; dy *= 2 corrupts the caller's gradient."""

    def zeroes_x(dy, cache):
        x, W = cache
        dW = dy.T @ x
        x *= 0
        return dy @ W, {"W": dW, "b": dy.sum(axis=0)}

    inputs, p = linear_case()
    with pytest.raises(ValueError, match=r"backward changed the input x in place"):
        check_layer(linear_forward, zeroes_x, inputs, p)

    def scales_dy(dy, cache):
        dy *= 1.0 + 1e-3
        return linear_backward(dy / (1.0 + 1e-3), cache)

    inputs, p = linear_case()
    with pytest.raises(ValueError, match=r"backward changed its upstream gradient dout\[0\]"):
        check_layer(linear_forward, scales_dy, inputs, p)


def test_a_parameter_gradient_taken_from_padded_steps_is_called_so():
    """A weight's finite differences are not 0 on padding (the real steps use it too), so only
    backward run again on upstream gradients zeroed on the mask's padding can tell the leak."""

    def backward(dy, cache):
        x, a, W, mask = cache
        da = dy * (1 - a * a)  # the mask forgotten, for dW as well as dx
        return da @ W, {"W": np.einsum("nth,ntd->hd", da, x)}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((2, 3, 2)), {"W": r.standard_normal((2, 2))}
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    with pytest.raises(AssertionError) as failed:
        assert_close(check_layer(masked_forward, backward, [x], p, mask=mask))
    [w_line] = [s for s in str(failed.value).splitlines() if s.startswith("  W:")]
    assert "lets gradient in through padding (multiply dy by the mask)" in w_line


def test_one_wrong_number_gets_no_guess_of_a_sign_or_a_factor():
    """Any two numbers differ by a factor: a guess from one entry would send the learner
    looking for a missing constant that is not there."""

    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, dp | {"b": dp["b"] + 1.0}

    inputs, p = linear_case(D=2, H=1)
    with pytest.raises(AssertionError) as failed:
        assert_close(check_layer(linear_forward, backward, inputs, p))
    assert "b: worst at [0]" in str(failed.value)
    assert "times the right gradient" not in str(failed.value)
    assert "wrong sign" not in str(failed.value)


def test_a_right_layer_norm_of_nearly_equal_values_passes():
    """Layer norm over two values 0.05 apart bends sharply within a few h = 1e-3 (the spread is
    their scale), so the differences at h are off by more than 1e-7; at h / 10 they are not. A
    learner's right layer failed about one hypothesis case in 17 that way."""

    def backward(dy, cache):
        xhat, inv, g = cache
        dxhat = dy * g
        mean = dxhat.mean(axis=-1, keepdims=True)
        dx = inv * (dxhat - mean - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
        return dx, {"g": (dy * xhat).sum(axis=0)}

    x, p = np.array([[0.3, 0.35]]), {"g": np.array([1.0, -0.5])}
    assert_close(check_layer(layer_norm_forward, backward, [x], p))


def test_a_gradient_right_to_four_digits_is_not_called_a_factor():
    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx * (1 + 1e-6), dp

    inputs, p = linear_case()
    with pytest.raises(AssertionError, match="x: .*agrees to within 1e-4: a tiny term missing"):
        assert_close(check_layer(linear_forward, backward, inputs, p))


def test_a_step_with_a_mask_per_row_gets_the_padding_note_too():
    """A decoder step's mask is (N,): h = m * tanh(x W^T) for one step."""

    def forward(x, p, mask):
        a = np.tanh(x @ p["W"].T)
        return mask[:, None] * a, (x, a)

    def backward(dy, cache):
        x, a = cache
        da = dy * (1 - a * a)  # the mask forgotten
        return da @ p["W"], {"W": da.T @ x}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((3, 2)), {"W": r.standard_normal((2, 2))}
    with pytest.raises(AssertionError, match=r"W: .*lets gradient in through padding"):
        assert_close(check_layer(forward, backward, [x], p, mask=np.array([1.0, 0.0, 1.0])))


def test_the_finer_step_cannot_pass_a_wrong_gradient_by_its_rounding_noise():
    """dw off by 4e-7 of itself, with outputs near 1e5: the loss's rounding (~1e-11) over the
    step is ~1e-7 of dw at h, 10 times that at h / 10. Keeping whichever differences came
    closer to backward passed this wrong dw at seed 32; a finer step is used only when a
    finer one still confirms it, which noise cannot."""

    def forward(x, p):
        return x * p["w"] + 1e5, (x, p["w"])

    def backward(dy, cache):
        x, w = cache
        return dy * w, {"w": (dy * x).sum(axis=0) * (1 + 4e-7)}

    passed = []
    for seed in range(40):
        r = np.random.default_rng(seed)
        x, p = r.standard_normal((50, 1)), {"w": r.standard_normal(1)}
        if check_layer(forward, backward, [x], p)["w"] < 1e-7:
            passed.append(seed)
    assert passed == []


def test_a_float32_gradient_is_named_not_passed():
    """float32 rounds to ~6e-8 of each entry, under the 1e-7 tolerance: a backward pass that
    returned float32 gradients passed the float64 check."""

    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, dp | {"W": dp["W"].astype(np.float32)}

    inputs, p = linear_case()
    with pytest.raises(ValueError, match=r"gradient of W is float32, but W is float64"):
        check_layer(linear_forward, backward, inputs, p)


class ScaleModel:
    """loss = sum(w * batch), the least a model needs to be checked by check_model."""

    def __init__(self, grads_of):
        self.params, self.grads_of = {"w": np.arange(3.0)}, grads_of

    def _predict(self, out):
        return out

    def loss(self, batch, rng=None, **opts):
        return float((self.params["w"] * batch).sum())

    def loss_and_grads(self, batch, rng=None, **opts):
        return self.loss(batch), self.grads_of(batch)


def test_check_model_names_a_missing_key_and_a_float32_gradient_before_the_differences():
    from minis2s.gradcheck import check_model

    batch = np.array([1.0, -2.0, 0.5])
    assert max(check_model(ScaleModel(lambda b: {"w": b.copy()}), batch).values()) < 1e-7
    with pytest.raises(ValueError, match=r"check_model: backward returned no gradient for .*'w'"):
        check_model(ScaleModel(lambda b: {}), batch)
    with pytest.raises(ValueError, match=r"check_model: the gradient of w is float32"):
        check_model(ScaleModel(lambda b: {"w": b.astype(np.float32)}), batch)


def test_a_bias_gradient_summed_with_keepdims_is_not_told_to_sum():
    """dy.sum(axis=0, keepdims=True) has the sum; only its size-1 axis is extra (a batch of 1
    not summed over looks the same, so the hint names both)."""

    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        return dx, dp | {"b": dy.sum(axis=0, keepdims=True)}

    inputs, p = linear_case()
    with pytest.raises(ValueError, match=r"gradient of b has shape \(1, 3\)") as refused:
        check_layer(linear_forward, backward, inputs, p)
    assert "keepdims=True" in str(refused.value)
    assert "sum over the leading, batch, axes missing" not in str(refused.value)


def test_a_gradient_rounded_by_float32_on_the_way_is_told_it_may_be_float32():
    """Cast back to float64, a float32 product has the right dtype and is right to ~1e-6: the
    few-digits line must name float32 beside a missing term."""

    def backward(dy, cache):
        dx, dp = linear_backward(dy, cache)
        x, _ = cache
        dW = (dy.T.astype(np.float32) @ x.astype(np.float32)).astype(np.float64)
        return dx, dp | {"W": dW}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((200, 3)), {"W": r.standard_normal((3, 3)), "b": np.zeros(3)}
    with pytest.raises(AssertionError, match=r"W: .*agrees to within 1e-4.*float32"):
        assert_close(check_layer(linear_forward, backward, [x], p))


def test_a_time_major_gradient_is_told_to_transpose_not_to_reshape():
    """dx as (T, N, D) for an x of (N, T, D): a reshape would give the shape and scramble the
    entries; the axes are what is out of order."""

    def forward(x, p):  # y = x * w over the last axis: x (N, T, D)
        return x * p["w"], (x, p["w"])

    def backward(dy, cache):
        x, w = cache
        return (dy * w).transpose(1, 0, 2), {"w": (dy * x).sum(axis=(0, 1))}

    r = np.random.default_rng(0)
    x, p = r.standard_normal((2, 3, 4)), {"w": r.standard_normal(4)}
    with pytest.raises(ValueError, match=r"gradient of x has shape \(3, 2, 4\)") as refused:
        check_layer(forward, backward, [x], p)
    assert "axes in another order" in str(refused.value) and "reshape" not in str(refused.value)

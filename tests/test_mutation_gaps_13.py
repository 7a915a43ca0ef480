"""Mutation pass over the code behind "every gradient proven", and the optimizers: gradcheck.py,
gradcheck_differences.py, gradcheck_faults.py, gradcheck_blocks.py, gradcheck_sampled.py,
validate.py, train/optim.py, optim_base.py, _optim_checks.py, frozen_embeddings.py, and
interop.py and evaluation.py. Each
test kills a hand-made mutant that the suite let live, named in its docstring; the gradient
checks' mutants first, those that let a wrong gradient pass. Every expected value is worked out
by hand or by NumPy (the optimizers' steps written out from their equations), never by the code
under test."""

from __future__ import annotations

import numpy as np
import pytest

from minis2s import interop, scoring
from minis2s.api import Translation, Translator
from minis2s.data.vocab import Vocab
from minis2s.gradcheck import assert_close, check_layer, check_model, rel_error
from minis2s.gradcheck_differences import compared
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.optim import SGD, Adagrad, Adam, AdamW
from tests import times_w

# --- gradcheck: a wrong gradient must fail ------------------------------------------------------


def _times_w():
    """tests/times_w.py's y = x * w (elementwise), a layer whose gradients are known by hand:
    dx = dy * w, dw = sum over rows of dy * x; its arguments from seed 5."""
    x, w = times_w.arguments(5)
    return times_w.forward, times_w.backward, x, {"w": w}


def test_a_backward_pass_of_all_zeros_fails():
    """Kills `rel_error: scale = max(max|b|, floor)` (the finite differences' own scale, |a|,
    left out): a backward pass returning zeros for every block made the scale 0 (its largest
    gradient, so the floor too, is 0) and every error 0 / 0 := 0, a pass. The error of the
    differences [1, -2] against zeros is 2 / 2 = 1."""
    assert rel_error(np.array([1.0, -2.0]), np.zeros(2)) == 1.0
    forward, backward, x, p = _times_w()

    def zeros(dy, cache):
        dx, dp = backward(dy, cache)
        return np.zeros_like(dx), {"w": np.zeros_like(dp["w"])}

    errors = check_layer(forward, zeros, [x], p)
    assert errors == {"x": 1.0, "w": 1.0}
    with pytest.raises(AssertionError, match="gradient check failed"):
        assert_close(errors)


def test_a_small_block_is_checked_to_1e_10_of_the_largest_gradient():
    """Kills `FLOOR = 1e-2` (for 1e-3): a block is judged on at least 1e-3 x the largest gradient
    of the check (block_errors' docstring: an absolute error of ~1e-10 where the largest is ~1),
    so a block of size 1e-3 off by 3e-10 shows 3e-10 / 1e-3 = 3e-7 and fails; on a floor of 1e-2
    it showed 3e-8 and passed. Here x's gradient, dy * w, has entries near 1 and w's, the rows'
    sum of dy * x, is scaled to 1e-3 by x."""
    forward, backward, x, p = _times_w()
    x = x * 1e-3 / np.abs(x).max()  # dw ~ 1e-3, dx ~ 1

    def off(dy, cache):
        dx, dp = backward(dy, cache)
        return dx, {"w": dp["w"] + 3e-10 * np.abs(dp["w"]).max() / 1e-3}

    errors = check_layer(forward, off, [x], p)
    assert errors["x"] < 1e-12
    assert 1e-7 < errors["w"]
    with pytest.raises(AssertionError, match="'w'"):
        assert_close(errors)


def test_a_block_wrong_at_h_over_10_too_is_not_differenced_a_third_time():
    """Kills finer_if_needed without its `if not rel_error(finer, dx, floor) < TOLERANCE: return
    numeric` (a wrong block's verdict is the same; it cost a third round of differences): a
    block that fails at h and at h / 10 takes 4 evaluations per entry at each, 2 x 4 x 3 = 24
    for 3 entries, not 36."""
    x, calls = np.array([0.3, -1.2, 2.0]), []

    def loss():
        calls.append(1)
        return float((np.sin(x) * x).sum())

    wrong = 1.01 * (np.cos(x) * x + np.sin(x))
    errors = compared(loss, [("x", x, wrong)], 1e-3)
    assert errors["x"] > 1e-3
    assert len(calls) == 24


def test_rel_error_of_empty_blocks_is_zero():
    """Kills rel_error without its `if a.size == 0: return 0.0`: a block with no entries (a layer
    of N = 0 rows, a parameter of size 0) has nothing wrong, and max over no entries raised
    ValueError ("zero-size array to reduction operation")."""
    assert rel_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    assert rel_error(np.zeros(0), np.zeros(0), floor=1.0) == 0.0


def test_a_loss_backward_that_ignores_its_upstream_gradient_fails():
    """Kills `random_like: return 1.0` for a scalar output (a loss): with an upstream gradient of
    1, a loss layer whose backward returns dL/dx and drops dloss, the product the chain rule
    asks for, looked right. L = sum x^2 has dL/dx = 2x; with dloss drawn at random the check
    sees the factor missing."""

    def forward(x):
        return float((x * x).sum()), x

    def backward(dloss, x):
        return 2 * x  # should be dloss * 2 * x

    x = np.random.default_rng(0).standard_normal((3, 2))
    assert check_layer(forward, lambda d, c: d * backward(d, c), [x], None)["x"] < 1e-9
    with pytest.raises(AssertionError, match="'x'"):
        assert_close(check_layer(forward, backward, [x], None))


def test_sampling_the_parameters_still_checks_every_entry_of_the_inputs():
    """Kills `check_layer(entries=k): inputs_named = set()` (the inputs sampled like the
    parameters): with entries, the inputs are still checked entry by entry (its docstring), so
    one entry of dx 10% off among 4 x 3 is found whatever the seed; sampled on 1 entry and no
    directions it was missed on most seeds."""
    forward, backward, x, p = _times_w()

    def one_wrong(dy, cache):
        dx, dp = backward(dy, cache)
        dx = dx.copy()
        dx[2, 1] *= 1.1
        return dx, dp

    for seed in range(6):
        errors = check_layer(forward, one_wrong, [x], p, seed=seed, entries=1, directions=0)
        assert errors["x"] > 1e-4, seed
        assert errors.notes["x"] == "; every entry checked (flattened)"


def test_check_layer_samples_two_directions_by_default():
    """Kills check_layer's `directions: int = 0` default (for 2): with entries=1 a parameter is
    checked on 1 entry and, by default, 2 random directions through all of it; w has 3 entries,
    no more than 1 + 2, so it is checked whole and its wrong entry found on every seed, where 1
    entry drawn of 3 missed it on some."""
    forward, backward, x, p = _times_w()

    def one_wrong(dy, cache):
        dx, dp = backward(dy, cache)
        return dx, {"w": dp["w"] * np.array([1.0, 1.0, 1.1])}

    for seed in range(6):
        errors = check_layer(forward, one_wrong, [x], p, seed=seed, entries=1)
        assert errors["w"] > 1e-4, seed


def test_check_model_steps_by_1e_3_by_default():
    """Kills check_model's `h: float = 2e-3` default (for check_layer's 1e-3; check_model has no
    retry at h / 10): the stencil's error on sin(22 w) is (22 h)^4 / 30 of the derivative at
    w = 0, 8e-9 at h = 1e-3 and 1.2e-7, above the tolerance, at 2e-3."""

    class Sine:
        params = {"w": np.array([0.0, 0.05])}

        def _predict(self, out):
            return out

        def loss(self, batch, rng=None, **opts):
            return float(np.sin(22 * self.params["w"]).sum())

        def loss_and_grads(self, batch, rng=None, **opts):
            return self.loss(batch), {"w": 22 * np.cos(22 * self.params["w"])}

    assert (22e-3) ** 4 / 30 < 1e-8 and (44e-3) ** 4 / 30 > 1.2e-7
    assert_close(check_model(Sine(), None))


def test_check_layer_refuses_a_sample_of_no_entries():
    """Kills check_layer without `validate.integer(..., entries, 1)`: entries=0 with
    directions=0 compared no value of any parameter and passed whatever its gradient."""
    forward, backward, x, p = _times_w()

    def wrong_w(dy, cache):
        dx, dp = backward(dy, cache)
        return dx, {"w": -dp["w"]}

    for entries in (0, -1, 1.5):
        with pytest.raises(ValueError, match=r"check_layer: entries .* must be"):
            check_layer(forward, wrong_w, [x], p, entries=entries, directions=0)


def test_check_layer_refuses_a_negative_or_fractional_count_of_directions():
    """Kills check_layer without `validate.integer(..., directions, 0)`: directions=-1 drew no
    direction without a word (range(-1) is empty), and 1.5 failed inside NumPy's range."""
    forward, backward, x, p = _times_w()
    for directions in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"check_layer: directions .* must be"):
            check_layer(forward, backward, [x], p, entries=1, directions=directions)


class Quadratic:
    """loss = sum(c * w^2) + sum(v^3): a model check_model can check, whose gradients are
    2 c w and 3 v^2; `wrong` puts the gradient of one entry off by a factor."""

    def __init__(self, wrong=None, shape_of_v=None):
        r = np.random.default_rng(3)
        self.params = {"w": r.standard_normal((3, 4)), "v": r.standard_normal(5)}
        self.c = r.standard_normal((3, 4))
        self.wrong, self.shape_of_v = wrong, shape_of_v

    def _predict(self, out):
        return out

    def loss(self, batch, rng=None, **opts):
        w, v = self.params["w"], self.params["v"]
        return float((self.c * w * w).sum() + (v**3).sum())

    def loss_and_grads(self, batch, rng=None, **opts):
        w, v = self.params["w"], self.params["v"]
        grads = {"w": 2 * self.c * w, "v": 3 * v * v}
        if self.wrong is not None:
            name, at = self.wrong
            grads[name][at] *= 1.001
        if self.shape_of_v is not None:
            grads["v"] = np.resize(grads["v"], self.shape_of_v)
        return self.loss(batch), grads


def test_check_model_fails_a_wrong_gradient():
    """Kills `check_model: return block_errors(numeric, numeric)` (the finite differences
    compared with themselves): check_model entry by entry passed every model. One entry of w's
    gradient 0.1% off must show an error near 1e-3 x that entry / the largest of w's."""
    assert_close(check_model(Quadratic(), None))
    model = Quadratic(wrong=("w", (1, 2)))
    dw = 2 * model.c * model.params["w"]
    want = 1e-3 * abs(dw[1, 2]) / max(np.abs(dw).max(), 1.001 * abs(dw[1, 2]))
    errors = check_model(model, None)
    assert errors["w"] == pytest.approx(want, rel=1e-4)
    assert errors["v"] < 1e-9
    with pytest.raises(AssertionError, match="'w'"):
        assert_close(errors)


def test_check_model_checks_every_entry_of_the_parameters_named_so():
    """Kills `check_model: _sampled_errors(..., (r, entries, directions, set()))` (every_entry
    dropped): a parameter named in every_entry is checked entry by entry, so one wrong entry of
    w among 12 is found on every seed, where 1 entry drawn and no directions miss it on most."""
    for seed in range(6):
        model = Quadratic(wrong=("w", (2, 3)))
        errors = check_model(model, None, seed=seed, entries=1, directions=0, every_entry=["w"])
        assert errors["w"] > 1e-5, seed
        assert errors.notes["w"] == "; every entry checked (flattened)"


def test_check_model_refuses_an_every_entry_name_it_does_not_have():
    """Kills check_model without its `if unknown:` refusal: a misspelt name in every_entry left
    that parameter sampled without a word."""
    with pytest.raises(ValueError, match=r"every_entry names \['W'\], not parameters.*'w', 'v'"):
        check_model(Quadratic(), None, entries=1, every_entry=["W"])


def test_check_model_names_a_gradient_of_the_wrong_shape():
    """Kills check_model without its check_shape loop: a gradient of another shape reached
    rel_error, whose "shapes differ" names no parameter and gives no hint."""
    with pytest.raises(ValueError, match=r"check_model: the gradient of v has shape \(1, 5\)"
                       r".*extra leading axes of size 1"):  # fmt: skip
        check_model(Quadratic(shape_of_v=(1, 5)), None)


def test_the_finer_step_is_trusted_only_where_h_over_100_confirms_it_to_the_tolerance():
    """Kills finer_if_needed with `rel_error(finer, finest, floor) < 10 * TOLERANCE`: the
    differences at h / 10 stand in for those at h only where those at h / 100 agree with them
    to TOLERANCE. f(x) = sin(100 x) + A sin(2 pi x / P), P = 1e-4: sin(100 x) bends too sharply
    for h = 1e-3 (an error of (100 h)^4 / 30 ~ 3e-6), and the ripple, invisible on the grids of
    h and h / 10 (multiples of its period), has a derivative 2 pi A / P at x = 0.3 (its phase
    2 pi x / P, a multiple of 2 pi), 3e-7 of f'. A backward pass that leaves it out is wrong by
    3e-7: only h / 100 sees that, and the finer differences must not be taken on its word (at
    h / 10 they match it to ~3e-10). The right gradient cannot be proven here either (h / 10
    misses the ripple): the check must fail, not pass the wrong one."""
    x, k, P = np.array([0.3]), 100.0, 1e-4
    smooth = k * np.cos(k * x)  # the derivative of sin(100 x) alone
    A = 3e-7 * abs(smooth[0]) * P / (2 * np.pi)  # the ripple's slope, 3e-7 of it

    def loss():
        return float(np.sin(k * x[0]) + A * np.sin(2 * np.pi * x[0] / P))

    assert compared(loss, [("x", x, smooth)], 1e-3)["x"] >= 1e-7


def test_a_small_block_that_bends_sharply_passes_at_h_over_10_on_the_checks_floor():
    """Kills compared passing `floor=0.0` to finer_if_needed (for the check's floor): a right
    block far below the largest gradient that h = 1e-3 is too coarse for must be judged at
    h / 10 as it is at h, on FLOOR x the largest gradient. y2 = c sin(300 z), c = 1e-5 / 300:
    the stencil's error at h is (300 h)^4 / 30 ~ 3e-4 of dz (~1e-5), ~3e-6 of the floor (~2e-3)
    and fails; at h / 10 it is ~3e-8 of dz. On dz's own scale the rounding of the differences at
    h / 100 (~1e-16 |L| / 1e-5) is ~1e-6 of it, so h / 100 could not confirm h / 10 and the
    right gradient failed."""
    k, c = 300.0, 1e-5 / 300.0

    def forward(x, z):
        return x, c * np.sin(k * z), (z,)

    def backward(dy1, dy2, cache):
        (z,) = cache
        return dy1, dy2 * c * k * np.cos(k * z)

    r = np.random.default_rng(6)
    x, z = r.standard_normal(4), r.standard_normal(4)
    errors = check_layer(forward, backward, [x, z], None)
    assert errors["x"] < 1e-10 and errors["z"] < 1e-7


# --- gradcheck: what a failing check says ---------------------------------------------------------


def test_a_backward_that_writes_into_an_array_of_a_dict_in_its_cache_is_named():
    """Kills arrays_in without its dict branch: a cache holding a dict of arrays of its own
    (not the inputs or parameters, snapshotted apart) went unchecked, so a backward pass that
    scaled one of them in place passed, and a second call on the cache gave other gradients."""
    _, _, x, p = _times_w()

    def forward_dict(x, p):
        return x * p["w"], {"w": p["w"].copy(), "x": x.copy()}

    def backward_writes(dy, cache):
        dx, dw = dy * cache["w"], (dy * cache["x"]).sum(axis=0)
        cache["x"] *= 2.0
        return dx, {"w": dw}

    with pytest.raises(ValueError, match=r"backward changed cache\['x'\] in place"):
        check_layer(forward_dict, backward_writes, [x], p)


def test_a_gradient_of_the_wrong_sign_is_called_so():
    """Kills `_guess: if close(n)` (for close(-n)): a backward pass that returns -dL/dw fails,
    and the line under it says the sign is wrong."""
    forward, backward, x, p = _times_w()

    def minus(dy, cache):
        dx, dp = backward(dy, cache)
        return dx, {"w": -dp["w"]}

    errors = check_layer(forward, minus, [x], p)
    assert errors["w"] == pytest.approx(2.0, rel=1e-9)  # |-g - g| / |g| at the largest entry
    with pytest.raises(AssertionError, match=r"w: worst at .*Backward has the wrong sign"):
        assert_close(errors)


def test_a_float_gradient_for_an_integer_input_is_named_so():
    """Kills check_dtype without its first refusal (an input of integers given a gradient): it
    met the second, "the gradient of x is float64, but x is int64", which says to match the
    dtypes, where the fix is to give that input as floats (or None for token ids)."""
    forward, backward, _, p = _times_w()
    x = np.arange(12).reshape(4, 3)  # int64, where np.arange(12.0) was meant

    def float_dx(dy, cache):
        dx, dp = backward(dy, cache)
        return dx.astype(np.float64), dp

    with pytest.raises(ValueError, match=r"x is int64, yet backward gave it a gradient"):
        check_layer(forward, float_dx, [x], p)


def test_a_backward_with_too_few_input_gradients_is_named():
    """Kills split_grads without its count of input gradients: a backward pass of a layer of two
    inputs that returns one (dx, dparams) met zip(strict=True) deep in blocks_of, whose error
    names neither the layer nor the count."""

    def forward(x, y, p):
        return x * y * p["w"], (x, y, p["w"])

    def backward(dz, cache):
        x, y, w = cache
        return dz * y * w, {"w": (dz * x * y).sum(axis=0)}

    r = np.random.default_rng(1)
    x, y, p = r.standard_normal((2, 3)), r.standard_normal((2, 3)), {"w": r.standard_normal(3)}
    with pytest.raises(ValueError, match="backward returned 1 input gradients for 2 inputs"):
        check_layer(forward, backward, [x, y], p)


def test_a_gradient_of_a_tuple_input_in_another_structure_is_named():
    """Kills paired without its structure check: the gradient of an input (h0, c0) given as a
    tuple of one array met zip(strict=True) with no name, and given as one stacked array of
    shape (2, N, H) was read row by row as if it were the tuple."""

    def forward(s, p):
        h, c = s
        return h * p["w"] + c, (p["w"],)

    def backward(dy, cache):
        (w,) = cache
        return (dy * w, dy), {"w": np.zeros_like(w)}

    r = np.random.default_rng(2)
    s, p = (r.standard_normal((2, 3)), r.standard_normal((2, 3))), {"w": np.zeros(3)}
    for bad in (lambda d: (d[0],), lambda d: np.stack(d)):

        def wrong(dy, cache, bad=bad):
            (ds, dp) = backward(dy, cache)
            return bad(ds), dp

        with pytest.raises(ValueError, match=r"the gradient of s does not match its structure"):
            check_layer(forward, wrong, [s], p)


def test_the_wrong_entries_of_a_small_gradient_are_counted_on_its_own_scale():
    """Kills `diagnose: wrong = diff > tol` (for diff >= tol x scale): the entries called wrong
    are those off by tol of the block's scale, not by tol in absolute terms, so one entry 1% off
    in a gradient of size 1e-6 (off by ~1e-8) is named, where an absolute 1e-7 named none."""

    def forward(x):
        return 1e-6 * x, None

    def backward(dy, cache):
        dx = 1e-6 * dy
        dx[1, 2] *= 1.01
        return dx

    x = np.random.default_rng(4).standard_normal((2, 4))
    with pytest.raises(AssertionError, match=r"wrong in 1 of 8 entries: \[1, 2\]"):
        assert_close(check_layer(forward, backward, [x], None))


# --- gradcheck_sampled ----------------------------------------------------------------------------


def test_a_parameter_of_entries_plus_directions_values_is_checked_entry_by_entry():
    """Kills `sampled: every = n < entries + directions` and `every = n <= entries` (for
    n <= entries + directions): a parameter with no more entries than the sample's passes is
    checked entry by entry, as many passes as the sample and no weaker. Quadratic's v has 5
    entries: with 3 entries and 2 directions it is checked whole; w, of 12, is sampled."""
    model = Quadratic(wrong=("v", (4,)))
    for seed in range(4):
        errors = check_model(model, None, seed=seed, entries=3, directions=2)
        assert errors.notes["v"] == "; every entry checked (flattened)"
        assert errors.notes["w"].startswith("; sampled: positions 0-2 are entries [")
        assert errors["v"] > 1e-5, seed


# --- train/optim.py, optim_base.py, _optim_checks.py ----------------------------------------------


def test_adamw_refuses_a_step_whose_decay_factor_is_not_positive():
    """Kills AdamW.step without its `check_decay` and `check_decay: lr * weight_decay > 1` (for
    >= 1): a schedule sets lr between steps, so each step checks the factor 1 - lr x
    weight_decay the weights are multiplied by: at lr = 1, weight_decay = 1 it is 0 (every
    weight zeroed), at lr = 2 it is -1 (every sign flipped); both refused, the weights untouched.
    Below 1 the step is taken: 1 - 0.5 x 1 = 0.5, and Adam's first step moves each weight by
    lr x g / (|g| + eps) = 0.5 x sign(g), up to eps."""
    for lr in (1.0, 2.0):
        p = {"w": np.array([1.0, -2.0])}
        opt = AdamW(p, lr=0.1, weight_decay=1.0)
        opt.lr = lr
        with pytest.raises(ValueError, match=r"AdamW: lr \* weight_decay = .* >= 1"):
            opt.step(p, {"w": np.array([0.5, 0.5])})
        np.testing.assert_array_equal(p["w"], [1.0, -2.0])
    p = {"w": np.array([1.0, -2.0])}
    opt = AdamW(p, lr=0.5, weight_decay=1.0)
    opt.step(p, {"w": np.array([0.5, -0.5])})
    np.testing.assert_allclose(p["w"], [0.5 - 0.5, -1.0 + 0.5], atol=1e-7)


def test_adam_refuses_a_negative_beta():
    """Kills check_betas without `0 <= b`: a negative beta1 makes m_t alternate in sign with
    the steps, and a negative beta2 can make v_t (a mean of squares) negative, whose square root
    is NaN; both refused as betas outside [0, 1)."""
    p = {"w": np.ones(2)}
    for betas in ((-0.1, 0.999), (0.9, -0.5)):
        with pytest.raises(ValueError, match=r"Adam: betas must be two numbers in \[0, 1\)"):
            Adam(p, betas=betas)


def test_adagrad_refuses_an_accumulator_just_beyond_float32():
    """Kills check_range with `accumulator > 2 x largest`: float32's largest number is about
    3.40e38, so an initial accumulator of 4e38 is inf as a float32 scalar (every step then
    g / inf = 0); it is refused for float32 parameters and taken for float64 ones."""
    assert 4e38 > float(np.finfo(np.float32).max)
    with pytest.raises(ValueError, match="initial_accumulator_value=4e[+]38 is beyond float32"):
        Adagrad({"w": np.ones(2, np.float32)}, initial_accumulator_value=4e38)
    Adagrad({"w": np.ones(2)}, initial_accumulator_value=4e38)


def test_load_state_dict_refuses_a_key_it_does_not_know():
    """Kills load_state_dict's `if missing or extra:` cut to `if missing:`: a state of another
    model (one parameter more) was taken without a word, its extra arrays dropped."""
    opt = SGD({"w": np.ones(2)}, lr=0.1, momentum=0.9)
    state = opt.state_dict() | {"momentum_buffer/v": np.zeros(3)}
    with pytest.raises(ValueError, match=r"unexpected keys \['momentum_buffer/v'\]"):
        opt.load_state_dict(state)


def test_load_state_dict_copies_the_state_it_is_given():
    """Kills load_state_dict binding the given arrays (`self.state[s][k] = v`, for a[...] = v):
    np.asarray of a float64 array is that array, so later steps wrote into the caller's dict (a
    checkpoint's arrays, read again to resume elsewhere). With momentum 0.5, lr 0.1, a buffer b
    loaded as [1, 1] and g = [2, 4]: b becomes 0.5 b + g = [2.5, 4.5] and w = 1 - 0.1 b =
    [0.75, 0.55], and the dict still holds [1, 1]."""
    p = {"w": np.ones(2)}
    opt = SGD(p, lr=0.1, momentum=0.5)
    state = {"step": 3, "lr": 0.1, "momentum_buffer/w": np.ones(2)}
    opt.load_state_dict(state)
    opt.step(p, {"w": np.array([2.0, 4.0])})
    np.testing.assert_array_equal(state["momentum_buffer/w"], [1.0, 1.0])
    np.testing.assert_allclose(opt.state["momentum_buffer"]["w"], [2.5, 4.5], rtol=1e-15)
    np.testing.assert_allclose(p["w"], [0.75, 0.55], rtol=1e-15)


# --- interop.py -----------------------------------------------------------------------------------


def test_to_torch_linear_and_embedding_copy_the_arrays():
    """Kills to_torch_linear and to_torch_embedding without np.array(...) (to_numpy of a NumPy
    array is that array): the module docstring says arrays are copied, and a state dict sharing
    the model's arrays changed as the model trained on."""
    W, b = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0])
    state = interop.to_torch_linear({"W": W, "b": b}) | interop.to_torch_embedding({"W": W}, "e.")
    for key, source in (("weight", W), ("bias", b), ("e.weight", W)):
        assert not np.shares_memory(state[key], source), key
        np.testing.assert_array_equal(state[key], source)
    W += 1.0
    np.testing.assert_array_equal(state["weight"], np.arange(6.0).reshape(2, 3))


# --- evaluation.py --------------------------------------------------------------------------------


def _digits(tokenizer: str = "char") -> Translator:
    v = Vocab("0123456789")
    model = Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4), seed=0)
    return Translator(model, v, v, tokenizer)


def _translation(tokens: list[str], src: list[str]) -> Translation:
    return Translation("".join(tokens), tokens, 0.0, 0.0, src, None, True)


def test_a_translation_of_another_pairs_source_is_refused():
    """Kills _check_sources without `list(got) != want`: translations in another order than the
    pairs (here swapped) were scored against the wrong references without a word."""
    tr, pairs = _digits(), [("12", "21"), ("3", "3")]
    swapped = [_translation(["3"], ["3"]), _translation(["2", "1"], ["1", "2"])]
    with pytest.raises(ValueError, match=r"translations\[0\] translates '3', but pairs\[0\]'s "
                       r"source is '12'"):  # fmt: skip
        tr.evaluate_translations(pairs, swapped)
    right = tr.evaluate_translations(pairs, swapped[::-1], bleu=False)
    assert right["exact_match"] == 1.0 and right["token_accuracy"] == 1.0


def test_an_empty_or_blank_reference_is_refused_before_decoding(monkeypatch):
    """Kills _check_references without its `ref == ""` refusal, without its refusal of a
    reference of no tokens, and evaluate without calling it before the decoding: an empty
    output matched an empty reference exactly, and the refusal came after minutes of decoding
    (here translate fails the test if it is called)."""
    tr, word = _digits(), _digits("word")
    monkeypatch.setattr(Translator, "translate", lambda *a, **k: pytest.fail("decoded first"))
    with pytest.raises(ValueError, match=r"pairs\[1\]'s reference is empty"):
        tr.evaluate([("12", "21"), ("3", "")])
    with pytest.raises(ValueError, match=r"pairs\[0\]'s reference has no word tokens \('  '\)"):
        word.evaluate([("1 2", "  ")])


def test_evaluate_scores_the_references_in_its_batch_size(monkeypatch):
    """Kills `_batch_size: return 64` (evaluate's batch_size ignored past translate): the
    references' teacher-forced figures are taken in the batches the caller asked for, a bound
    on memory as it is for the decoding."""
    seen = []

    def figures(tr, pairs, batch_size):
        seen.append(batch_size)
        return {}

    monkeypatch.setattr(scoring, "reference_figures", figures)
    _digits().evaluate([("12", "21"), ("3", "3")], bleu=False, batch_size=1)
    assert seen == [1]

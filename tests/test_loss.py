"""Softmax cross-entropy: gradient against finite differences and the loss against a direct
computation from the formula, with and without label smoothing, ignore_index, both reductions."""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import linear, loss
from tests.strategies import dims


@st.composite
def loss_case(draw):
    """(logits (N, T, V) or (M, V), targets, options) with some targets set to ignore_index."""
    V = draw(st.integers(1, 5))
    lead = (draw(dims), draw(dims)) if draw(st.booleans()) else (draw(dims),)  # (N, T) or (M,)
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    logits, targets = 2 * r.standard_normal((*lead, V)), r.integers(0, V, lead)
    ignore_index = draw(st.sampled_from([None, 0, -100]))
    if ignore_index is not None:
        targets[r.random(lead) < 0.3] = ignore_index
    options = {
        "ignore_index": ignore_index,
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        "reduction": draw(st.sampled_from(loss.REDUCTIONS)),
    }
    return logits, targets, options


def reference(logits, targets, ignore_index, label_smoothing, reduction):
    """-sum_v q_v log p_v per kept token, q = (1 - eps) one_hot + eps / V, written out."""
    V, eps = logits.shape[-1], label_smoothing
    total, count = 0.0, 0
    for z, t in zip(logits.reshape(-1, V), targets.reshape(-1), strict=True):
        if t == ignore_index:
            continue
        p = np.exp(z) / np.exp(z).sum()  # fine for these small logits
        q = np.full(V, eps / V)
        q[t] += 1 - eps
        total, count = total - (q * np.log(p)).sum(), count + 1
    if reduction == "sum":
        return total
    return total / count if count else 0.0


@given(loss_case())
def test_gradients(case):
    logits, targets, options = case
    assert_close(
        check_layer(loss.forward, loss.backward, [logits], None, targets=targets, **options)
    )


@given(loss_case())
def test_matches_formula(case):
    logits, targets, options = case
    value, _ = loss.forward(logits, targets, **options)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, reference(logits, targets, **options), rtol=1e-12, atol=1e-14)


def test_known_values():
    # Uniform logits: p = 1/V everywhere, so -log p = log V whatever the target or smoothing.
    for eps in (0.0, 0.3):
        t = np.array([[0, 1, 2], [3, 3, 0]])
        value, _ = loss.forward(np.zeros((2, 3, 4)), t, label_smoothing=eps)
        assert value == pytest.approx(np.log(4), rel=1e-15)
    # Logits (log 1, log 3): p = (1/4, 3/4); target 1 -> -log(3/4); eps = 1 -> mean of -log p.
    z = np.log([[1.0, 3.0]])
    assert loss.forward(z, np.array([1]))[0] == pytest.approx(-np.log(0.75), rel=1e-14)
    smoothed = -(np.log(0.25) + np.log(0.75)) / 2
    assert loss.forward(z, np.array([1]), label_smoothing=1.0)[0] == pytest.approx(smoothed)
    # Two tokens, one ignored: mean divides by 1, sum adds only the kept one.
    z2, t2 = np.log([[1.0, 3.0], [5.0, 1.0]]), np.array([1, 7])
    for reduction in loss.REDUCTIONS:
        value, _ = loss.forward(z2, t2, ignore_index=7, reduction=reduction)
        assert value == pytest.approx(-np.log(0.75), rel=1e-14)


def test_all_ignored_gives_zero_not_nan():
    logits, targets = np.ones((2, 3, 5)), np.full((2, 3), 0)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for reduction in loss.REDUCTIONS:
            value, cache = loss.forward(logits, targets, ignore_index=0, reduction=reduction)
            dlogits = loss.backward(1.0, cache)
            assert value == 0.0 and dlogits.shape == (2, 3, 5) and np.all(dlogits == 0)


def test_huge_logits_stay_finite(rng):
    """Shifting the logits by a constant changes nothing; 1e4-sized logits do not overflow."""
    z, t = rng.standard_normal((3, 4, 6)), rng.integers(0, 6, (3, 4))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big, cache = loss.forward(z + 1e4, t, label_smoothing=0.1)
        logp = loss.log_softmax(1e4 * z)
    np.testing.assert_allclose(big, loss.forward(z, t, label_smoothing=0.1)[0], rtol=1e-11)
    assert np.all(np.isfinite(loss.backward(1.0, cache))) and np.all(np.isfinite(logp))
    np.testing.assert_allclose(np.exp(logp).sum(-1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(
        loss.log_softmax(z)[0, 0], np.log(np.exp(z[0, 0]) / np.exp(z[0, 0]).sum())
    )


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("junk", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_ignored_rows_may_hold_nan_and_inf(rng, name, junk):
    """An ignored token's row is dropped by a select, not multiplied by 0: NaN or inf logits
    there add exactly 0 to the loss and to the gradient, on every backend."""
    z, t = rng.standard_normal((3, 4, 6)), rng.integers(1, 6, (3, 4))
    t[0, 2:], t[2, 1] = 0, 0
    dirty = np.where((t == 0)[..., None], junk, z)
    backend.use(name)
    try:
        for options in ({}, {"label_smoothing": 0.1, "reduction": "sum"}):
            want, cache = loss.forward(z, t, ignore_index=0, **options)
            dwant = loss.backward(1.0, cache)
            with np.errstate(invalid="ignore"):  # a row of infs: inf - inf in its log-softmax
                got, cache = loss.forward(dirty, t, ignore_index=0, **options)
            dgot = loss.backward(1.0, cache)
            assert got == want
            np.testing.assert_array_equal(dgot, dwant)
            assert np.all(dgot[t == 0] == 0)
    finally:
        backend.use("numpy")


def test_target_logprobs_are_the_terms_of_the_loss_and_0_where_ignored(rng):
    """log p_y per token, from softmax written out; an ignored token gives exactly 0 even when
    its logits are NaN (a select), and the kept terms sum to minus the "sum" loss."""
    z, t = rng.standard_normal((2, 3, 5)), rng.integers(1, 5, (2, 3))
    t[1, 1:] = 0
    want = np.log(np.exp(z) / np.exp(z).sum(-1, keepdims=True))  # small logits: no overflow
    want = np.take_along_axis(want, t[..., None], -1)[..., 0] * (t != 0)
    dirty = np.where((t == 0)[..., None], np.nan, z)
    got = loss.target_logprobs(dirty, t, ignore_index=0)
    assert got.shape == (2, 3) and np.all(got[t == 0] == 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    total, _ = loss.forward(z, t, ignore_index=0, reduction="sum")
    np.testing.assert_allclose(-got.sum(), total, rtol=1e-13)


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_spread_beyond_the_dtypes_range_gives_minus_inf_without_a_warning(name, dtype):
    """A logit more than the dtype's largest number below its row's maximum has log p = -inf
    (p = 0), the limit, on every backend and with no "overflow" warning; the loss and its
    gradient stay finite."""
    big = np.finfo(dtype).max
    logits = np.array([[big, -big, 0.0], [1.0, 2.0, 3.0]], dtype=dtype)
    be = backend.use(name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            logp = be.kernel("loss.log_softmax", loss.log_softmax)(logits)
            value, cache = loss.forward(logits, np.array([2, 0]))
            dlogits = loss.backward(1.0, cache)
    finally:
        backend.use("numpy")
    np.testing.assert_array_equal(logp[0], np.array([0.0, -np.inf, -big], dtype))
    assert np.isfinite(value) and np.all(np.isfinite(dlogits))
    np.testing.assert_array_equal(dlogits[0], [0.5, 0.0, -0.5])  # (p - onehot) / 2 for y = 2


def test_sum_is_mean_times_count_and_dtype_kept(rng):
    z, t = rng.standard_normal((4, 5)).astype(np.float32), np.array([1, 2, 0, 0])
    mean, _ = loss.forward(z, t, ignore_index=0)
    total, cache = loss.forward(z, t, ignore_index=0, reduction="sum")
    assert total == pytest.approx(2 * mean, rel=1e-6)
    assert loss.backward(1.0, cache).dtype == np.float32


def test_bad_inputs_name_the_argument(rng):
    z = rng.standard_normal((2, 3, 5))
    with pytest.raises(ValueError, match=r"targets holds ids in \[0, 5\] but .* V = 5"):
        loss.forward(z, np.array([[0, 1, 5], [0, 1, 2]]))
    with pytest.raises(ValueError, match=r"targets holds ids in \[-1, 2\]"):
        loss.forward(z, np.array([[0, 1, -1], [-100, 1, 2]]), ignore_index=-100)
    with pytest.raises(ValueError, match="targets must hold integer token ids"):
        loss.forward(z, np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"targets has shape \(3, 2\), expected \(N, T\) = \(2, 3\)"
    ):
        loss.forward(z, np.zeros((3, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, T, V\) or \(M, V\)"):
        loss.forward(np.zeros(5), np.zeros((), dtype=np.int64))
    with pytest.raises(ValueError, match="reduction must be one of mean, sum; got 'avg'"):
        loss.forward(z, np.zeros((2, 3), dtype=np.int64), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]; got 1.5"):
        loss.forward(z, np.zeros((2, 3), dtype=np.int64), label_smoothing=1.5)
    # ignore_index may lie outside the vocabulary (PyTorch's -100); it is never looked up.
    value, _ = loss.forward(z, np.array([[0, 1, -100], [-100, 1, 2]]), ignore_index=-100)
    assert np.isfinite(value)


@given(loss_case())
def test_inputs_and_cache_are_left_alone(case):
    """log_softmax and backward work in place on arrays of their own only: the logits are not
    changed, and a second backward on the same cache (as check_layer does) gives the same."""
    logits, targets, options = case
    before = logits.copy()
    value, cache = loss.forward(logits, targets, **options)
    logp = cache.logp.copy()
    first = loss.backward(0.7, cache)
    np.testing.assert_array_equal(loss.backward(0.7, cache), first)
    np.testing.assert_array_equal(cache.logp, logp)
    np.testing.assert_array_equal(logits, before)
    np.testing.assert_array_equal(loss.log_softmax(logits), loss.log_softmax(before))
    np.testing.assert_array_equal(logits, before)


@given(N=dims, T=dims, D=dims, V=dims, seed=st.integers(0, 2**16))
def test_output_layer_gradients_on_sequences(N, T, D, V, seed):
    """The output layer as the model uses it, on (N, T, H) decoder outputs (one 2-D GEMM over
    N * T rows inside), into the loss; b is left as it was (the bias is added in place)."""
    r = np.random.default_rng(seed)
    x, p = r.standard_normal((N, T, D)), linear.init(D, V, r, dtype=np.float64)
    b = p["b"].copy()
    y, _ = linear.forward(x, p)
    assert y.shape == (N, T, V)
    np.testing.assert_allclose(y, np.einsum("ntd,vd->ntv", x, p["W"]) + b, rtol=1e-12)
    np.testing.assert_array_equal(p["b"], b)
    assert_close(check_layer(linear.forward, linear.backward, [x], p))
    targets = r.integers(0, V, (N, T))

    def forward(x, p):
        logits, c_out = linear.forward(x, p)
        value, c_loss = loss.forward(logits, targets, label_smoothing=0.1)
        return value, (c_out, c_loss)

    def backward(dvalue, caches):
        return linear.backward(loss.backward(dvalue, caches[1]), caches[0])

    assert_close(check_layer(forward, backward, [x], p))


@given(N=dims, D=dims, O=dims, seed=st.integers(0, 2**16))
def test_linear_gradients_on_rows(N, D, O, seed):
    """The linear layer on (N, D) rows, as the bridge and the decoder's combine step use it."""
    r = np.random.default_rng(seed)
    x, p = r.standard_normal((N, D)), linear.init(D, O, r, dtype=np.float64)
    y, _ = linear.forward(x, p)
    np.testing.assert_allclose(y, x @ p["W"].T + p["b"], rtol=1e-12)
    assert_close(check_layer(linear.forward, linear.backward, [x], p))


@pytest.mark.parametrize(("D", "O"), [(16, 400), (400, 16)])
def test_linear_init_is_uniform_over_one_over_sqrt_fan_in(D, O, rng):
    """W and b ~ U(-k, k) with k = 1 / sqrt(D), D the input size (fan_in), as nn.Linear: every
    value within k and the extremes near it. D != O, so a bound read from O is 5 times off."""
    p = linear.init(D, O, rng)
    k = 1 / np.sqrt(D)
    assert p["W"].shape == (O, D) and p["b"].shape == (O,)
    for name, a in p.items():
        assert np.abs(a).max() <= k, name
    assert np.abs(p["W"]).max() > 0.95 * k  # 6400 draws: the extremes reach 0.95 k
    assert abs(p["W"].std() - k / np.sqrt(3)) < 0.05 * k  # the std of U(-k, k)


def test_output_layer_names_a_misshapen_input_or_parameter(rng):
    p = linear.init(3, 5, rng, dtype=np.float64)
    x = rng.standard_normal((2, 4, 3))
    with pytest.raises(ValueError, match=r"linear.forward: x has shape \(2, 4, 2\), expected"):
        linear.forward(x[..., :2], p)
    with pytest.raises(ValueError, match=r"p\['b'\] has shape \(4,\), expected \(O,\) = \(5,\)"):
        linear.forward(x, p | {"b": np.zeros(4)})
    with pytest.raises(ValueError, match=r"p\['W'\] has shape \(15,\), expected \(O, D\)"):
        linear.forward(x, p | {"W": np.zeros(15)})
    with pytest.raises(ValueError, match=r"p\['b'\] has dtype float32 but the parameters"):
        linear.forward(x, p | {"b": np.zeros(5, np.float32)})


def raises(message):
    """pytest.raises(ValueError) with `message` matched literally."""
    return pytest.raises(ValueError, match=re.escape(message))


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_backward_rejects_wrong_gradients(name):
    """The output path (linear -> loss): a wrong upstream gradient stops with a message naming it
    instead of a reshape or matmul error from inside NumPy; arrays are required, not lists."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    x, p = r.standard_normal((2, 3, 4)).astype(np.float32), linear.init(4, 5, r)
    logits, c_out = linear.forward(x, p)
    value, c_loss = loss.forward(logits, np.array([[0, 1, 2], [3, 4, 0]]))
    with raises("loss.backward: dloss must be a scalar, the gradient of the scalar loss (1.0 to"):
        loss.backward(np.ones(2), c_loss)
    with pytest.raises(ValueError, match="loss.backward: dloss must be a scalar.*got list"):
        loss.backward([1.0], c_loss)
    dlogits = loss.backward(np.float32(1.0), c_loss)  # a NumPy scalar or 0-d array is fine
    np.testing.assert_array_equal(loss.backward(np.array(1.0), c_loss), dlogits)
    with raises("linear.backward: dy has shape (3, 2, 5), expected (..., O) = (2, 3, 5)"):
        linear.backward(dlogits.transpose(1, 0, 2), c_out)
    with raises("linear.backward: dy has shape (2, 3, 4), expected (..., O) = (2, 3, 5)"):
        linear.backward(dlogits[..., :4], c_out)
    with pytest.raises(ValueError, match="linear.backward: dy has dtype float64 but the forward"):
        linear.backward(dlogits.astype(np.float64), c_out)
    dx, _ = linear.backward(dlogits, c_out)
    assert dx.shape == x.shape
    with raises("linear.forward: x must be an array (numpy/cupy) of shape (..., D); got list"):
        linear.forward(x.tolist(), p)
    want = "loss.forward: logits must be an array (numpy/cupy) of shape (N, T, V) or (M, V); got"
    with raises(want):
        loss.forward(logits.tolist(), np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="loss.forward: targets must be an array.*got list"):
        loss.forward(logits, [[0, 1, 2], [3, 4, 0]])


# --- float16 logits: sums past 65504, the largest float16 ---------------------------------------


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_float16_sums_that_pass_the_float16_range_are_not_inf(name):
    """float16 logits are taken (the layers take any float dtype; numba hands them to the
    reference), but two sums ran in float16 and overflowed past 65504: the loss of 24 000 uniform
    tokens over V = 16 (sum 24 000 log 16 = 66 542) was inf for both reductions, and
    log_softmax of a uniform row of V = 70 000 was -inf everywhere (its sum of exps is 70 000).
    Accumulated in float32, both are right to float16's precision: -log p = log V by hand."""
    backend.use(name)
    try:
        M, V = 24_000, 16
        logits, targets = np.zeros((M, V), np.float16), np.arange(M) % V
        for reduction, want in (("mean", math.log(V)), ("sum", M * math.log(V))):
            value, _ = loss.forward(logits, targets, reduction=reduction)
            assert value == pytest.approx(want, rel=2e-3), reduction  # float16: 2^-10 = 1e-3
        logp = loss.log_softmax(np.zeros((2, 70_000), np.float16))
        assert logp.dtype == np.float16
        np.testing.assert_allclose(logp.astype(np.float64), -math.log(70_000), rtol=1e-3)
    finally:
        backend.use("numpy")

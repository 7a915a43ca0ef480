"""Numba twins of the loss's row passes against the reference: `log_softmax` and
`softmax_minus_target` called directly on the same inputs, then `loss.forward` / `loss.backward`
under a numba backend against the numpy one; float64 within 1e-10 and float32 within 1e-5
(DESIGN.md), relative to the scale of each output (`rel_error`). Also the float32 `exp` of
`minis2s.kernels.fast_math` the twins use, on a dense grid."""

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numba import njit

from minis2s import backend, kernels
from minis2s.kernels import fast_math, numba_loss
from minis2s.layers import loss
from tests.parity import DTYPES, TOL, assert_same
from tests.strategies import dims

TWINS = ("log_softmax", "softmax_minus_target")


@contextmanager
def numba_backend():
    """The numba backend with the loss twins, whether or not minis2s.kernels registers them yet;
    numpy again on exit."""
    real = kernels.numba_kernels
    twins = {f"loss.{name}": getattr(numba_loss, name) for name in TWINS}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "numba_kernels", lambda: {**real(), **twins})
        try:
            yield backend.use("numba")
        finally:
            backend.use("numpy")


@st.composite
def logits_case(draw):
    """(logits (M, V) or (N, T, V), targets, keep (M, 1), eps, scale), float64. V covers 1, 2 and
    both sides of the twins' 16 lanes; logits go up to +-1e4 (exp of them overflows) with rows
    spread up to 1e4 wide (most exps underflow to 0); some or all rows ignored."""
    V = draw(st.one_of(st.integers(1, 4), st.integers(14, 35)))
    lead = (draw(dims), draw(dims)) if draw(st.booleans()) else (draw(dims),)
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    spread, offset = draw(st.sampled_from([1.0, 30.0, 1e4])), draw(st.sampled_from([0, -1e4, 1e4]))
    logits = spread * r.standard_normal((*lead, V)) + offset
    M = int(np.prod(lead))
    keep = draw(st.sampled_from(["all", "some", "none"]))
    kept = {"all": np.ones(M), "some": r.random(M) < 0.6, "none": np.zeros(M)}[keep]
    eps = draw(st.sampled_from([0.0, 0.1, 1.0]))
    scale = draw(st.sampled_from([1.0, -2.5])) / max(kept.sum(), 1)
    return logits, r.integers(0, V, lead), kept[:, None].astype(np.float64), eps, scale


def test_the_loss_layer_dispatches_to_the_twins():
    """Without this the parity tests below could compare the reference with itself."""
    calls = []
    with numba_backend() as be:
        for name in TWINS:
            twin = be.kernels[f"loss.{name}"]
            assert twin is getattr(numba_loss, name) is not getattr(loss, name)
            assert hasattr(getattr(numba_loss, f"{name}_rows"), "py_func")  # compiled by Numba

            def spy(*args, twin=twin, name=name):
                calls.append(name)
                return twin(*args)

            be.kernels[f"loss.{name}"] = spy  # this Backend's own dict, made by use()
        _, cache = loss.forward(np.zeros((2, 3, 5), np.float32), np.ones((2, 3), np.int64))
        loss.backward(1.0, cache)
    assert calls == list(TWINS)


def test_the_numba_backend_registers_the_twins():
    """minis2s.kernels.numba_kernels lists the twins (the fixture above only stands in for it)."""
    be = backend.use("numba")
    for name in TWINS:
        assert be.kernel(f"loss.{name}", None) is getattr(numba_loss, name)


@DTYPES
@given(case=logits_case())
def test_twins_match_reference(dtype, case):
    logits, targets, keep, eps, scale = case
    logits, keep = logits.astype(dtype), keep.astype(dtype)
    before = logits.copy()
    logp = loss.log_softmax(logits)
    assert_same(numba_loss.log_softmax(logits), logp, dtype, "log_softmax")
    np.testing.assert_array_equal(logits, before)
    lp, t = logp.reshape(-1, logp.shape[-1]), targets.reshape(-1)
    lp_before = lp.copy()
    want = loss.softmax_minus_target(lp, t, keep, eps, scale)
    got = numba_loss.softmax_minus_target(lp, t, keep, eps, scale)
    assert_same(got, want, dtype, "softmax_minus_target")
    np.testing.assert_array_equal(lp, lp_before)  # the cache a second backward would read
    assert np.all(got[keep[:, 0] == 0] == 0)


@given(case=logits_case())
def test_twins_accept_non_contiguous_views(case):
    logits, targets, keep, eps, scale = case
    wide = np.zeros((*logits.shape[:-1], 2 * logits.shape[-1]))
    wide[..., ::2] = logits
    view = wide[..., ::2]
    assert_same(numba_loss.log_softmax(view), loss.log_softmax(logits), np.float64, "view")
    lp = np.repeat(loss.log_softmax(logits.reshape(-1, logits.shape[-1])), 2, axis=1)[:, ::2]
    want = loss.softmax_minus_target(lp.copy(), targets.reshape(-1), keep, eps, scale)
    got = numba_loss.softmax_minus_target(lp, targets.reshape(-1), keep, eps, scale)
    assert_same(got, want, np.float64, "softmax_minus_target view")


def run_loss(logits, targets, options):
    """loss.forward then loss.backward, twice: the cache must survive the first call."""
    value, cache = loss.forward(logits, targets, **options)
    dlogits = loss.backward(-1.5, cache)
    np.testing.assert_array_equal(loss.backward(-1.5, cache), dlogits)
    return value, dlogits


@DTYPES
@given(case=logits_case(), ignore=st.sampled_from([None, 0]))
def test_loss_layer_matches_numpy_backend(dtype, case, ignore):
    logits, targets, _, eps, _ = case
    logits = logits.astype(dtype)
    options = {"ignore_index": ignore, "label_smoothing": eps}
    with numba_backend():
        got_value, got = run_loss(logits, targets, options)
    value, dlogits = run_loss(logits, targets, options)
    assert abs(got_value - value) <= TOL[dtype] * max(abs(value), 1.0)
    assert_same(got, dlogits, dtype, "dlogits")


@njit(error_model="numpy")
def _exp_all(x):
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = fast_math.exp(x[k])
    return out


def test_float32_exp_is_accurate_on_a_dense_grid():
    """fast_math's float32 exp within 1.2e-7 (2 ulp) relative of float64 NumPy wherever exp(x) is
    a normal float32, on every 4.4e-5 of [-87, 88] and 4e6 random points of [-87.3, 0]."""
    r = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-87, 88, 4_000_001), r.uniform(-87.33, 0, 4_000_000)])
    x = x.astype(np.float32)
    exact = np.exp(x.astype(np.float64))
    got = _exp_all(x)
    assert got.dtype == np.float32
    assert (np.abs(got - exact) / exact).max() < 1.2e-7
    assert not np.array_equal(got, np.exp(x))  # the float32 path is not NumPy's / libm's


def test_float32_exp_ends():
    """0 (not NaN, not negative) far below, inf far above, NaN stays NaN: the loss takes exp of
    shifted logits <= 0, which can be any size."""
    below = -np.geomspace(87.7, 3e38, 1000).astype(np.float32)
    assert np.all(_exp_all(np.append(below, -np.inf).astype(np.float32)) == 0)
    x = np.linspace(-87.7, -87.3, 10_001).astype(np.float32)  # exp(x) near 2^-126 = 1.18e-38
    tiny = _exp_all(x)
    assert np.all(tiny >= 0) and np.abs(tiny - np.exp(x.astype(np.float64))).max() < 1.2e-38
    above = np.append(np.geomspace(88.4, 3e38, 1000), np.inf).astype(np.float32)
    assert np.all(_exp_all(above) == np.inf)
    assert np.isnan(_exp_all(np.array([np.nan], np.float32))[0])
    assert _exp_all(np.array([0.0, -0.0], np.float32)).tolist() == [1.0, 1.0]


def test_float64_exp_keeps_numpy():
    """float64 twins must stay within 1e-10 of the reference, so they keep np.exp."""
    x = np.linspace(-700, 700, 100_001)
    assert (np.abs(_exp_all(x) - np.exp(x)) / np.exp(x)).max() < 1e-15

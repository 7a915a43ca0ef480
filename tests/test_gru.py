"""GRU: gradients against finite differences, masking invariants, the one-step cell, and the
numbers of a tiny case against a plain re-implementation of the nn.GRU equations."""

import numpy as np
import pytest
from hypothesis import given

from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import gru
from tests.strategies import seq_case


def _inputs(case):
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, h0 = r.standard_normal((N, T, D)), r.standard_normal((N, H))
    return x, h0, gru.init(D, H, r, dtype=np.float64), m, r


@given(seq_case())
def test_sequence_gradients(case):
    x, h0, p, m, _ = _inputs(case)
    assert_close(check_layer(gru.forward, gru.backward, [x, h0], p, mask=m))


@given(seq_case(max_T=1))
def test_step_gradients(case):
    N, _, D, H, _, seed = case
    r = np.random.default_rng(seed)
    x, h = r.standard_normal((N, D)), r.standard_normal((N, H))
    p = gru.init(D, H, r, dtype=np.float64)
    assert_close(check_layer(gru.step_forward, gru.step_backward, [x, h], p))


@given(seq_case())
def test_fully_padded_row(case):
    """A row with no real token outputs zeros, keeps its initial state, passes dh_final to dh0."""
    x, h0, p, m, _ = _inputs(case)
    m = m.copy()
    m[0] = 0
    ys, hT, _ = gru.forward(x, h0, p, mask=m)
    assert np.isfinite(ys).all()
    np.testing.assert_array_equal(ys[0], 0)
    np.testing.assert_array_equal(hT[0], h0[0])
    assert_close(check_layer(gru.forward, gru.backward, [x, h0], p, mask=m))


def test_missing_dh_final_is_zeros(rng):
    x, p = rng.standard_normal((3, 4, 2)), gru.init(2, 5, rng, dtype=np.float64)
    m = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)
    ys, _, cache = gru.forward(x, None, p, mask=m)
    dys = rng.standard_normal(ys.shape)
    got, want = gru.backward(dys, None, cache), gru.backward(dys, np.zeros((3, 5)), cache)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@given(seq_case())
def test_padding_changes_nothing(case):
    """Appending padded steps leaves outputs at real steps and the final state unchanged."""
    x, h0, p, m, r = _inputs(case)
    N, T, D = x.shape
    ys, hT, _ = gru.forward(x, h0, p, mask=m)
    x2 = np.concatenate([x, r.standard_normal((N, 2, D))], axis=1)
    m2 = np.concatenate([m, np.zeros((N, 2))], axis=1)
    ys2, hT2, _ = gru.forward(x2, h0, p, mask=m2)
    np.testing.assert_allclose(ys2[:, :T], ys, rtol=0, atol=1e-14)  # GEMM blocking may differ
    np.testing.assert_array_equal(ys2[:, T:], 0)
    np.testing.assert_allclose(hT2, hT, rtol=0, atol=1e-14)


@given(seq_case())
def test_other_rows_change_nothing(case):
    """Each row run alone (same padding) gives the same outputs as in the batch."""
    x, h0, p, m, _ = _inputs(case)
    ys, hT, _ = gru.forward(x, h0, p, mask=m)
    for n in range(x.shape[0]):
        s = slice(n, n + 1)
        ys_n, hT_n, _ = gru.forward(x[s], h0[s], p, mask=m[s])
        np.testing.assert_allclose(ys[s], ys_n, rtol=0, atol=1e-13)
        np.testing.assert_allclose(hT[s], hT_n, rtol=0, atol=1e-13)


@given(seq_case())
def test_final_state_is_last_real_token(case):
    """The final state of each row equals running that row alone, unpadded."""
    x, _, p, m, _ = _inputs(case)
    _, hT, _ = gru.forward(x, None, p, mask=m)
    for n in range(x.shape[0]):
        L = int(m[n].sum())
        ys_n, hT_n, _ = gru.forward(x[n : n + 1, :L], None, p)
        np.testing.assert_allclose(hT[n], hT_n[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(hT[n], ys_n[0, -1], rtol=0, atol=1e-13)


def test_sequence_equals_repeated_steps(rng):
    x, p = rng.standard_normal((3, 5, 2)), gru.init(2, 4, rng, dtype=np.float64)
    ys, _, _ = gru.forward(x, None, p)
    h = np.zeros((3, 4))
    for t in range(5):
        h, _ = gru.step_forward(x[:, t], h, p)
        np.testing.assert_allclose(ys[:, t], h, rtol=0, atol=1e-14)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))  # fine here: the tiny case keeps |a| small


def _reference_gru(x, h, p):
    """nn.GRU written straight from its documented equations, one gate at a time, no masks."""
    W_ir, W_iz, W_in = np.split(p["W_ih"], 3)  # row blocks r, z, n
    W_hr, W_hz, W_hn = np.split(p["W_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["b_ih"], 3)
    b_hr, b_hz, b_hn = np.split(p["b_hh"], 3)
    ys = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        r = _sigmoid(x_t @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = _sigmoid(x_t @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(x_t @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        ys.append(h)
    return np.stack(ys, axis=1), h


def test_tiny_case_matches_the_equations():
    """Gate order and b_hn inside r * (...): a gradient check cannot see a consistent swap."""
    r = np.random.default_rng(7)
    N, T, D, H = 2, 3, 2, 3
    x, h0 = r.standard_normal((N, T, D)), r.standard_normal((N, H))
    p = {k: 2 * v for k, v in gru.init(D, H, r, dtype=np.float64).items()}  # livelier gates
    ys, hT, _ = gru.forward(x, h0, p)
    ys_ref, hT_ref = _reference_gru(x, h0, p)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hT, hT_ref, rtol=1e-12, atol=1e-14)
    h1, _ = gru.step_forward(x[:, 0], h0, p)
    _, h1_ref = _reference_gru(x[:, :1], h0, p)
    np.testing.assert_allclose(h1, h1_ref, rtol=1e-12, atol=1e-14)


def test_large_inputs_stay_finite(rng):
    """Saturated gates (|a| ~ 1e4) give finite states: sigmoid is tanh-based, never exp."""
    x, p = 1e4 * rng.standard_normal((2, 3, 2)), gru.init(2, 3, rng, dtype=np.float64)
    with np.errstate(all="raise"):
        ys, hT, cache = gru.forward(x, None, p)
        dx, dh0, dp = gru.backward(np.ones_like(ys), None, cache)
    assert np.isfinite(ys).all() and np.isfinite(hT).all()
    assert all(np.isfinite(g).all() for g in [dx, dh0, *dp.values()])


def test_bad_shapes_name_the_argument(rng):
    p = gru.init(3, 4, rng, dtype=np.float64)
    x = rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"x has shape \(2, 5, 7\), expected \(N, T, D\)"):
        gru.forward(rng.standard_normal((2, 5, 7)), None, p)
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 4\), expected \(N, H\) = \(2, 4\)"):
        gru.forward(x, np.zeros((3, 4)), p)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 4\), expected \(N, T\)"):
        gru.forward(x, None, p, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="x has dtype float32"):
        gru.forward(x.astype(np.float32), None, p)
    with pytest.raises(ValueError, match="h0 has dtype float32"):
        gru.forward(x, np.zeros((2, 4), np.float32), p)
    with pytest.raises(ValueError, match="T = 0"):
        gru.forward(np.zeros((2, 0, 3)), None, p)

"""LSTM: gradients against finite differences, masking invariants, the one-step cell, and the
numbers of a tiny case against a plain re-implementation of the nn.LSTM equations."""

import re

import numpy as np
import pytest
from hypothesis import given

from minis2s import backend
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import lstm
from tests.strategies import seq_case


def _inputs(case):
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, h0, c0 = r.standard_normal((N, T, D)), r.standard_normal((N, H)), r.standard_normal((N, H))
    return x, (h0, c0), lstm.init(D, H, r, dtype=np.float64), m, r


@given(seq_case())
def test_sequence_gradients(case):
    x, h0c0, p, m, _ = _inputs(case)
    assert_close(check_layer(lstm.forward, lstm.backward, [x, h0c0], p, mask=m))


@given(seq_case(max_T=1))
def test_step_gradients(case):
    N, _, D, H, _, seed = case
    r = np.random.default_rng(seed)
    x, h, c = r.standard_normal((N, D)), r.standard_normal((N, H)), r.standard_normal((N, H))
    p = lstm.init(D, H, r, dtype=np.float64)
    assert_close(check_layer(lstm.step_forward, lstm.step_backward, [x, (h, c)], p))


@given(seq_case())
def test_fully_padded_row(case):
    """A row with no real token outputs zeros, keeps its initial state, passes dfinal to dh0c0."""
    x, (h0, c0), p, m, _ = _inputs(case)
    m = m.copy()
    m[0] = 0
    ys, (hT, cT), _ = lstm.forward(x, (h0, c0), p, mask=m)
    assert np.isfinite(ys).all()
    np.testing.assert_array_equal(ys[0], 0)
    np.testing.assert_array_equal(hT[0], h0[0])
    np.testing.assert_array_equal(cT[0], c0[0])
    assert_close(check_layer(lstm.forward, lstm.backward, [x, (h0, c0)], p, mask=m))


def test_missing_dfinal_entries_are_zeros(rng):
    x, h0c0, p = rng.standard_normal((3, 4, 2)), None, lstm.init(2, 5, rng, dtype=np.float64)
    m = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)
    ys, _, cache = lstm.forward(x, h0c0, p, mask=m)
    dys, dh = rng.standard_normal(ys.shape), rng.standard_normal((3, 5))
    zero = np.zeros((3, 5))
    for dfinal, same in [(None, (zero, zero)), ((dh, None), (dh, zero)), ((None, dh), (zero, dh))]:
        got, want = lstm.backward(dys, dfinal, cache), lstm.backward(dys, same, cache)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1][0], want[1][0])
        np.testing.assert_array_equal(got[1][1], want[1][1])


@given(seq_case())
def test_padding_changes_nothing(case):
    """Appending padded steps leaves outputs at real steps and the final state unchanged."""
    x, h0c0, p, m, r = _inputs(case)
    N, T, D = x.shape
    ys, (hT, cT), _ = lstm.forward(x, h0c0, p, mask=m)
    x2 = np.concatenate([x, r.standard_normal((N, 2, D))], axis=1)
    m2 = np.concatenate([m, np.zeros((N, 2))], axis=1)
    ys2, (hT2, cT2), _ = lstm.forward(x2, h0c0, p, mask=m2)
    np.testing.assert_allclose(ys2[:, :T], ys, rtol=0, atol=1e-14)  # GEMM blocking may differ
    np.testing.assert_array_equal(ys2[:, T:], 0)
    np.testing.assert_allclose(hT2, hT, rtol=0, atol=1e-14)
    np.testing.assert_allclose(cT2, cT, rtol=0, atol=1e-14)


@given(seq_case())
def test_other_rows_change_nothing(case):
    """Each row run alone (same padding) gives the same outputs as in the batch."""
    x, (h0, c0), p, m, _ = _inputs(case)
    ys, (hT, cT), _ = lstm.forward(x, (h0, c0), p, mask=m)
    for n in range(x.shape[0]):
        s = slice(n, n + 1)
        ys_n, (hT_n, cT_n), _ = lstm.forward(x[s], (h0[s], c0[s]), p, mask=m[s])
        np.testing.assert_allclose(ys[s], ys_n, rtol=0, atol=1e-13)
        np.testing.assert_allclose(hT[s], hT_n, rtol=0, atol=1e-13)
        np.testing.assert_allclose(cT[s], cT_n, rtol=0, atol=1e-13)


@given(seq_case())
def test_final_state_is_last_real_token(case):
    """The final (h, c) of each row equals running that row alone, unpadded."""
    x, _, p, m, _ = _inputs(case)
    _, (hT, cT), _ = lstm.forward(x, None, p, mask=m)
    for n in range(x.shape[0]):
        L = int(m[n].sum())
        ys_n, (hT_n, cT_n), _ = lstm.forward(x[n : n + 1, :L], None, p)
        np.testing.assert_allclose(hT[n], hT_n[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(cT[n], cT_n[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(hT[n], ys_n[0, -1], rtol=0, atol=1e-13)


def test_sequence_equals_repeated_steps(rng):
    x, p = rng.standard_normal((3, 5, 2)), lstm.init(2, 4, rng, dtype=np.float64)
    ys, _, _ = lstm.forward(x, None, p)
    h, c = np.zeros((3, 4)), np.zeros((3, 4))
    for t in range(5):
        (h, c), _ = lstm.step_forward(x[:, t], (h, c), p)
        np.testing.assert_allclose(ys[:, t], h, rtol=0, atol=1e-14)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))  # fine here: the tiny case keeps |a| small


def _reference_lstm(x, h, c, p):
    """nn.LSTM written straight from its documented equations, one gate at a time, no masks."""
    W_ii, W_if, W_ig, W_io = np.split(p["W_ih"], 4)  # row blocks i, f, g, o
    W_hi, W_hf, W_hg, W_ho = np.split(p["W_hh"], 4)
    b_ii, b_if, b_ig, b_io = np.split(p["b_ih"], 4)
    b_hi, b_hf, b_hg, b_ho = np.split(p["b_hh"], 4)
    ys = []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        i = _sigmoid(x_t @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
        f = _sigmoid(x_t @ W_if.T + b_if + h @ W_hf.T + b_hf)
        g = np.tanh(x_t @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
        o = _sigmoid(x_t @ W_io.T + b_io + h @ W_ho.T + b_ho)
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=1), h, c


def test_tiny_case_matches_the_equations():
    """Gate order and bias placement: a gradient check cannot see a consistent swap of gates."""
    r = np.random.default_rng(7)
    N, T, D, H = 2, 3, 2, 3
    x, h0, c0 = r.standard_normal((N, T, D)), r.standard_normal((N, H)), r.standard_normal((N, H))
    p = {k: 2 * v for k, v in lstm.init(D, H, r, dtype=np.float64).items()}  # livelier gates
    ys, (hT, cT), _ = lstm.forward(x, (h0, c0), p)
    ys_ref, hT_ref, cT_ref = _reference_lstm(x, h0, c0, p)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hT, hT_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cT, cT_ref, rtol=1e-12, atol=1e-14)
    (h1, c1), _ = lstm.step_forward(x[:, 0], (h0, c0), p)
    ys1, h1_ref, c1_ref = _reference_lstm(x[:, :1], h0, c0, p)
    np.testing.assert_allclose(h1, h1_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c1, c1_ref, rtol=1e-12, atol=1e-14)


def test_large_inputs_stay_finite(rng):
    """Saturated gates (|a| ~ 1e4) give finite states: sigmoid is tanh-based, never exp."""
    x, p = 1e4 * rng.standard_normal((2, 3, 2)), lstm.init(2, 3, rng, dtype=np.float64)
    with np.errstate(all="raise"):
        ys, (hT, cT), cache = lstm.forward(x, None, p)
        grads = lstm.backward(np.ones_like(ys), None, cache)
    assert np.isfinite(ys).all() and np.isfinite(hT).all() and np.isfinite(cT).all()
    assert all(np.isfinite(g).all() for g in [grads[0], *grads[1], *grads[2].values()])


def test_bad_shapes_name_the_argument(rng):
    p = lstm.init(3, 4, rng, dtype=np.float64)
    x = rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match=r"x has shape \(2, 5, 7\), expected \(N, T, D\)"):
        lstm.forward(rng.standard_normal((2, 5, 7)), None, p)
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 4\), expected \(N, H\) = \(2, 4\)"):
        lstm.forward(x, (np.zeros((3, 4)), np.zeros((2, 4))), p)
    with pytest.raises(ValueError, match=r"c0 has shape \(2, 5\), expected \(N, H\) = \(2, 4\)"):
        lstm.forward(x, (np.zeros((2, 4)), np.zeros((2, 5))), p)
    with pytest.raises(ValueError, match=r"h0c0 must be None or a tuple \(h, c\)"):
        lstm.forward(x, np.zeros((2, 4)), p)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 4\), expected \(N, T\)"):
        lstm.forward(x, None, p, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="x has dtype float32"):
        lstm.forward(x.astype(np.float32), None, p)
    with pytest.raises(ValueError, match="c0 has dtype float32"):
        lstm.forward(x, (np.zeros((2, 4)), np.zeros((2, 4), np.float32)), p)
    with pytest.raises(ValueError, match="T = 0"):
        lstm.forward(np.zeros((2, 0, 3)), None, p)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_backward_rejects_wrong_gradients_before_any_loop(name):
    """The audit's case: on numba a dfinal of the wrong N returned dh0 of shape (0, 0), a wrong dc
    a garbage shape, then the process died (free(): invalid pointer); dys for N = 64 instead of 4
    crashed at once. Each now stops with a message before the compiled loop runs."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    p, x = lstm.init(3, 5, r), r.standard_normal((4, 6, 3)).astype(np.float32)
    ys, (h, c), cache = lstm.forward(x, None, p)
    dys, dh, dc = np.ones_like(ys), np.ones_like(h), np.ones_like(c)
    bad = {
        "dys has shape (64, 6, 5), expected (N, T, H) = (4, 6, 5)": (np.ones((64, 6, 5)), None),
        "dh_final (dfinal[0]) has shape (2, 5), expected (N, H) = (4, 5)": (dys, (dh[:2], None)),
        "dc_final (dfinal[1]) has shape (4, 3), expected (N, H) = (4, 5)": (dys, (dh, dc[:, :3])),
        "dc_final (dfinal[1]) has shape (8, 5), expected (N, H) = (4, 5)": (
            dys,
            (None, np.ones((8, 5), np.float32)),
        ),
        "dys has dtype float64 but the forward pass ran in float32": (dys.astype(np.float64), None),
        "dc_final (dfinal[1]) has dtype float16": (dys, (dh, dc.astype(np.float16))),
        "dfinal must be None or a tuple (h, c)": (dys, dh),
    }
    for message, (g, g_final) in bad.items():
        with pytest.raises(ValueError, match=re.escape(f"lstm.backward: {message}")):
            lstm.backward(g, g_final, cache)
    _, step_cache = lstm.step_forward(x[:, 0], (dh, dc), p)
    for fn in (lstm.step_backward, lstm.step_backward_data):
        where = f"lstm.{fn.__name__}"
        with pytest.raises(ValueError, match=re.escape(f"{where}: dh has shape (1, 5), expected")):
            fn((dh[:1], dc), step_cache)
        with pytest.raises(ValueError, match=re.escape(f"{where}: dc has shape (4, 6), expected")):
            fn((dh, np.ones((4, 6), np.float32)), step_cache)
        with pytest.raises(ValueError, match=re.escape(f"{where}: dstate must be a tuple (dh,")):
            fn(dh, step_cache)
    dx, (dh0, dc0), _ = lstm.backward(dys, (dh, dc), cache)  # the layer still works
    assert dx.shape == x.shape and dh0.shape == dc0.shape == (4, 5) and np.isfinite(dx).all()

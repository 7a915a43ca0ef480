"""Vanilla RNN: gradients against finite differences, masking invariants, the one-step cell."""

import re

import numpy as np
import pytest
from hypothesis import given

from minis2s import backend
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import gru, lstm, rnn
from tests.parity import fill_padding, flat, with_padded_row
from tests.strategies import seq_case


@given(seq_case())
def test_sequence_gradients(case):
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, h0 = r.standard_normal((N, T, D)), r.standard_normal((N, H))
    p = rnn.init(D, H, r, dtype=np.float64)
    assert_close(check_layer(rnn.forward, rnn.backward, [x, h0], p, mask=m))


@given(seq_case(max_T=1))
def test_step_gradients(case):
    N, _, D, H, _, seed = case
    r = np.random.default_rng(seed)
    x, h = r.standard_normal((N, D)), r.standard_normal((N, H))
    p = rnn.init(D, H, r, dtype=np.float64)
    assert_close(check_layer(rnn.step_forward, rnn.step_backward, [x, h], p))


@given(seq_case())
def test_padding_changes_nothing(case):
    """Appending padded steps leaves outputs at real steps and the final state unchanged."""
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, p = r.standard_normal((N, T, D)), rnn.init(D, H, r, dtype=np.float64)
    ys, hT, _ = rnn.forward(x, None, p, mask=m)
    x2 = np.concatenate([x, r.standard_normal((N, 2, D))], axis=1)
    m2 = np.concatenate([m, np.zeros((N, 2))], axis=1)
    ys2, hT2, _ = rnn.forward(x2, None, p, mask=m2)
    np.testing.assert_allclose(ys2[:, :T], ys, rtol=0, atol=1e-14)  # GEMM blocking may differ
    np.testing.assert_array_equal(ys2[:, T:], 0)
    np.testing.assert_allclose(hT2, hT, rtol=0, atol=1e-14)


@given(seq_case())
def test_final_state_is_last_real_token(case):
    """The final state of each row equals running that row alone, unpadded."""
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, p = r.standard_normal((N, T, D)), rnn.init(D, H, r, dtype=np.float64)
    _, hT, _ = rnn.forward(x, None, p, mask=m)
    for n in range(N):
        L = int(m[n].sum())
        ys_n, hT_n, _ = rnn.forward(x[n : n + 1, :L], None, p)
        np.testing.assert_allclose(hT[n], hT_n[0], rtol=0, atol=1e-13)
        np.testing.assert_allclose(hT[n], ys_n[0, -1], rtol=0, atol=1e-13)


def test_sequence_equals_repeated_steps(rng):
    x, p = rng.standard_normal((3, 5, 2)), rnn.init(2, 4, rng, dtype=np.float64)
    ys, _, _ = rnn.forward(x, None, p)
    h = np.zeros((3, 4))
    for t in range(5):
        h, _ = rnn.step_forward(x[:, t], h, p)
        np.testing.assert_allclose(ys[:, t], h, rtol=0, atol=1e-14)


def test_tiny_case_matches_the_equations():
    """W_hh's orientation and both biases, from nn.RNN's documented equation written out per
    hidden unit: a gradient check cannot see h_prev W_hh used untransposed in the forward and
    backward passes alike (W_hh is square)."""
    r = np.random.default_rng(5)
    N, T, D, H = 2, 3, 2, 3
    x, h0 = r.standard_normal((N, T, D)), r.standard_normal((N, H))
    p = {k: 2 * v for k, v in rnn.init(D, H, r, dtype=np.float64).items()}  # livelier units
    W_ih, W_hh, b_ih, b_hh = p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"]
    h, want = h0, []
    for t in range(T):
        a = np.array(  # a_nj = sum_d x_nd W_ih[j, d] + b_ih[j] + sum_k h_nk W_hh[j, k] + b_hh[j]
            [
                [
                    sum(x[n, t, d] * W_ih[j, d] for d in range(D))
                    + b_ih[j]
                    + sum(h[n, k] * W_hh[j, k] for k in range(H))
                    + b_hh[j]
                    for j in range(H)
                ]
                for n in range(N)
            ]
        )
        h = np.tanh(a)
        want.append(h)
    ys, hT, _ = rnn.forward(x, h0, p)
    np.testing.assert_allclose(ys, np.stack(want, axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hT, want[-1], rtol=1e-12, atol=1e-14)
    h1, _ = rnn.step_forward(x[:, 0], h0, p)
    np.testing.assert_allclose(h1, want[0], rtol=1e-12, atol=1e-14)


def test_bad_shapes_name_the_argument(rng):
    p = rnn.init(3, 4, rng, dtype=np.float64)
    with pytest.raises(ValueError, match=r"x has shape \(2, 5, 7\), expected \(N, T, D\)"):
        rnn.forward(rng.standard_normal((2, 5, 7)), None, p)
    with pytest.raises(ValueError, match="h0 has shape"):
        rnn.forward(rng.standard_normal((2, 5, 3)), np.zeros((3, 4)), p)
    with pytest.raises(ValueError, match="mask has shape"):
        rnn.forward(rng.standard_normal((2, 5, 3)), None, p, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="dtype float32"):
        rnn.forward(rng.standard_normal((2, 5, 3)).astype(np.float32), None, p)
    with pytest.raises(ValueError, match="T = 0"):
        rnn.forward(np.zeros((2, 0, 3)), None, p)


@given(seq_case())
def test_fully_padded_row_and_other_rows(case):
    """A row with no real token outputs zeros and keeps h0; the other rows are unaffected by it."""
    N, T, D, H, m, seed = case
    r = np.random.default_rng(seed)
    x, h0, p = (
        r.standard_normal((N, T, D)),
        r.standard_normal((N, H)),
        rnn.init(D, H, r, np.float64),
    )
    m = m.copy()
    m[0] = 0
    ys, hT, _ = rnn.forward(x, h0, p, mask=m)
    np.testing.assert_array_equal(ys[0], 0)
    np.testing.assert_array_equal(hT[0], h0[0])
    for n in range(1, N):
        ys_n, hT_n, _ = rnn.forward(x[n : n + 1], h0[n : n + 1], p, mask=m[n : n + 1])
        np.testing.assert_allclose(ys[n], ys_n[0], rtol=0, atol=1e-13)
    assert_close(check_layer(rnn.forward, rnn.backward, [x, h0], p, mask=m))


@pytest.mark.filterwarnings("error")  # no "invalid value" from the input projection
@pytest.mark.parametrize("cell", [rnn, lstm, gru], ids=["rnn", "lstm", "gru"])
@given(case=seq_case())
def test_padding_may_hold_nan_and_inf_for_every_cell(cell, case):
    """A padded step selects rather than blends (0 * NaN would be NaN): NaN, inf or -inf in x
    at padding (features padded with NaN) change no output, final state or gradient, which
    equal those with zeros there, exactly."""
    N, T, D, H, m, seed = case
    m = with_padded_row(m)  # and a row that is padding throughout
    r = np.random.default_rng(seed)
    x = np.where(m[:, :, None] > 0, r.standard_normal((N + 1, T, D)), 0.0)
    p = cell.init(D, H, r, dtype=np.float64)
    pair = cell is lstm
    s0, dfinal = ((r.standard_normal((N + 1, H)), r.standard_normal((N + 1, H))) for _ in "ab")
    s0, dfinal = (s0, dfinal) if pair else (s0[0], dfinal[0])
    dys = r.standard_normal((N + 1, T, H))

    def run(x):
        ys, final, cache = cell.forward(x, s0, p, mask=m)
        dx, ds0, dp = cell.backward(dys, dfinal, cache)
        return flat((ys, final, dx, ds0)) + [dp[k] for k in sorted(dp)]

    for got, want in zip(run(fill_padding(x, m, r)), run(x), strict=True):
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell, G", [(rnn, 1), (lstm, 4), (gru, 3)])
def test_init_is_uniform_over_one_over_sqrt_hidden_for_every_cell(rng, cell, G):
    """Every weight and bias ~ U(-k, k) with k = 1 / sqrt(H), as nn.RNN, nn.LSTM and nn.GRU (W_ih
    included: their bound is read from the hidden size). D != H, so a bound read from D (or from
    G * H) is at least 2 times off."""
    D, H = 64, 4
    p = cell.init(D, H, rng)
    k = 1 / np.sqrt(H)
    shapes = {"W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    assert {name: a.shape for name, a in p.items()} == shapes
    for name, a in p.items():
        assert np.abs(a).max() <= k, name
    assert np.abs(p["W_ih"]).max() > 0.95 * k  # G * 256 draws: the extremes reach 0.95 k


@pytest.mark.parametrize("cell, G", [(rnn, 1), (lstm, 4), (gru, 3)])
def test_wrong_parameters_are_named_for_every_cell(rng, cell, G):
    """A parameter dict that does not fit (another cell's, a missing or misshapen entry, another
    dtype) is named before any product runs (check_sequence, shared by the three cells)."""
    p = cell.init(3, 4, rng, dtype=np.float64)
    x = rng.standard_normal((2, 5, 3))
    other = (gru if cell is lstm else lstm).init(3, 4, rng, dtype=np.float64)
    Gother = 3 if cell is lstm else 4
    with pytest.raises(
        ValueError,
        match=rf"p\['W_hh'\] has shape \({Gother * 4}, 4\), expected .* = \({G * 4}, 4\)",
    ):
        cell.forward(x, None, other)
    with pytest.raises(ValueError, match="p has no b_hh; a recurrent layer needs W_ih, W_hh"):
        cell.forward(x, None, {k: v for k, v in p.items() if k != "b_hh"})
    with pytest.raises(
        ValueError, match=rf"p\['b_ih'\] has shape \(5,\), expected .* = \({G * 4},\)"
    ):
        cell.forward(x, None, p | {"b_ih": np.zeros(5)})
    with pytest.raises(ValueError, match=rf"p\['W_ih'\] has shape \({G * 4 + 1}, 3\), expected"):
        cell.forward(x, None, p | {"W_ih": np.zeros((G * 4 + 1, 3))})
    with pytest.raises(
        ValueError, match=r"x has shape \(2, 5, 3\), expected \(N, T, D\) = \(\?, \?, 2\)"
    ):
        cell.forward(x, None, p | {"W_ih": np.zeros((G * 4, 2))})  # W_ih says what D is
    with pytest.raises(ValueError, match=r"p\['b_hh'\] has dtype float32 but the parameters"):
        cell.forward(x, None, p | {"b_hh": p["b_hh"].astype(np.float32)})


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("cell", [rnn, gru], ids=["rnn", "gru"])
def test_backward_rejects_wrong_gradients_before_any_loop(cell, name):
    """A wrong-shaped or wrong-dtype gradient stops with a message; on numba it used to reach
    the compiled loop, which checks no bounds (a wrong dh0 shape, or a crash). The LSTM, with
    its (h, c) pairs, has its own test in test_lstm."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    p, x = cell.init(3, 5, r), r.standard_normal((4, 6, 3)).astype(np.float32)
    ys, h, cache = cell.forward(x, None, p)
    dys, dh = np.ones_like(ys), np.ones_like(h)
    bad = {
        "dys has shape (64, 6, 5), expected (N, T, H) = (4, 6, 5)": (np.ones((64, 6, 5)), None),
        "dys has shape (4, 2, 5), expected (N, T, H) = (4, 6, 5)": (dys[:, :2], None),
        "dys has shape (4, 6, 4), expected (N, T, H) = (4, 6, 5)": (dys[..., :4], None),
        "dh_final has shape (2, 5), expected (N, H) = (4, 5)": (dys, dh[:2]),
        "dh_final has shape (5,), expected (N, H) = (4, 5)": (dys, dh[0]),
        "dh_final has shape (4, 6), expected (N, H) = (4, 5)": (dys, np.ones((4, 6), np.float32)),
        "dys has dtype float64 but the forward pass ran in float32": (dys.astype(np.float64), dh),
        "dh_final has dtype float64 but the forward pass ran in float32": (dys, dh.astype(float)),
        "dys must be an array (numpy/cupy) of shape (N, T, H); got list": (dys.tolist(), dh),
    }
    name = cell.__name__.rsplit(".", 1)[1]
    for message, (g, g_final) in bad.items():
        with pytest.raises(ValueError, match=re.escape(f"{name}.backward: {message}")):
            cell.backward(g, g_final, cache)
    h1, step_cache = cell.step_forward(x[:, 0], dh, p)
    for fn in (cell.step_backward, cell.step_backward_data):
        for wrong in (dh[:1], dh[:, :1]):
            want = f"{name}.{fn.__name__}: dh has shape {wrong.shape}, expected (N, H) = (4, 5)"
            with pytest.raises(ValueError, match=re.escape(want)):
                fn(wrong, step_cache)
    dx, dh0, _ = cell.backward(dys, dh, cache)  # the layer still works
    assert dx.shape == x.shape and dh0.shape == (4, 5) and np.isfinite(dx).all()

"""Vanilla RNN: gradients against finite differences, masking invariants, the one-step cell."""

import numpy as np
from hypothesis import given

from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import rnn
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


def test_bad_shapes_name_the_argument(rng):
    import pytest

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

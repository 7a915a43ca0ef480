"""Layer invariants as properties, on every backend that runs on the CPU: a row's outputs AND its
gradients (to its inputs, its initial state and, summed, the parameters) are those of the row run
alone, unpadded, whatever rows share its batch and however much padding follows it; upstream
gradients at padding (where every output is the constant 0) change nothing. The layer tests check
the forward pass alone; this adds the backward pass, attention's rows, and the numba twins."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.kernels import numba_attention
from minis2s.layers import attention, gru, lstm, rnn, stack
from minis2s.layers.attention import SCORES
from tests.strategies import mask_from_lengths

BACKENDS = pytest.mark.parametrize("name", ["numpy", "numba"])
CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
TOL = dict(rtol=1e-10, atol=1e-12)  # float64; summation order differs with N and T


@st.composite
def rows_and_padding(draw, max_N: int = 3, max_T: int = 3):
    """(lengths (N,) >= 1, extra padded steps E, seed): every row ends in padding when E > 0."""
    L = draw(st.lists(st.integers(1, max_T), min_size=1, max_size=max_N))
    return np.array(L), draw(st.integers(0, 2)), draw(st.integers(0, 2**16))


def parts(state) -> tuple:
    """(h,) or (h, c): a state's arrays."""
    return state if isinstance(state, tuple) else (state,)


def rows(state, n: int, axis: int):
    """Row n of each array of `state`, kept as a batch of one along `axis`."""
    out = tuple(np.take(s, [n], axis=axis) for s in parts(state))
    return out if isinstance(state, tuple) else out[0]


def assert_row_as_alone(batch, alone, n: int, L: int, axis_state: int) -> None:
    """batch = (ys, final, dx, ds0, dp) of the batch, alone = the same of row n alone (T = L)."""
    ys, final, dx, ds0, _ = batch
    ys_n, final_n, dx_n, ds0_n, _ = alone
    np.testing.assert_allclose(ys[n, :L], ys_n[0], **TOL)
    np.testing.assert_array_equal(ys[n, L:], 0)
    np.testing.assert_allclose(dx[n, :L], dx_n[0], **TOL)
    np.testing.assert_array_equal(dx[n, L:], 0)  # padding's inputs reach nothing
    for a, b in zip(parts(rows(final, n, axis_state)), parts(final_n), strict=True):
        np.testing.assert_allclose(a, b, **TOL)
    for a, b in zip(parts(rows(ds0, n, axis_state)), parts(ds0_n), strict=True):
        np.testing.assert_allclose(a, b, **TOL)


def assert_params_sum(dp: dict, dps: list[dict]) -> None:
    """A batch's parameter gradient is the sum of its rows' own, key by key."""
    assert all(d.keys() == dp.keys() for d in dps)
    for k in dp:
        np.testing.assert_allclose(dp[k], sum(d[k] for d in dps), err_msg=k, **TOL)


def run_recurrent(layer, x, s0, p, m, dys, dfinal, **kw):
    """(ys, final, dx, ds0, dp) of one layer or stack, forward then backward."""
    forward = layer.forward if not kw else (lambda *a, mask: layer.forward(*a, mask=mask, **kw))
    ys, final, cache = forward(x, s0, p, mask=m)
    dx, ds0, dp = layer.backward(dys, dfinal, cache)
    return ys, final, dx, ds0, dp


def check_recurrent(layer, p, H, D, L, E, seed, state_shape, axis, dirs_H, **kw):
    """Every row of a batch of lengths L plus E padded steps, as alone; random x, s0 and upstream
    gradients everywhere, padding included."""
    N, T = len(L), int(L.max()) + E
    r = np.random.default_rng(seed)
    x, m = r.standard_normal((N, T, D)), mask_from_lengths(L, T)
    s0 = r.standard_normal(state_shape(N))
    dys, dfinal = r.standard_normal((N, T, dirs_H)), r.standard_normal(state_shape(N))
    if kw.get("cell", layer) in ("lstm", lstm):
        s0, dfinal = (s0, r.standard_normal(s0.shape)), (dfinal, r.standard_normal(s0.shape))
    batch = run_recurrent(layer, x, s0, p, m, dys, dfinal, **kw)
    alones = []
    for n, Ln in enumerate(L):
        alone = run_recurrent(layer, x[n : n + 1, :Ln].copy(), rows(s0, n, axis), p, None,
                              dys[n : n + 1, :Ln].copy(), rows(dfinal, n, axis), **kw)  # fmt: skip
        assert_row_as_alone(batch, alone, n, int(Ln), axis)
        alones.append(alone[4])
    assert_params_sum(batch[4], alones)


@settings(max_examples=20)
@BACKENDS
@pytest.mark.parametrize("cell", CELLS)
@given(case=rows_and_padding(), D=st.integers(1, 3), H=st.integers(1, 3))
def test_a_cells_rows_and_gradients_are_as_alone(name, cell, case, D, H):
    backend.use(name)
    L, E, seed = case
    p = CELLS[cell].init(D, H, np.random.default_rng(seed + 1), dtype=np.float64)
    check_recurrent(CELLS[cell], p, H, D, L, E, seed, lambda N: (N, H), 0, H)


@settings(max_examples=15)
@BACKENDS
@pytest.mark.parametrize("cell", CELLS)
@given(case=rows_and_padding(), layers=st.integers(1, 2), bi=st.booleans(), D=st.integers(1, 2))
def test_a_stacks_rows_and_gradients_are_as_alone(name, cell, case, layers, bi, D):
    backend.use(name)
    L, E, seed = case
    H, dirs = 2, 2 if bi else 1
    p = stack.init(cell, D, H, layers, bi, np.random.default_rng(seed + 1), dtype=np.float64)
    check_recurrent(stack, p, H, D, L, E, seed, lambda N: (layers * dirs, N, H), 1, dirs * H,
                    cell=cell)  # fmt: skip


def run_attention(q, enc, p, m, dc, dw, score):
    """(context, weights, dq, denc, dp) of attention, forward then backward."""
    c, w, cache = attention.forward(q, enc, p, mask=m, score=score)
    dq, denc, dp = attention.backward(dc, dw, cache)
    return c, w, dq, denc, dp


def attention_case(score, L, E, seed, Tq, Hq, A):
    """(q, enc, p, mask, dcontext, dweights), float64, S = the longest row + E."""
    N, S, He = len(L), int(L.max()) + E, Hq if score in ("dot", "scaled_dot") else Hq + 1
    r = np.random.default_rng(seed)
    p = attention.init(score, Hq, He, r, A=A, dtype=np.float64)
    q, enc, m = (
        r.standard_normal((N, Tq, Hq)),
        r.standard_normal((N, S, He)),
        mask_from_lengths(L, S),
    )
    return q, enc, p, m, r.standard_normal((N, Tq, He)), r.standard_normal((N, Tq, S))


def assert_weights_are_a_distribution(w, m) -> None:
    assert np.all(w[np.broadcast_to(m[:, None] == 0, w.shape)] == 0)  # exactly 0
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=1e-14)


@settings(max_examples=20)
@pytest.mark.parametrize("score", SCORES)
@given(case=rows_and_padding(), Tq=st.integers(1, 3), Hq=st.integers(1, 3), A=st.integers(1, 3))
def test_attention_rows_and_gradients_are_as_alone(score, case, Tq, Hq, A):
    """Each row's context, weights (0 at its padding, summing to 1) and gradients are those of
    its query against its own source alone; the parameter gradient is the rows' sum. (The numba
    backend runs this reference; its twins serve the decoder's steps: the test below.)"""
    L, E, seed = case
    q, enc, p, m, dc, dw = attention_case(score, L, E, seed, Tq, Hq, A)
    c, w, dq, denc, dp = run_attention(q, enc, p, m, dc, dw, score)
    assert_weights_are_a_distribution(w, m)
    dps = []
    for n, Ln in enumerate(L):
        one = slice(n, n + 1)
        c_n, w_n, dq_n, denc_n, dp_n = run_attention(
            q[one], enc[one, :Ln].copy(), p, None, dc[one], dw[one, :, :Ln].copy(), score
        )
        np.testing.assert_allclose(c[one], c_n, **TOL)
        np.testing.assert_allclose(w[one, :, :Ln], w_n, **TOL)
        np.testing.assert_allclose(dq[one], dq_n, **TOL)
        np.testing.assert_allclose(denc[one, :Ln], denc_n, **TOL)
        np.testing.assert_array_equal(denc[n, Ln:], 0)
        dps.append(dp_n)
    assert_params_sum(dp, dps)


def run_twins(q, enc, p, m, dc, dw, score):
    """(context, weights, ds, dq) of the numba twins that a decoder step calls."""
    keys, _ = attention.keys_forward(enc, p, score)
    c, w, cache = numba_attention.forward_with_keys(q, keys, enc, p, m, score)
    ds = numba_attention.score_grads(dc, dw, cache)
    return c, w, ds, numba_attention.query_grads(ds, cache)


@settings(max_examples=20)
@pytest.mark.parametrize("score", numba_attention.COMPILED)
@given(case=rows_and_padding(), Tq=st.integers(1, 2), Hq=st.integers(1, 3), A=st.integers(1, 3))
def test_the_numba_attention_twins_rows_are_as_alone(score, case, Tq, Hq, A):
    """The compiled kinds' weights are 0 at padding and sum to 1; each row's context, weights,
    score and query gradients are those of the row alone."""
    L, E, seed = case
    q, enc, p, m, dc, dw = attention_case(score, L, E, seed, Tq, Hq, A)
    c, w, ds, dq = run_twins(q, enc, p, m, dc, dw, score)
    assert_weights_are_a_distribution(w, m)
    for n, Ln in enumerate(L):
        one = slice(n, n + 1)
        c_n, w_n, ds_n, dq_n = run_twins(
            q[one], enc[one, :Ln].copy(), p, None, dc[one], dw[one, :, :Ln].copy(), score
        )
        np.testing.assert_allclose(c[one], c_n, **TOL)
        np.testing.assert_allclose(w[one, :, :Ln], w_n, **TOL)
        np.testing.assert_allclose(ds[one, :, :Ln], ds_n, **TOL)
        np.testing.assert_array_equal(ds[n, :, Ln:], 0)
        np.testing.assert_allclose(dq[one], dq_n, **TOL)

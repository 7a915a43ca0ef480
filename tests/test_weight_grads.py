"""The cells' backward pass split as a decoder uses it: step_backward_data at every step, then
weight_grads once over the steps stacked on a time axis, equals the sum of the per-step
step_backward parameter gradients (which the finite-difference checks in test_rnn/lstm/gru
prove); and linear.weight_grads over stacked steps equals the sum of per-step linear.backward."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.layers import gru, linear, lstm, rnn
from minis2s.layers._recurrent import weight_grads
from tests.strategies import dims

CELLS = {"rnn": (rnn, 1), "lstm": (lstm, 4), "gru": (gru, 3)}


def _state(cell: str, N: int, H: int, r: np.random.Generator):
    h = r.standard_normal((N, H))
    return (h, r.standard_normal((N, H))) if cell == "lstm" else h


@pytest.mark.parametrize("cell", CELLS)
@given(N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16))
def test_stacked_weight_grads_equal_the_sum_of_steps(cell, N, T, D, H, seed):
    module, _ = CELLS[cell]
    r = np.random.default_rng(seed)
    p = module.init(D, H, r, dtype=np.float64)
    state, caches = _state(cell, N, H, r), []
    for _ in range(T):
        state, c = module.step_forward(r.standard_normal((N, D)), state, p)
        caches.append(c)
    total = {k: np.zeros_like(v) for k, v in p.items()}
    pre = []
    for c in caches:
        dstate = _state(cell, N, H, r)
        # step_backward is step_backward_data then weight_grads, so its dx and dprev are
        # step_backward_data's (test_rnn/lstm/gru check them); only the weight sums are new here
        _, _, dp = module.step_backward(dstate, c)
        pre.append(module.step_backward_data(dstate, c)[2])
        total = {k: total[k] + dp[k] for k in p}
    stack = lambda a: np.stack(a, axis=1)  # noqa: E731
    dax = stack([a for a, _ in pre])
    dah = dax if pre[0][1] is pre[0][0] else stack([b for _, b in pre])
    got = weight_grads(dax, dah, stack([c.x for c in caches]), stack([c.h_prev for c in caches]))
    assert set(got) == set(p)
    for k in p:
        np.testing.assert_allclose(got[k], total[k], rtol=1e-12, atol=1e-13, err_msg=k)
    if cell != "gru":  # one pre-activation: the two bias gradients must not share memory
        assert not np.shares_memory(got["b_ih"], got["b_hh"])


@given(N=dims, T=dims, D=dims, O=dims, seed=st.integers(0, 2**16))
def test_linear_weight_grads_over_stacked_steps(N, T, D, O, seed):
    r = np.random.default_rng(seed)
    p = linear.init(D, O, r, dtype=np.float64)
    xs, dys = r.standard_normal((T, N, D)), r.standard_normal((T, N, O))
    total = {"W": 0.0, "b": 0.0}
    for x, dy in zip(xs, dys, strict=True):
        _, cache = linear.forward(x, p)
        _, dp = linear.backward(dy, cache)
        total = {k: total[k] + dp[k] for k in total}
    got = linear.weight_grads(np.stack(dys, axis=1), np.stack(xs, axis=1))
    for k in total:
        np.testing.assert_allclose(got[k], total[k], rtol=1e-12, atol=1e-13, err_msg=k)


def test_shared_pre_activation_gives_equal_but_separate_bias_grads():
    """RNN and LSTM pass one pre-activation gradient twice: db_hh = db_ih, summed once, yet two
    arrays, so scaling one in place (gradient clipping) leaves the other alone."""
    r = np.random.default_rng(0)
    da, x, h = (
        r.standard_normal((3, 4, 8)),
        r.standard_normal((3, 4, 5)),
        r.standard_normal((3, 4, 2)),
    )
    g = weight_grads(da, da, x, h)
    np.testing.assert_array_equal(g["b_hh"], da.sum(axis=(0, 1)))
    np.testing.assert_array_equal(g["b_ih"], g["b_hh"])
    g["b_ih"] *= 0
    assert g["b_hh"].any()
    assert "b" not in linear.weight_grads(da, x, bias=False)

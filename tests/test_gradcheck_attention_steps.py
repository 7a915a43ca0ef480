"""The decoder's attention backward, as the decoder runs it, against finite differences.

A decoder computes the keys once (keys_forward), attends from one query per step
(forward_with_keys), then goes back with score_grads and query_grads at every step and
key_value_grads and keys_backward once over all the steps. test_attention.py shows these parts
equal backward_with_keys; here their composition is checked against finite differences directly,
for the reference and for the numba twins (float64), with dweights given or None (the decoder
passes None: nothing downstream reads the weights).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.gradcheck import assert_close, check_layer
from minis2s.kernels import numba_attention
from minis2s.layers import attention
from minis2s.layers.attention import SCORES
from tests.strategies import dims, lengths, mask_from_lengths

MODULES = {"reference": attention, "numba": numba_attention}


def step_by_step(module, with_dweights: bool):
    """(forward, backward) of attention over (q (N, Tq, Hq), enc (N, S, He)) made of the pieces
    a decoder calls, forward_with_keys, score_grads and query_grads taken from `module`."""

    def forward(q, enc, p, mask, score):
        keys, c_keys = attention.keys_forward(enc, p, score)
        steps = [module.forward_with_keys(q[:, t : t + 1], keys, enc, p, mask, score)
                 for t in range(q.shape[1])]  # fmt: skip
        context = np.concatenate([c for c, _, _ in steps], axis=1)  # (N, Tq, He)
        caches = (c_keys, [cache for _, _, cache in steps])
        if with_dweights:
            return context, np.concatenate([w for _, w, _ in steps], axis=1), caches
        return context, caches

    def backward(dcontext, *rest):
        *dweights, (c_keys, steps) = rest
        dw = dweights[0] if with_dweights else None
        ds, dq = [], []
        for t, cache in enumerate(steps):  # back through one step at a time
            dw_t = None if dw is None else dw[:, t : t + 1]
            ds.append(module.score_grads(dcontext[:, t : t + 1], dw_t, cache))
            dq.append(module.query_grads(ds[-1], cache))
        dq = np.concatenate(dq, axis=1)
        all_steps = attention.stack_queries(steps)  # then the sums over the steps, once
        dkeys, denc, dp = attention.key_value_grads(dcontext, np.concatenate(ds, 1), all_steps)
        denc_keys, dp_keys = attention.keys_backward(dkeys, c_keys)
        for k, g in dp_keys.items():  # concat: keys and queries each fill a part of W_a
            dp[k] = dp[k] + g if k in dp else g
        return dq, denc + denc_keys, dp

    return forward, backward


@st.composite
def attention_case(draw, score: str):
    """(q, enc, p, mask): float64, size-1 axes included, right-padded, maybe a row with no
    valid position."""
    N, Tq, S, Hq, A = draw(dims), draw(dims), draw(dims), draw(dims), draw(dims)
    He = Hq if score in ("dot", "scaled_dot") else draw(dims)
    L = draw(lengths(N, S, allow_empty=True))
    if draw(st.booleans()):
        L[draw(st.integers(0, N - 1))] = 0  # a row with nothing to attend to
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    q, enc = r.standard_normal((N, Tq, Hq)), r.standard_normal((N, S, He))
    p = attention.init(score, Hq, He, r, A=A, dtype=np.float64)
    return q, enc, p, mask_from_lengths(L, S)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("score", SCORES)
@given(data=st.data(), with_dweights=st.booleans())
def test_step_by_step_attention_gradients(module, score, data, with_dweights):
    q, enc, p, mask = data.draw(attention_case(score))
    forward, backward = step_by_step(MODULES[module], with_dweights)
    # the attention's parameters sampled (3 entries, 2 random directions), q and enc entry by
    # entry: test_attention.test_gradients checks every entry of every score's parameters, and
    # what the steps add (their sums over steps, the keys' share of W_a) changes the inputs'
    # gradients and every direction through the parameters it is wrong in
    errors = check_layer(forward, backward, [q, enc], p, entries=3, directions=2, mask=mask,
                         score=score)  # fmt: skip
    assert_close(errors)

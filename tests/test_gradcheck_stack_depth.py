"""A 3-layer recurrent stack against finite differences.

test_stack.py checks 1 and 2 layers; with 3 there is a middle layer, which has a layer (and a
dropout) both below and above it, so a backward pass that pairs a layer with the wrong dropout
mask or the wrong slice of the final state shows here.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import stack
from tests.strategies import lengths, mask_from_lengths
from tests.test_stack import SAMPLED

L = 3


@st.composite
def stack_case(draw):
    """(x (N, T, D), state0, mask (N, T), bidirectional, seed): small (a 3-layer
    bidirectional LSTM has ~350 numbers to perturb), size-1 axes and fully padded rows drawn."""
    N, T, D, H = (draw(st.integers(1, 2)) for _ in range(4))
    mask = mask_from_lengths(draw(lengths(N, T, allow_empty=True)), T)
    bi, seed = draw(st.booleans()), draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    state_shape = (L * (2 if bi else 1), N, H)
    return r.standard_normal((N, T, D)), state_shape, mask, bi, seed


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@settings(max_examples=4)  # each example perturbs up to ~350 numbers four times
@given(case=stack_case())
def test_three_layer_stack_gradients_with_dropout(cell, case):
    """Dropout (rate 0.5) before layers 1 and 2, the same masks on every call."""
    x, state_shape, mask, bi, seed = case
    r = np.random.default_rng(seed + 1)
    p = stack.init(cell, x.shape[2], state_shape[2], L, bi, r, dtype=np.float64)
    s0 = r.standard_normal(state_shape)
    if cell == "lstm":
        s0 = (s0, r.standard_normal(state_shape))

    def forward(x, state0, p):  # a generator seeded alike: the same dropout masks every call
        rng = np.random.default_rng(seed)
        return stack.forward(x, state0, p, mask=mask, cell=cell, dropout=0.5, rng=rng)

    # parameters sampled, x and state0 entry by entry: the cells' parameters are checked entry
    # by entry in their own tests, and a wrong dropout mask or slice of the final state changes
    # the inputs' gradients and every direction through a layer's parameters (test_stack.SAMPLED)
    assert_close(check_layer(forward, stack.backward, [x, s0], p, **SAMPLED))

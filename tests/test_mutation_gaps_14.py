"""Mutation pass over the Numba twins and their helpers: kernels/numba_lstm.py, numba_gru.py,
numba_rnn.py, numba_attention.py, numba_loss.py, numba_embedding.py, numba_optim.py,
elementwise.py, fast_math.py, step_weights.py. Each test kills a hand-made mutant that the
suite let live, named in its docstring; expected values come from the NumPy reference or by
hand, never from the twin under test."""

from __future__ import annotations

import numpy as np
import pytest

from minis2s.kernels.step_weights import input_weights, step_weights


def test_input_weights_refuses_a_transpose_of_another_dtype():
    """Kills `input_weights` checking only W^T's shape, not its dtype: a float32 W_ih^T left
    over from before the weights were cast to float64 has the right shape, and read as a GEMM
    operand it would mix dtypes (or round the float64 products to float32)."""
    rng = np.random.default_rng(0)
    p = {"W_ih": rng.standard_normal((8, 3)), "W_hh": rng.standard_normal((8, 2)),
         "b_ih": np.zeros(8), "b_hh": np.zeros(8)}  # fmt: skip
    q = step_weights(p)
    W_ih_T, W_hh_T, nn = input_weights(q)  # the fresh pair is accepted as is
    assert nn and W_ih_T is q["W_ih^T"] and W_hh_T is q["W_hh^T"]
    stale = {**q, "W_ih^T": q["W_ih^T"].astype(np.float32)}  # same shape (3, 8), float32
    with pytest.raises(ValueError, match=r"p\['W_ih\^T'\] has shape \(3, 8\) and dtype float32"):
        input_weights(stale)

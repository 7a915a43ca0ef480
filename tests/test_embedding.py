"""Embedding: gradients against finite differences, repeated ids accumulate, the pad row."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import embedding
from tests.strategies import dims


@st.composite
def ids_case(draw):
    """(ids (N, T) drawn from a small vocabulary so ids repeat, V, E, pad_id or None, seed)."""
    N, T, E, V = draw(dims), draw(dims), draw(dims), draw(st.integers(1, 5))
    pad_id = draw(st.none() | st.integers(0, V - 1))
    ids = np.array(draw(st.lists(st.integers(0, V - 1), min_size=N * T, max_size=N * T)))
    return ids.reshape(N, T), V, E, pad_id, draw(st.integers(0, 2**16))


@given(ids_case())
def test_gradients(case):
    ids, V, E, pad_id, seed = case
    p = {"W": np.random.default_rng(seed).standard_normal((V, E))}  # the pad row nonzero too
    assert_close(check_layer(embedding.forward, embedding.backward, [ids], p, pad_id=pad_id))


@given(ids_case())
def test_lookup_and_gradient_from_the_definition(case):
    """out[i] = W[ids[i]] (0 for pad); dW[v] = sum of dout[i] with ids[i] == v (0 for pad)."""
    ids, V, E, pad_id, seed = case
    r = np.random.default_rng(seed)
    p = {"W": r.standard_normal((V, E))}
    out, cache = embedding.forward(ids, p, pad_id=pad_id)
    dout = r.standard_normal(out.shape)
    dW = embedding.backward(dout, cache)["W"]
    for v in range(V):
        at_v = ids == v
        if v == pad_id:
            assert np.all(out[at_v] == 0) and np.all(dW[v] == 0)
        else:
            np.testing.assert_array_equal(out[at_v], np.broadcast_to(p["W"][v], (at_v.sum(), E)))
            np.testing.assert_allclose(dW[v], dout[at_v].sum(axis=0), rtol=1e-13, atol=1e-15)


def test_repeated_ids_accumulate_and_pad_row_gets_nothing():
    p = {"W": np.arange(12.0).reshape(4, 3)}
    ids = np.array([[2, 2, 0], [2, 1, 0]])
    out, cache = embedding.forward(ids, p, pad_id=0)
    dW = embedding.backward(np.ones((2, 3, 3)), cache)["W"]
    np.testing.assert_array_equal(dW, [[0, 0, 0], [1, 1, 1], [3, 3, 3], [0, 0, 0]])
    np.testing.assert_array_equal(out[:, 2], 0)  # the pad row of W holds 0, 1, 2, yet reads 0
    np.testing.assert_array_equal(out[0, 0], [6, 7, 8])


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_pad_row_may_hold_nan_and_inf(name):
    """The pad token embeds to zero whatever its row of W holds, NaN and inf included (a select,
    not a product with 0), and upstream NaN at pad positions reaches no row of dW."""
    W = np.arange(12.0).reshape(4, 3)
    W[0] = [np.nan, np.inf, -np.inf]
    ids = np.array([[2, 0, 0], [1, 3, 0]])
    dout = np.ones((2, 3, 3))
    dout[ids == 0] = np.nan
    backend.use(name)
    try:
        out, cache = embedding.forward(ids, {"W": W}, pad_id=0)
        dW = embedding.backward(dout, cache)["W"]
    finally:
        backend.use("numpy")
    np.testing.assert_array_equal(out[ids == 0], 0)
    np.testing.assert_array_equal(out[ids != 0], W[ids[ids != 0]])
    np.testing.assert_array_equal(dW, [[0, 0, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]])


def test_init(rng):
    W = embedding.init(1000, 64, rng, pad_id=3)["W"]
    assert W.shape == (1000, 64) and W.dtype == np.float32
    assert np.all(W[3] == 0)
    assert abs(W.mean()) < 0.01 and abs(W.std() - 1) < 0.01  # N(0, 1), as nn.Embedding
    assert embedding.init(5, 2, rng, dtype=np.float64)["W"].dtype == np.float64


def test_any_leading_shape(rng):
    p = embedding.init(7, 3, rng)
    assert embedding.forward(np.array([1, 2]), p)[0].shape == (2, 3)
    assert embedding.forward(np.zeros((2, 3, 4), dtype=np.int64), p)[0].shape == (2, 3, 4, 3)


def test_bad_inputs_name_the_argument(rng):
    p = embedding.init(5, 2, rng)
    with pytest.raises(ValueError, match=r"ids holds ids in \[0, 5\] but .* V = 5 .* 0\.\.4"):
        embedding.forward(np.array([[0, 5]]), p)
    with pytest.raises(ValueError, match=r"ids holds ids in \[-1, 2\]"):
        embedding.forward(np.array([-1, 2]), p)
    with pytest.raises(ValueError, match="ids must hold integer token ids; got dtype float64"):
        embedding.forward(np.array([0.0, 1.0]), p)
    with pytest.raises(ValueError, match=r"pad_id = 5 is not a token id; it must be in 0\.\.4"):
        embedding.forward(np.array([0]), p, pad_id=5)
    with pytest.raises(ValueError, match="pad_id = -1"):
        embedding.init(5, 2, rng, pad_id=-1)
    with pytest.raises(ValueError, match=r"p\['W'\] has shape \(10,\), expected \(V, E\)"):
        embedding.forward(np.array([0]), {"W": np.zeros(10)})


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_backward_rejects_wrong_gradients(name):
    """dout must be (..., E) over the ids' shape: the numba scatter-add would otherwise read rows
    of dout that are not there. Lists of ids get a message, not an AttributeError."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    p, ids = embedding.init(6, 3, r, pad_id=0), np.array([[1, 2, 0], [5, 5, 4]])
    out, cache = embedding.forward(ids, p, pad_id=0)
    dout = np.ones_like(out)
    want = "embedding.backward: dout has shape {}, expected (..., E) = (2, 3, 3)"
    with pytest.raises(ValueError, match=re.escape(want.format((1, 3, 3)))):
        embedding.backward(dout[:1], cache)
    with pytest.raises(ValueError, match=re.escape(want.format((6, 3)))):
        embedding.backward(np.ones((6, 3), np.float32), cache)  # the same number of rows, flat
    with pytest.raises(ValueError, match="embedding.backward: dout has dtype float64 but the"):
        embedding.backward(dout.astype(np.float64), cache)
    want = "embedding.forward: ids must be an array (numpy/cupy); got list"
    with pytest.raises(ValueError, match=re.escape(want)):
        embedding.forward([[1, 2]], p)
    assert embedding.backward(dout, cache)["W"][5].tolist() == [2, 2, 2]

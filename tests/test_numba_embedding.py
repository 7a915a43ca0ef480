"""Numba twin of the embedding's scatter-add against the reference (`np.add.at`): bit for bit in
float64 and float32 (same additions in the same order), on hypothesis-drawn ids with repeats;
then `embedding.backward` under the numba backend; bad ids are refused before the loop."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.kernels import numba_embedding
from minis2s.layers import embedding


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(V=st.integers(1, 6), E=st.integers(1, 5), M=st.integers(0, 30), seed=st.integers(0, 999))
def test_scatter_add_matches_reference(dtype, V, E, M, seed):
    r = np.random.default_rng(seed)
    ids, rows = r.integers(0, V, M), r.standard_normal((M, E)).astype(dtype)  # repeats likely
    want, got = np.zeros((V, E), dtype), np.zeros((V, E), dtype)
    embedding.scatter_add(want, ids, rows)
    numba_embedding.scatter_add(got, ids, rows)
    np.testing.assert_array_equal(got, want)
    # strided views of the ids and rows (every other element of larger arrays)
    ids2, rows2 = np.zeros(2 * M, ids.dtype), np.zeros((2 * M, E), dtype)
    ids2[::2], rows2[::2] = ids, rows
    got[:] = 0
    numba_embedding.scatter_add(got, ids2[::2], rows2[::2])
    np.testing.assert_array_equal(got, want)


def test_backward_uses_the_twin_and_matches():
    r = np.random.default_rng(0)
    p = embedding.init(7, 3, r, pad_id=0, dtype=np.float64)
    ids = r.integers(0, 7, (4, 5))
    ids[1, 3:] = 0  # padding gets no gradient
    dout = r.standard_normal((4, 5, 3))
    want = embedding.backward(dout, embedding.forward(ids, p, pad_id=0)[1])["W"]
    be = backend.use("numba")
    try:
        assert be.kernel("embedding.scatter_add", None) is numba_embedding.scatter_add
        got = embedding.backward(dout, embedding.forward(ids, p, pad_id=0)[1])["W"]
    finally:
        backend.use("numpy")
    np.testing.assert_array_equal(got, want)
    assert not got[0].any()


@pytest.mark.parametrize("bad", [7, -1])
def test_out_of_range_ids_are_refused(bad):
    dW, rows = np.zeros((7, 2)), np.ones((3, 2))
    with pytest.raises(ValueError, match=r"ids holds ids in .*V = 7"):
        numba_embedding.scatter_add(dW, np.array([1, bad, 2]), rows)
    with pytest.raises(ValueError, match=r"rows has shape \(3, 2\), expected \(M, E\) = \(2, 2\)"):
        numba_embedding.scatter_add(dW, np.array([1, 2]), rows)
    assert not dW.any()

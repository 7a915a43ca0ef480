"""Mutation pass 19 over modules no earlier pass named: layers/rnn.py (a backward without
dh_final) and kernels/blas.py (which BLAS NumPy links, rows that a GEMM reads). Each test kills a
hand-made mutant that the suite let live, named in its docstring; every expected value is worked
out by hand or by an independent computation, never by the code under test."""

import ctypes

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from minis2s.kernels import blas
from minis2s.layers import rnn

# --- layers/rnn.py --------------------------------------------------------------------------------


def test_rnn_backward_without_dh_final_sends_nothing_back_from_the_final_state():
    """Kills `dh_final = ones_like(h0)` for dh_final=None (a gradient of 1 on the final state
    that the loss never sent). With dys = 0 and no dh_final, nothing reaches any step: every
    gradient is exactly zero."""
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 3, 4, 5
    p = rnn.init(D, H, rng, np.float64)
    x = rng.standard_normal((N, T, D))
    ys, _, cache = rnn.forward(x, None, p)
    dx, dh0, dp = rnn.backward(np.zeros_like(ys), None, cache)
    assert not np.any(dx) and not np.any(dh0)
    assert all(not np.any(g) for g in dp.values())


# --- kernels/blas.py ------------------------------------------------------------------------------


def test_a_gemm_refuses_an_a_whose_rows_overlap():
    """Kills dropping `a.strides[0] < K * size` from `_sizes`, and `M > 2` for `M > 1` there: two
    rows of K = 3 one element apart share memory, and BLAS with lda = K would read other numbers
    than a holds."""
    base = np.arange(8, dtype=np.float64)
    a = as_strided(base, shape=(2, 3), strides=(8, 8))  # rows [0 1 2] and [1 2 3]
    with pytest.raises(ValueError, match="gemm_nt: a must have contiguous rows"):
        blas.gemm_nt(a, np.ones((4, 3)), np.zeros((2, 4)))


def test_a_gemm_refuses_an_a_of_two_columns_apart_in_memory():
    """Kills `K > 2` for `K > 1` in `_sizes`: K = 2 columns taken every other element are not a
    row BLAS can read."""
    a = np.zeros((2, 4))[:, ::2]  # (2, 2), strides[1] = 2 elements
    with pytest.raises(ValueError, match="gemm_nn: a must have contiguous rows"):
        blas.gemm_nn(a, np.ones((2, 3)), np.zeros((2, 3)))


class _OnlySgemm:
    """Stands for NumPy's core extension where the OpenBLAS exports sgemm but not dgemm."""

    def __init__(self, path):
        self.scipy_cblas_sgemm64_ = ctypes.c_void_p(1)


def test_numpys_blas_is_used_only_where_it_exports_both_gemms(monkeypatch):
    """Kills `if sgemm or dgemm:` in `numpy_gemm` (a library without dgemm taken: every float64
    twin would call address None). With sgemm alone there is no NumPy GEMM to use."""
    monkeypatch.setattr(blas.ctypes, "CDLL", _OnlySgemm)
    assert blas.numpy_gemm() is None

"""Hypothesis strategies shared by the tests: small shapes that include size-1 dimensions,
and masks with padded rows (right padding, at least one real token unless asked otherwise)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

dims = st.integers(min_value=1, max_value=4)


@st.composite
def lengths(draw, N: int, T: int, allow_empty: bool = False) -> np.ndarray:
    """Per-row lengths in [1, T] (or [0, T]); at least one row has length T when T > 1."""
    lo = 0 if allow_empty else 1
    L = np.array([draw(st.integers(lo, T)) for _ in range(N)])
    if N > 0 and T > 1 and draw(st.booleans()):
        L[draw(st.integers(0, N - 1))] = T
    return L


def mask_from_lengths(L: np.ndarray, T: int) -> np.ndarray:
    """(N, T) float64 0/1 mask, 1 for t < L[n]."""
    return (np.arange(T)[None, :] < L[:, None]).astype(np.float64)


@st.composite
def seq_case(draw, max_T: int = 4):
    """(N, T, D, H, mask, seed) with a right-padded mask."""
    N, D, H = draw(dims), draw(dims), draw(dims)
    T = draw(st.integers(1, max_T))
    m = mask_from_lengths(draw(lengths(N, T)), T)
    return N, T, D, H, m, draw(st.integers(0, 2**16))

"""The matrix product the layers share: a stack of rows times a matrix, as one 2-D GEMM."""

from __future__ import annotations

from typing import Any


def rows(a: Any, W: Any) -> Any:
    """a (..., D) @ W (D, O) -> (..., O), as one (M, D) @ (D, O) GEMM over the M rows of all
    leading axes. NumPy's matmul runs (N, T, D) @ (D, O) as N separate (T, D) products instead:
    1.6x slower at N=64, T=25, D=512, O=2048 on one core here."""
    return (a.reshape(-1, a.shape[-1]) @ W).reshape(*a.shape[:-1], W.shape[-1])

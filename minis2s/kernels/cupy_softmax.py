"""CuPy twins of `minis2s.layers.softmax.forward` and `backward`: the masked softmax of the
attention weights, which a decoder runs at every step (the "cupy" backend).

Same names, arguments and results as the reference. The reference is about a dozen small
kernels forward and four backward, each a launch with CuPy's Python around it; at a decoder
step's sizes the launches, not the arithmetic, are the cost. The twins make six and two:

    forward   top = max over the row of where(m, s, lowest)    a fused kernel, then CuPy's max
              top = max(top, lowest)                           CuPy's maximum, in place
              e = exp(where(m, s - top, 0)) * m                a fused kernel: exp of <= 0 only
              w = e / (sum e, or 1 where that is 0)            CuPy's sum, then a fused kernel
    backward  ds = w * (dw - sum(w * dw))                      a RowSum, then a fused kernel

Padding may hold anything (even inf): where() drops it before any arithmetic reaches exp. A row
with no valid position has top = lowest, e = 0 and w = 0, as in the reference; so has a row whose
valid scores are all -inf, where top = max(-inf, lowest) = lowest makes e = exp(-inf) = 0, not
exp(-inf - (-inf)) = NaN. Where e has a valid position's exp(0) = 1, its sum is >= 1, so dividing
by the sum where it is not 0 is the reference's division by max(sum, 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s.backend import get_array_module
from minis2s.kernels.elementwise import Elementwise, RowSum
from minis2s.layers import softmax
from minis2s.layers.softmax import SoftmaxCache

MASKED_SCORES = Elementwise(
    "softmax_masked_scores",
    inputs="s m lowest",
    outputs="masked",
    body="""
        masked = where(m, s, lowest)
    """,
)

NUMERATOR = Elementwise(
    "softmax_numerator",
    inputs="s m top",
    outputs="e",
    body="""
        e = exp(where(m, s - top, 0)) * m
    """,
)

NORMALISE = Elementwise(
    "softmax_normalise",
    inputs="total",
    outputs="w",
    body="""
        w = divide(w, where(total, total, 1))
    """,
)

W_DOT_DW = RowSum("softmax_w_dot_dw", "w dw", "w * dw")

BACKWARD = Elementwise(
    "softmax_jacobian",
    inputs="w dw w_dot_dw",
    outputs="ds",
    body="""
        ds = w * (dw - w_dot_dw)
    """,
)


def forward(s: Any, mask: Any = None, *, mask_checked: bool = False) -> tuple[Any, SoftmaxCache]:
    """Softmax over the last axis restricted to positions where `mask` is 1.

    Shapes: s (..., S), mask of 0/1 with s's axes, each of s's size or 1 (e.g. (N, 1, S)), or
    None -> w (..., S). `mask_checked` as the reference's: attention's mask, checked once.
    """
    if mask is None:
        return softmax.forward(s, mask)  # nothing to fuse away
    xp = get_array_module(s)
    m = mask.astype(s.dtype, copy=False)
    lowest = float(np.finfo(s.dtype).min)
    masked = xp.empty_like(s)
    MASKED_SCORES(s, m, lowest, masked)
    top = masked.max(axis=-1, keepdims=True)  # the largest valid score of each row
    xp.maximum(top, lowest, out=top)  # -inf only if every valid score is: then lowest, not NaN
    e = masked  # its buffer, reused
    NUMERATOR(s, m, top, e)
    NORMALISE(e.sum(axis=-1, keepdims=True), e)  # e is now w
    return e, SoftmaxCache(e)


def backward(dw: Any, cache: SoftmaxCache) -> Any:
    """ds = w * (dw - sum_s w dw): the softmax Jacobian; 0 at padding. Shapes: dw (..., S)."""
    ds = get_array_module(dw).empty_like(dw)
    BACKWARD(cache.w, dw, W_DOT_DW(cache.w, dw), ds)
    return ds

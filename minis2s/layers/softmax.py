"""Masked softmax over the last axis: weights exactly 0 on padding, never NaN from padding or
from -inf scores (a valid score of +inf, which finite states cannot give, is NaN, as in PyTorch).

    w_s = m_s exp(s_s - max_valid s) / sum_s' m_s' exp(s_s' - max_valid s)

Only values <= 0 are exponentiated (log-sum-exp shift), padding may hold anything (even inf),
and a row with no valid position gets all-zero weights. So does a row whose valid scores are all
-inf (every exp(s_s) is 0, there is no distribution to normalise): never NaN. The shift, max_valid
s, is kept >= the dtype's lowest finite number, so such a row gets exp(-inf - lowest) = 0, not
exp(-inf - (-inf)) = NaN.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module

WHERE = "softmax"


class SoftmaxCache(NamedTuple):
    w: Any  # (..., S) weights, exactly 0 at padding


def forward(s: Any, mask: Any = None) -> tuple[Any, SoftmaxCache]:
    """Softmax over the last axis restricted to positions where `mask` is 1.

    Shapes: s (..., S), mask broadcastable to s (e.g. (N, 1, S)) of 0/1, or None -> w (..., S).
    Padding gets weight exactly 0; a row with no valid position, or whose valid scores are all
    -inf, gets all zeros. Only values <= 0 are exponentiated, so nothing overflows, and scores at
    padding are never read.
    """
    _check_forward(s, mask)
    xp = get_array_module(s)
    valid = xp.ones(s.shape, dtype=bool) if mask is None else mask > 0  # broadcasts against s
    s = xp.where(valid, s, 0.0)  # padding may hold anything (even inf); drop it
    lowest = np.finfo(s.dtype).min  # the shift's floor: all valid s = -inf gives 0s, not NaN
    s_max = xp.maximum(xp.where(valid, s, lowest).max(axis=-1, keepdims=True), lowest)
    with np.errstate(over="ignore"):  # a float32 spread above 3.4e38 gives -inf: exp is 0, right
        e = xp.exp(xp.where(valid, s - s_max, 0.0)) * valid  # exp(<= 0); 0 at padding
    # The max itself contributes exp(0) = 1, so the sum is >= 1 unless a row has no valid
    # position or only -inf scores, where e is all 0 and dividing by 1 keeps the weights 0.
    w = e / xp.maximum(e.sum(axis=-1, keepdims=True), 1.0)
    return w, SoftmaxCache(w)


def _check_forward(s: Any, mask: Any) -> None:
    """s a float array; mask None or an array that broadcasts to s's shape without growing it.
    A decoder's attention calls it at every step, so the usual case, a mask of s's own shape,
    costs a few compares."""
    if (
        getattr(getattr(s, "dtype", None), "kind", None) == "f" and hasattr(s, "shape")
        and (mask is None or getattr(mask, "shape", None) == s.shape and hasattr(mask, "dtype"))
    ):  # fmt: skip
        return  # the usual case
    validate.array(f"{WHERE}.forward", "s", s, "..., S")
    validate.floating(f"{WHERE}.forward", "s", s)
    if mask is None:
        return
    validate.array(f"{WHERE}.forward", "mask", mask, "..., S")
    got, want = tuple(mask.shape), tuple(s.shape)
    tail = want[len(want) - len(got) :]  # the axes the mask lines up with, from the right
    fits = len(got) <= len(want) and all(g in (1, w) for g, w in zip(got, tail, strict=True))
    if not fits:
        raise ValueError(
            f"{WHERE}.forward: mask has shape {got}, which does not broadcast to the scores' "
            f"{want}; give it the scores' shape or 1 on the axes it shares, e.g. (N, 1, S)"
        )


def backward(dw: Any, cache: SoftmaxCache) -> Any:
    """ds = w * (dw - sum_s w dw): the softmax Jacobian; 0 at padding. Shapes: dw (..., S), the
    weights' shape (a smaller one would broadcast into a wrong ds, so it is refused)."""
    validate.cache(f"{WHERE}.backward", cache, SoftmaxCache, "softmax.forward")
    w = cache.w
    validate.gradient(f"{WHERE}.backward", "dw", dw, w.shape, "..., S", w.dtype)
    return w * (dw - (w * dw).sum(axis=-1, keepdims=True))

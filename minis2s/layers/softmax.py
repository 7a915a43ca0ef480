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


def forward(s: Any, mask: Any = None, *, mask_checked: bool = False) -> tuple[Any, SoftmaxCache]:
    """Softmax over the last axis restricted to positions where `mask` is 1.

    Shapes: s (..., S), mask of 0/1 with as many axes as s, each of s's size or 1 (e.g.
    (N, 1, S)), or None -> w (..., S). Padding gets weight exactly 0; a row with no valid
    position, or whose valid scores are all -inf, gets all zeros. Only values <= 0 are
    exponentiated, so nothing overflows, and scores at padding are never read.
    `mask_checked=True`: the caller has checked that the mask holds only 0 and 1 (attention, once
    per batch), so its values are not looked at again at every decoding step.
    """
    _check_forward(s, mask, mask_checked)
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


def _check_forward(s: Any, mask: Any, mask_checked: bool) -> None:
    """s a float array with S >= 1 positions; mask None or a 0/1 array (values unless
    `mask_checked`) of s's axes, each of s's size or 1. A decoder's attention calls it at every
    step, so the usual case, a checked mask of s's own shape, costs a few compares."""
    where = f"{WHERE}.forward"
    if mask_checked is not True and mask_checked is not False:  # "no" would read as True
        validate.boolean(where, "mask_checked", mask_checked)
    if (
        getattr(getattr(s, "dtype", None), "kind", None) == "f" and getattr(s, "ndim", 0) > 0
        and s.shape[-1] > 0 and (mask is None or getattr(mask, "shape", None) == s.shape
             and hasattr(mask, "dtype") and (mask_checked or mask.dtype.kind == "b"))
    ):  # fmt: skip
        return  # the usual case
    validate.array(where, "s", s, "..., S")
    validate.floating(where, "s", s)
    if s.ndim == 0 or s.shape[-1] == 0:
        got = "no axis" if s.ndim == 0 else f"S = 0 positions, shape {tuple(s.shape)}"
        raise ValueError(f"{where}: s has {got}; give scores (..., S) with S >= 1")
    if mask is None:
        return
    validate.array(where, "mask", mask, "..., S")
    got, want = tuple(mask.shape), tuple(s.shape)
    tail = want[len(want) - len(got) :]  # the axes the mask lines up with, from the right
    fits = len(got) <= len(want) and all(g in (1, w) for g, w in zip(got, tail, strict=True))
    if not fits:
        raise ValueError(
            f"{where}: mask has shape {got}, which does not broadcast to the scores' "
            f"{want}; give it the scores' shape or 1 on the axes it shares, e.g. (N, 1, S)"
        )
    if len(got) < len(want):  # (N, S) over (N, T, S) lines up with (T, S): wrong when T == N
        raise ValueError(
            f"{where}: mask has {len(got)} axes {got}, the scores {want} have {len(want)}; "
            "give it one axis per axis of the scores, 1 where it is the same, e.g. (N, 1, S)"
        )
    validate.real(where, mask)
    xp = get_array_module(mask)
    if not mask_checked and not bool(xp.all((mask == 0) | (mask == 1))):
        raise ValueError(f"{where}: mask must hold only 0 and 1 (1 = real position, 0 = padding)")


def backward(dw: Any, cache: SoftmaxCache) -> Any:
    """ds = w * (dw - sum_s w dw): the softmax Jacobian; 0 at padding. Shapes: dw (..., S), the
    weights' shape (a smaller one would broadcast into a wrong ds, so it is refused)."""
    validate.cache(f"{WHERE}.backward", cache, SoftmaxCache, "softmax.forward")
    w = cache.w
    validate.gradient(f"{WHERE}.backward", "dw", dw, w.shape, "..., S", w.dtype)
    return w * (dw - (w * dw).sum(axis=-1, keepdims=True))

"""Padding set to zero by a select, shared by the layers that read padded sequences."""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module


def zero_padding(a: Any, mask: Any) -> Any:
    """a with every padded position (mask = 0) set to 0 by a select, so that whatever padding
    holds (NaN, inf) reaches no result: 0 * NaN would still be NaN. The recurrent cells zero
    their input x before the input projection, attention its encoder states before the context;
    nothing reads those positions, so finite inputs give the same results either way.

    Shapes: a (N, T, F) (x (N, T, D) for the cells, enc (N, S, He) for attention), mask (N, T)
    of 0/1 or None -> an array of a's shape (a itself when mask is None). Three axes exactly:
    the mask is broadcast as (N, T, 1).
    """
    if mask is None:
        return a
    xp = get_array_module(a)
    return xp.where(xp.asarray(mask)[:, :, None] > 0, a, a.dtype.type(0))

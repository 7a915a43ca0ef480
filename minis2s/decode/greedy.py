"""Greedy decoding: at every step take the most probable token, y_t = argmax_y log p(y | y_<t, x),
until EOS or the length limit. The loop over the steps, which sampling shares, is
`decode_one_each` in common.py; greedy gives it the argmax as its choice."""

from __future__ import annotations

from typing import Any

from minis2s import validate
from minis2s.decode.common import Hypothesis, check_batch, decode_one_each


def greedy(
    model: Any, src: Any, src_mask: Any, *, max_len_a: float = 2.0, max_len_b: int = 10
) -> list[list[Hypothesis]]:
    """Decode a batch greedily. src (N, S) ids (or (N, S, F) features), src_mask (N, S).

    Each sentence stops at its own EOS or at max_len_a * |src| + max_len_b tokens.
    Returns [[Hypothesis]] per sentence (one hypothesis each, the shape beam search returns).
    """
    validate.model("greedy", model)
    check_batch("greedy", src, src_mask)
    argmax = lambda logp: logp.argmax(axis=-1)  # (N, V) -> (N,)
    return decode_one_each(model, src, src_mask, argmax, max_len_a, max_len_b, "greedy")

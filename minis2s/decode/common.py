"""What every decoder shares: the result type, per-sentence length limits, cutting at EOS."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s.backend import to_numpy
from minis2s.data.vocab import EOS_ID


class Hypothesis(NamedTuple):
    """One decoded sequence: ids without BOS/EOS, total log-probability, the score it was ranked
    by (after any length penalty), attention weights (len(ids) + 1, S_n) or None (the extra row
    is the step that produced EOS, when it was produced)."""

    ids: list[int]
    logprob: float
    score: float
    attention: np.ndarray | None


def length_limits(src_mask: Any, max_len_a: float, max_len_b: int) -> np.ndarray:
    """Per-sentence maximum output length a * source_length + b (at least 1), (N,) int."""
    if max_len_a < 0 or max_len_b < 0 or (max_len_a == 0 and max_len_b < 1):
        raise ValueError(
            f"decode: max length a * |src| + b must allow at least one token; got a={max_len_a}, "
            f"b={max_len_b}"
        )
    S = to_numpy(src_mask).sum(axis=1)
    return np.maximum(1, np.floor(max_len_a * S + max_len_b)).astype(int)


def finish(ids: list[int], logprob: float, score: float, attn: Any, S: int) -> Hypothesis:
    """Cut `ids` at the first EOS (dropped) and the attention rows to match; S = source length."""
    cut = ids.index(EOS_ID) if EOS_ID in ids else len(ids)
    a = None
    if attn is not None:
        a = to_numpy(attn)[: min(cut + 1, len(ids)), :S]
    return Hypothesis(ids[:cut], float(logprob), float(score), a)

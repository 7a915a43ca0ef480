"""Greedy decoding: at every step take the most probable token, until EOS or the length limit."""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s.backend import get_array_module, to_numpy
from minis2s.data.vocab import BOS_ID, EOS_ID
from minis2s.decode.common import Hypothesis, finish, length_limits


def greedy(
    model: Any, src: Any, src_mask: Any, *, max_len_a: float = 2.0, max_len_b: int = 10
) -> list[list[Hypothesis]]:
    """Decode a batch greedily. src (N, S) ids (or (N, S, F) features), src_mask (N, S).

    Each sentence stops at its own EOS or at max_len_a * |src| + max_len_b tokens.
    Returns [[Hypothesis]] per sentence (one hypothesis each, the shape beam search returns).
    """
    limits = length_limits(src_mask, max_len_a, max_len_b)
    state = model.encode(src, src_mask)
    xp = get_array_module(state.enc)
    N = limits.shape[0]
    y = xp.full((N,), BOS_ID, dtype=np.int64)
    logprob = xp.zeros(N, dtype=np.float64)
    done = np.zeros(N, dtype=bool)
    ids, attn = [], []
    for t in range(int(limits.max())):
        logp, state, w = model.step(y, state)
        y = logp.argmax(axis=-1)
        step_lp = logp[xp.arange(N), y].astype(np.float64)
        logprob += xp.where(xp.asarray(done), 0.0, step_lp)
        ids.append(y)
        attn.append(w)
        done |= (to_numpy(y) == EOS_ID) | (t + 1 >= limits)
        if done.all():
            break
    ids_h = to_numpy(xp.stack(ids, axis=1))  # (N, T_out)
    attn_h = to_numpy(xp.stack(attn, axis=1)) if attn[0] is not None else None
    lp, S = to_numpy(logprob), to_numpy(src_mask).sum(axis=1).astype(int)
    out = []
    for n in range(N):
        row = ids_h[n, : limits[n]].tolist()
        a = attn_h[n] if attn_h is not None else None
        out.append([finish(row, lp[n], lp[n], a, S[n])])
    return out

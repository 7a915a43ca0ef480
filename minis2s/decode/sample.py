"""Ancestral sampling with temperature and top-k: draw each token from the model's distribution."""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s.backend import get_array_module, to_numpy
from minis2s.data.vocab import BOS_ID, EOS_ID
from minis2s.decode.common import Hypothesis, finish, length_limits


def sample(
    model: Any,
    src: Any,
    src_mask: Any,
    *,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int = 0,
    max_len_a: float = 2.0,
    max_len_b: int = 10,
) -> list[list[Hypothesis]]:
    """Sample one output per sentence from p(y_t | y_<t, x)^(1/temperature), restricted to the
    top_k most probable tokens when top_k > 0. Returns [[Hypothesis]] per sentence; logprob is
    the model's (untempered) log-probability of the sample."""
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be > 0; got {temperature} (use greedy for 0)")
    if top_k < 0:
        raise ValueError(f"sample: top_k must be >= 0 (0 = no limit); got {top_k}")
    limits = length_limits(src_mask, max_len_a, max_len_b)
    state = model.encode(src, src_mask)
    xp = get_array_module(state.enc)
    N = limits.shape[0]
    y = np.full((N,), BOS_ID, dtype=np.int64)
    logprob, done = np.zeros(N), np.zeros(N, dtype=bool)
    ids, attn = [], []
    for t in range(int(limits.max())):
        logp, state, w = model.step(xp.asarray(y), state)
        logp = to_numpy(logp).astype(np.float64)  # (N, V)
        y = _draw(logp, temperature, top_k, rng)
        logprob += np.where(done, 0.0, logp[np.arange(N), y])
        ids.append(y)
        attn.append(None if w is None else to_numpy(w))
        done |= (y == EOS_ID) | (t + 1 >= limits)
        if done.all():
            break
    ids_h = np.stack(ids, axis=1)
    attn_h = np.stack(attn, axis=1) if attn[0] is not None else None
    S = to_numpy(src_mask).sum(axis=1).astype(int)
    return [
        [finish(ids_h[n, : limits[n]].tolist(), logprob[n], logprob[n],
                None if attn_h is None else attn_h[n], S[n])]
        for n in range(N)
    ]  # fmt: skip


def _draw(logp: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator):
    """One token per row from softmax(logp / temperature) over the top_k entries (N,)."""
    z = logp / temperature
    if 0 < top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)  # log-sum-exp shift: exp of values <= 0 only
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random((z.shape[0], 1))
    return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), z.shape[1] - 1)

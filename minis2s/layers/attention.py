"""Attention: score each encoder state against a query, a masked softmax, the context vector.

Equations (one query q_t, encoder states k_s = enc[:, s] serving as keys and values):
    e_ts = score(q_t, k_s)                          for s = 1..S
    a_t  = softmax over the valid s of e_ts         a_ts = 0 at padding
    c_t  = sum_s a_ts k_s

Score kinds (SCORES):
    dot         e = q . k                                   Hq == He; no parameters
    scaled_dot  e = q . k / sqrt(He)                        Hq == He; no parameters
    general     e = q W_a k^T                               W_a (Hq, He)              (Luong)
    concat      e = v^T tanh(W_a [q; k])                    W_a (A, Hq + He), v (A,)  (Luong)
    additive    e = v^T tanh(W_q q + W_k k + b)             W_q (A, Hq), W_k (A, He), b (A,),
                                                            v (A,)                    (Bahdanau)

concat is additive without the bias and with [W_q | W_k] stored as one matrix, so both share one
pair of functions. The parts that depend on the keys alone (k W_a^T for general, W_k k + b for
the tanh kinds) are computed once per call and shared by all Tq queries.

Shapes: q (N, Tq, Hq) queries (a decoder step passes q[:, None], Tq = 1), enc (N, S, He),
mask (N, S) of 0/1 -> context (N, Tq, He), weights (N, Tq, S).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module

WHERE = "attention"
SCORES = ("dot", "scaled_dot", "general", "concat", "additive")
PARAMS = {
    "dot": (),
    "scaled_dot": (),
    "general": ("W_a",),
    "concat": ("W_a", "v"),
    "additive": ("W_q", "W_k", "b", "v"),
}


class SoftmaxCache(NamedTuple):
    w: Any  # (..., S) weights, exactly 0 at padding


class AttentionCache(NamedTuple):
    q: Any  # (N, Tq, Hq)
    enc: Any  # (N, S, He)
    p: dict
    score: str
    w: Any  # (N, Tq, S) attention weights
    aux: Any  # general: keys k W_a^T (N, S, Hq); concat/additive: tanh (N, Tq, S, A); else None


def _check_score(score: str) -> None:
    if score not in SCORES:
        raise ValueError(
            f"{WHERE}: unknown score kind {score!r}; choose one of {', '.join(SCORES)}"
        )


def init(
    score: str,
    Hq: int,
    He: int,
    rng: np.random.Generator,
    A: int | None = None,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """Parameters of a score kind, each ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as nn.Linear.

    A (the tanh layer's width) defaults to He. Returns {} for "dot" and "scaled_dot".
    """
    _check_score(score)
    A = He if A is None else A
    shapes = {
        "dot": {},
        "scaled_dot": {},
        "general": {"W_a": (Hq, He)},
        "concat": {"W_a": (A, Hq + He), "v": (A,)},
        "additive": {"W_q": (A, Hq), "W_k": (A, He), "b": (A,), "v": (A,)},
    }[score]
    fan_in = {"W_a": He if score == "general" else Hq + He, "W_q": Hq, "W_k": He, "b": He, "v": A}
    out = {}
    for name, s in shapes.items():
        k = 1.0 / math.sqrt(fan_in[name])
        out[name] = rng.uniform(-k, k, s).astype(dtype)
    return out


def softmax_forward(s: Any, mask: Any = None) -> tuple[Any, SoftmaxCache]:
    """Softmax over the last axis restricted to positions where `mask` is 1.

    Shapes: s (..., S), mask broadcastable to s (e.g. (N, 1, S)) of 0/1, or None -> w (..., S).
    Padding gets weight exactly 0; a row with no valid position gets all zeros. Only values
    <= 0 are exponentiated, so nothing overflows, and scores at padding are never read.
    """
    xp = get_array_module(s)
    valid = xp.ones(s.shape, dtype=bool) if mask is None else xp.broadcast_to(mask > 0, s.shape)
    s = xp.where(valid, s, 0.0)  # padding may hold anything (even inf); drop it
    s_max = xp.where(valid, s, s.min(axis=-1, keepdims=True)).max(axis=-1, keepdims=True)
    e = xp.exp(xp.where(valid, s - s_max, 0.0)) * valid  # exp(<= 0); 0 at padding
    # The max itself contributes exp(0) = 1, so the sum is >= 1 unless a row has no valid
    # position, where e is all 0 and dividing by 1 keeps the weights 0.
    w = e / xp.maximum(e.sum(axis=-1, keepdims=True), 1.0)
    return w, SoftmaxCache(w)


def softmax_backward(dw: Any, cache: SoftmaxCache) -> Any:
    """ds = w * (dw - sum_s w dw): the softmax Jacobian; 0 at padding. Shapes: dw (..., S)."""
    w = cache.w
    return w * (dw - (w * dw).sum(axis=-1, keepdims=True))


def _check(q: Any, enc: Any, p: dict[str, Any], score: str) -> tuple[int, int]:
    """Validate q, enc against each other and against p; return (N, S)."""
    where = f"{WHERE}.forward"
    _check_score(score)
    missing = [k for k in PARAMS[score] if k not in p]
    if missing:
        raise ValueError(
            f"{where}: score {score!r} needs parameters {', '.join(PARAMS[score])}; "
            f"p lacks {', '.join(missing)}"
        )
    validate.shape(where, "q", q, (None, None, None), "N, Tq, Hq")
    validate.shape(where, "enc", enc, (q.shape[0], None, None), "N, S, He")
    (N, Tq, Hq), S = q.shape, enc.shape[1]
    if score in ("dot", "scaled_dot"):
        validate.shape(where, "enc", enc, (N, None, Hq), "N, S, He = Hq")  # q . k needs He == Hq
    elif score == "general":
        validate.shape(where, "q", q, (N, None, p["W_a"].shape[0]), "N, Tq, Hq")
        validate.shape(where, "enc", enc, (N, None, p["W_a"].shape[1]), "N, S, He")
    elif score == "concat":
        validate.shape(where, "p['W_a']", p["W_a"], (None, Hq + enc.shape[2]), "A, Hq + He")
    else:
        validate.shape(where, "q", q, (N, None, p["W_q"].shape[1]), "N, Tq, Hq")
        validate.shape(where, "enc", enc, (N, None, p["W_k"].shape[1]), "N, S, He")
    dtype = p[PARAMS[score][0]].dtype if PARAMS[score] else q.dtype
    validate.floating(where, "q", q, dtype)
    validate.floating(where, "enc", enc, dtype)
    if N == 0 or Tq == 0 or S == 0:
        raise ValueError(f"{where}: empty batch: N = {N}, Tq = {Tq}, S = {S}; each must be >= 1")
    return N, S


def _tanh_parts(p: dict[str, Any], score: str, Hq: int) -> tuple[Any, Any, Any]:
    """(W_q (A, Hq), W_k (A, He), b (A,) or None) for the two tanh kinds."""
    if score == "concat":
        return p["W_a"][:, :Hq], p["W_a"][:, Hq:], None
    return p["W_q"], p["W_k"], p["b"]


def _scores(q: Any, enc: Any, p: dict[str, Any], score: str) -> tuple[Any, Any]:
    """Scores (N, Tq, S) and what the backward pass needs from their computation."""
    xp = get_array_module(q, enc)
    encT = enc.transpose(0, 2, 1)  # (N, He, S)
    if score == "dot":
        return q @ encT, None
    if score == "scaled_dot":
        return q @ encT * (1.0 / math.sqrt(enc.shape[-1])), None
    if score == "general":
        keys = enc @ p["W_a"].T  # (N, S, Hq), once for all queries
        return q @ keys.transpose(0, 2, 1), keys
    W_q, W_k, b = _tanh_parts(p, score, q.shape[-1])
    k_part = enc @ W_k.T if b is None else enc @ W_k.T + b  # (N, S, A), once for all queries
    z = xp.tanh((q @ W_q.T)[:, :, None, :] + k_part[:, None, :, :])  # (N, Tq, S, A)
    return z @ p["v"], z


def _scores_backward(ds: Any, cache: AttentionCache) -> tuple[Any, Any, dict[str, Any]]:
    """(dq, denc, dp) through the scores alone, from ds (N, Tq, S)."""
    q, enc, p, score, _, aux = cache
    if score in ("dot", "scaled_dot"):
        c = 1.0 if score == "dot" else 1.0 / math.sqrt(enc.shape[-1])
        return c * (ds @ enc), c * (ds.transpose(0, 2, 1) @ q), {}
    if score == "general":
        dkeys = ds.transpose(0, 2, 1) @ q  # (N, S, Hq)
        Hq, He = p["W_a"].shape
        dW_a = dkeys.reshape(-1, Hq).T @ enc.reshape(-1, He)
        return ds @ aux, dkeys @ p["W_a"], {"W_a": dW_a}
    z = aux
    Hq, He, A = q.shape[-1], enc.shape[-1], z.shape[-1]
    W_q, W_k, b = _tanh_parts(p, score, Hq)
    dv = (ds[..., None] * z).reshape(-1, A).sum(axis=0)
    da = ds[..., None] * p["v"] * (1 - z * z)  # (N, Tq, S, A), tanh' = 1 - tanh^2
    dq_part, dk_part = da.sum(axis=2), da.sum(axis=1)  # (N, Tq, A), (N, S, A)
    dW_q = dq_part.reshape(-1, A).T @ q.reshape(-1, Hq)
    dW_k = dk_part.reshape(-1, A).T @ enc.reshape(-1, He)
    if score == "concat":
        xp = get_array_module(ds)
        dp = {"W_a": xp.concatenate([dW_q, dW_k], axis=1), "v": dv}
    else:
        dp = {"W_q": dW_q, "W_k": dW_k, "b": dk_part.reshape(-1, A).sum(axis=0), "v": dv}
    return dq_part @ W_q, dk_part @ W_k, dp


def forward(
    q: Any, enc: Any, p: dict[str, Any], mask: Any = None, score: str = "general"
) -> tuple[Any, Any, AttentionCache]:
    """Attend from each query over the encoder states.

    Shapes: q (N, Tq, Hq), enc (N, S, He), mask (N, S) of 0/1 or None (all valid)
    -> context (N, Tq, He), weights (N, Tq, S). Weights are exactly 0 at padding and sum to 1
    over the valid positions; a row with no valid position gets zero weights and zero context.
    """
    N, S = _check(q, enc, p, score)
    xp = get_array_module(q, enc)
    m = xp.asarray(validate.mask(f"{WHERE}.forward", mask, N, S, q.dtype))
    s, aux = _scores(q, enc, p, score)
    w, _ = softmax_forward(s, m[:, None, :])
    return w @ enc, w, AttentionCache(q, enc, p, score, w, aux)


def backward(
    dcontext: Any, dweights: Any, cache: AttentionCache
) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients (dq (N, Tq, Hq), denc (N, S, He), dp) from dcontext (N, Tq, He) and
    dweights (N, Tq, S) or None."""
    enc, w = cache.enc, cache.w
    dw = dcontext @ enc.transpose(0, 2, 1)  # (N, Tq, S), through c = w enc
    if dweights is not None:
        dw = dw + dweights
    ds = softmax_backward(dw, SoftmaxCache(w))
    dq, denc, dp = _scores_backward(ds, cache)
    return dq, denc + w.transpose(0, 2, 1) @ dcontext, dp

"""Attention's keys: the part of the scores that depends on the encoder states alone, computed
once for all the queries (a decoder computes it once per batch, not per step), and its backward.

    dot, scaled_dot   keys = enc                                          Hk = He
    general           keys = enc W_a^T, as q W_a k^T = q . (k W_a^T)      Hk = Hq
    concat, additive  keys = enc W_k^T (+ b)                              Hk = A

concat's W_a = [W_q | W_k] gets the gradient of its W_k columns here, zeros in its W_q columns;
the query side (`attention.key_value_grads`) fills those. The score kinds, their equations and
how `attention.forward` composes the keys with the queries: attention.py.

Shapes: enc (N, S, He) -> keys (N, S, Hk).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minis2s import validate
from minis2s.backend import get_array_module
from minis2s.layers import _attention_checks as checks
from minis2s.layers import linear
from minis2s.layers._gemm import rows

WHERE = checks.WHERE


class KeysCache(NamedTuple):
    enc: Any  # (N, S, He)
    p: dict
    score: str


def _tanh_parts(p: dict[str, Any], score: str, Hq: int) -> tuple[Any, Any, Any]:
    """(W_q (A, Hq), W_k (A, He), b (A,)) for the two tanh kinds; None for what p lacks (concat
    has no b; keys_forward gets no W_q, forward_with_keys no W_k)."""
    if score == "concat":
        return p["W_a"][:, :Hq], p["W_a"][:, Hq:], None
    return p.get("W_q"), p.get("W_k"), p.get("b")


def keys_forward(enc: Any, p: dict[str, Any], score: str = "general") -> tuple[Any, KeysCache]:
    """The part of the scores that depends on the encoder states alone, once for all queries.

    Shapes: enc (N, S, He) -> keys (N, S, Hk): enc itself for dot and scaled_dot, enc W_a^T
    (Hk = Hq) for general, enc W_k^T (+ b) (Hk = A) for concat and additive.
    enc must be finite at padding (see attention.py's module docstring: `zero_padding`).
    """
    checks.check_keys(enc, p, score)
    if score in ("dot", "scaled_dot"):
        keys = enc
    elif score == "general":
        keys = rows(enc, p["W_a"].T)  # (N, S, Hq)
    else:
        # concat's W_a = [W_q | W_k] is (A, Hq + He), cut at Hq; additive has W_k apart (no cut)
        Hq = p["W_a"].shape[1] - enc.shape[2] if score == "concat" else 0
        _, W_k, b = _tanh_parts(p, score, Hq)
        keys = rows(enc, W_k.T)  # (N, S, A)
        if b is not None:  # additive's bias; concat has none
            keys = keys + b
    return keys, KeysCache(enc, p, score)


def keys_backward(dkeys: Any, cache: KeysCache) -> tuple[Any, dict[str, Any]]:
    """(denc (N, S, He), dp of the KEY_PARAMS) from dkeys (N, S, Hk)."""
    validate.cache(f"{WHERE}.keys_backward", cache, KeysCache, "attention.keys_forward")
    enc, p, score = cache
    N, S, He = enc.shape
    Hk = He if score in ("dot", "scaled_dot") else p.get("W_k", p.get("W_a")).shape[0]
    validate.gradient(f"{WHERE}.keys_backward", "dkeys", dkeys, (N, S, Hk), "N, S, Hk", enc.dtype)
    if score in ("dot", "scaled_dot"):
        return dkeys, {}
    # keys = enc W^T (+ b) is a linear map of every (n, s) row: its weight gradients
    g = linear.weight_grads(dkeys, enc, bias=score == "additive")  # W (Hk, He), b (Hk,)
    if score == "general":
        return rows(dkeys, p["W_a"]), {"W_a": g["W"]}
    Hq = p["W_a"].shape[1] - He if score == "concat" else 0  # as keys_forward cuts W_a
    _, W_k, _ = _tanh_parts(p, score, Hq)
    denc = rows(dkeys, W_k)
    if score == "concat":
        xp = get_array_module(dkeys)
        return denc, {"W_a": xp.concatenate([xp.zeros((Hk, Hq), g["W"].dtype), g["W"]], axis=1)}
    return denc, {"W_k": g["W"], "b": g["b"]}

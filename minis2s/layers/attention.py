"""Attention: score each encoder state against a query, a masked softmax, the context vector.

Equations (one query q_t, encoder states k_s = enc[:, s] serving as keys and values):
    e_ts = score(q_t, k_s)                          for s = 1..S
    a_t  = softmax over the valid s of e_ts         a_ts = 0 at padding
    c_t  = sum_s a_ts k_s

Backward, from dc_t = dL/dc_t (and any direct gradient of the weights, which adds to da_ts):
    da_ts  = dc_t . k_s                               through c_t = sum_s a_ts k_s
    de_ts  = a_ts (da_ts - sum_s' a_ts' da_ts')       the softmax's Jacobian: 0 at padding
    dk_s   = sum_t a_ts dc_t                          k_s as a value
then de_ts goes back through the score kind (dot: dq_t = sum_s de_ts k_s, and k_s as a key gets
sum_t de_ts q_t; general: the same with keys_s = W_a k_s in place of k_s; the tanh kinds, with
keys_s = W_k k_s (+ b), u_ts = W_q q_t + keys_s and z_ts = tanh(u_ts), so that e_ts = v . z_ts:
    du_ts  = de_ts v * (1 - z_ts^2)                   tanh' = 1 - tanh^2
    dq_t   = sum_s W_q^T du_ts,   dkeys_s = sum_t du_ts,   dW_q = sum_ts du_ts q_t^T,
    dv     = sum_ts de_ts z_ts
(query_grads, key_value_grads), and dkeys on through keys_backward).
In the code the scores e are `s` (their gradient `ds`) and the weights a are `w` (their gradient
`dw`, the da_ts above).

Score kinds (SCORES), q and k column vectors as in the papers (the code multiplies rows of
q (N, Tq, Hq) by W^T):
    dot         e = q . k                                   Hq == He; no parameters
    scaled_dot  e = q . k / sqrt(He)                        Hq == He; no parameters
    general     e = q^T W_a k                               W_a (Hq, He)              (Luong)
    concat      e = v^T tanh(W_a [q; k])                    W_a (A, Hq + He), v (A,)  (Luong)
    additive    e = v^T tanh(W_q q + W_k k + b)             W_q (A, Hq), W_k (A, He), b (A,),
                                                            v (A,)                    (Bahdanau)

concat is additive without the bias and with [W_q | W_k] stored as one matrix, so both share one
pair of functions.

The part of a score that depends on the encoder states alone, the keys, is computed once by
keys_forward and reused by every query (a decoder computes it once per batch, not per step);
keys_forward and keys_backward, with each kind's keys, live in `attention_keys.py`.
forward_with_keys scores the queries against the keys and attends over enc (the values).
forward and backward compose the two pairs; enc's gradient is the sum of the parts through the
keys and through the values. concat's W_a = [W_q | W_k] gets its gradient in two halves: the W_k
columns from keys_backward, the W_q columns from the query side (key_value_grads).

Shapes: q (N, Tq, Hq) queries (a decoder step passes q[:, None], Tq = 1), enc (N, S, He),
mask (N, S) of 0/1 -> context (N, Tq, He), weights (N, Tq, S).

Padding: weights are exactly 0 there, but 0 * inf = NaN, so encoder states that are not finite at
padding would still reach the context. `forward` zeroes them first (`zero_padding`, one copy of
enc per call); the split functions, which a decoder calls at every step, take enc as given, so a
caller with such states zeroes them once per batch before keys_forward. The library's encoder
gives zeros at padding already.

The checks of arguments and upstream gradients live in `_attention_checks.py`, so that this file
holds the math.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, validate
from minis2s.backend import get_array_module
from minis2s.layers import _attention_checks as checks
from minis2s.layers import linear, softmax
from minis2s.layers._gemm import rows
from minis2s.layers._padding import zero_padding
from minis2s.layers.attention_keys import KeysCache, _tanh_parts, keys_backward, keys_forward
from minis2s.layers.softmax import SoftmaxCache

WHERE = checks.WHERE
# the score kinds, and the parameters each needs (all; keys_forward's; forward_with_keys's)
SCORES, PARAMS = checks.SCORES, checks.PARAMS
KEY_PARAMS, QUERY_PARAMS = checks.KEY_PARAMS, checks.QUERY_PARAMS


class QueryCache(NamedTuple):
    q: Any  # (N, Tq, Hq)
    keys: Any  # (N, S, Hk), Hk = He (dot kinds), Hq (general) or A (tanh kinds)
    enc: Any  # (N, S, He), the values
    p: dict
    score: str
    w: Any  # (N, Tq, S) attention weights
    z: Any  # tanh kinds: tanh(q W_q^T + keys) (N, Tq, S, A); else None


class AttentionCache(NamedTuple):
    keys: KeysCache
    query: QueryCache


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
    checks.check_score(score)
    for name, size in (("Hq", Hq), ("He", He), ("A", A)):
        if not (name == "A" and size is None):  # A None: He, below
            validate.size(f"{WHERE}.init", name, size)
    A = He if A is None else A
    shapes = {
        "dot": {},
        "scaled_dot": {},
        "general": {"W_a": (Hq, He)},
        "concat": {"W_a": (A, Hq + He), "v": (A,)},
        "additive": {"W_q": (A, Hq), "W_k": (A, He), "b": (A,), "v": (A,)},
    }[score]
    fan_in = {"W_a": He if score == "general" else Hq + He, "W_q": Hq, "W_k": He, "b": He, "v": A}
    validate.weights(f"{WHERE}.init", rng, dtype, list(shapes.values()),
                     {"Hq": Hq, "He": He, "A": A})  # fmt: skip
    out = {}
    for name, s in shapes.items():
        k = 1.0 / math.sqrt(fan_in[name])
        out[name] = rng.uniform(-k, k, s).astype(dtype)
    return out


def _at_b(a: Any, b: Any) -> Any:
    """a^T b per batch row: a (N, Tq, S), b (N, Tq, Hb) -> (N, S, Hb), Hb = He (b = dcontext) or
    Hq (b = q). With Tq = 1 (a decoder step) it is an outer product, which a broadcast multiply
    does several times faster than matmul's N matrix products of inner size 1."""
    aT = a.transpose(0, 2, 1)  # (N, S, Tq)
    return aT * b if a.shape[1] == 1 else aT @ b


def _dot_scale(score: str, keys: Any) -> float:
    """The factor of the dot kinds' scores e = scale q . k: 1 / sqrt(Hk) for scaled_dot, else 1."""
    return 1.0 / math.sqrt(keys.shape[-1]) if score == "scaled_dot" else 1.0


def _tanh_grad(ds: Any, v: Any, z: Any) -> Any:
    """du_ts = ds_ts v * (1 - z_ts^2) (e = v . z, z = tanh(u)): ds (N, Tq, S), v (A,),
    z (N, Tq, S, A) -> du (N, Tq, S, A), which query_grads and key_value_grads sum."""
    return ds[..., None] * v * (1 - z * z)


def forward_with_keys(
    q: Any,
    keys: Any,
    enc: Any,
    p: dict[str, Any],
    mask: Any = None,
    score: str = "general",
    *,
    mask_checked: bool = False,
) -> tuple[Any, Any, QueryCache]:
    """Attend from each query, given the keys from keys_forward; enc serves as the values.

    Shapes: q (N, Tq, Hq), keys (N, S, Hk), enc (N, S, He), mask (N, S) of 0/1 or None
    -> context (N, Tq, He), weights (N, Tq, S), as `forward`. keys and enc must be finite at
    padding (see the module docstring: `zero_padding`).
    `mask_checked=True`: mask is what `validate.mask` returned for it, checked once by the caller
    (a decoder, once per batch), so its values are not checked again at every step (on CuPy that
    check is a device-to-host round trip).
    """
    N, S = checks.check_query(q, keys, enc, p, score)
    xp = get_array_module(q, keys, enc)
    m = xp.asarray(checks.query_mask(mask, N, S, q.dtype, mask_checked))
    z = None
    if score in ("dot", "general"):
        s = q @ keys.transpose(0, 2, 1)  # (N, Tq, S)
    elif score == "scaled_dot":
        s = q @ keys.transpose(0, 2, 1) * _dot_scale(score, keys)  # (N, Tq, S)
    else:
        W_q, _, _ = _tanh_parts(p, score, q.shape[-1])
        z = xp.tanh(rows(q, W_q.T)[:, :, None, :] + keys[:, None, :, :])  # (N, Tq, S, A)
        s = z @ p["v"]
    masked_softmax = backend.current().kernel("softmax.forward", softmax.forward)  # a twin on cupy
    # the mask as (N, 1, S), one row for all Tq queries -> w (N, Tq, S)
    w, _ = masked_softmax(s, m[:, None, :], mask_checked=True)
    return w @ enc, w, QueryCache(q, keys, enc, p, score, w, z)


def backward_with_keys(
    dcontext: Any, dweights: Any, cache: QueryCache
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(dq (N, Tq, Hq), dkeys (N, S, Hk), denc through the values (N, S, He), dp of the
    QUERY_PARAMS) from dcontext (N, Tq, He) and dweights (N, Tq, S) or None.

    Three parts, which a decoder calls apart: score_grads and query_grads at every step (the next
    step back needs dq), key_value_grads once after its loop over all the steps' ds and dcontext.
    """
    _check_grads(f"{WHERE}.backward_with_keys", cache, dcontext=dcontext, dweights=dweights)
    ds = score_grads(dcontext, dweights, cache)
    return (query_grads(ds, cache), *key_value_grads(dcontext, ds, cache))


def _check_grads(where: str, cache: Any, **grads: Any) -> None:
    """cache the QueryCache of forward_with_keys (not forward's AttentionCache, whose .query it
    is, nor keys_forward's KeysCache), then the upstream gradients against it."""
    validate.cache(where, cache, QueryCache, "attention.forward_with_keys")
    checks.check_grads(where, cache, **grads)


def score_grads(dcontext: Any, dweights: Any, cache: QueryCache) -> Any:
    """ds (N, Tq, S), the gradient of the scores e, from dcontext (N, Tq, He) and dweights
    (N, Tq, S) or None."""
    _check_grads(f"{WHERE}.score_grads", cache, dcontext=dcontext, dweights=dweights)
    dw = dcontext @ cache.enc.transpose(0, 2, 1)  # (N, Tq, S), through context = w enc
    if dweights is not None:
        dw = dw + dweights
    masked_softmax_grad = backend.current().kernel("softmax.backward", softmax.backward)
    return masked_softmax_grad(dw, SoftmaxCache(cache.w))


def query_grads(ds: Any, cache: QueryCache) -> Any:
    """dq (N, Tq, Hq) from the scores' gradient ds (N, Tq, S)."""
    _check_grads(f"{WHERE}.query_grads", cache, ds=ds)
    q, keys, _, p, score, _, z = cache
    if score in ("dot", "general", "scaled_dot"):
        return _dot_scale(score, keys) * (ds @ keys)  # dq_t = scale sum_s ds_ts k_s
    W_q, _, _ = _tanh_parts(p, score, q.shape[-1])
    du = _tanh_grad(ds, p["v"], z)  # (N, Tq, S, A)
    return rows(du.sum(axis=2), W_q)  # u = q W_q^T + keys: sum over s, the keys q met


def key_value_grads(dcontext: Any, ds: Any, cache: QueryCache) -> tuple[Any, Any, dict[str, Any]]:
    """(dkeys (N, S, Hk), denc through the values (N, S, He), dp of the QUERY_PARAMS): the
    gradients that are sums over the queries, from dcontext (N, Tq, He) and ds (N, Tq, S).

    A decoder calls this once for all its steps, with their dcontext and ds stacked on the Tq axis
    and their caches stacked by `stack_queries`: one batched product instead of T outer products.
    """
    _check_grads(f"{WHERE}.key_value_grads", cache, dcontext=dcontext, ds=ds)
    q, keys, enc, p, score, w, z = cache
    denc = _at_b(w, dcontext)  # (N, S, He), through context = w enc
    if score in ("dot", "general", "scaled_dot"):
        return _dot_scale(score, keys) * _at_b(ds, q), denc, {}  # dkeys_s = scale sum_t ds_ts q_t
    Hq, A = q.shape[-1], z.shape[-1]
    dv = ds.reshape(-1) @ z.reshape(-1, A)  # sum over (n, t, s) of ds z
    du = _tanh_grad(ds, p["v"], z)  # (N, Tq, S, A)
    # u = q W_q^T + keys broadcast over (Tq, S): each side sums du over the axis it was copied on
    du_q, dkeys = du.sum(axis=2), du.sum(axis=1)  # (N, Tq, A), (N, S, A)
    dW_q = linear.weight_grads(du_q, q, bias=False)["W"]  # (A, Hq), through q W_q^T
    if score == "concat":
        xp = get_array_module(ds)
        He = p["W_a"].shape[1] - Hq
        dp = {"W_a": xp.concatenate([dW_q, xp.zeros((A, He), dW_q.dtype)], axis=1), "v": dv}
    else:
        dp = {"W_q": dW_q, "v": dv}
    return dkeys, denc, dp


def stack_queries(caches: list[QueryCache]) -> QueryCache:
    """One QueryCache for the queries of several caches that share keys, enc and p (a decoder's
    steps), their q, w, z joined on the Tq axis in the order given."""
    if not caches:  # else an IndexError from caches[0]
        raise ValueError(
            f"{WHERE}.stack_queries: no caches to stack; give the QueryCache of at least one "
            "forward_with_keys call"
        )
    xp = get_array_module(caches[0].q)
    join = lambda arrays: xp.concatenate(arrays, axis=1)  # noqa: E731
    c0 = caches[0]
    z = None if c0.z is None else join([c.z for c in caches])
    return c0._replace(q=join([c.q for c in caches]), w=join([c.w for c in caches]), z=z)


def forward(
    q: Any, enc: Any, p: dict[str, Any], mask: Any = None, score: str = "general"
) -> tuple[Any, Any, AttentionCache]:
    """Attend from each query over the encoder states: keys_forward, then forward_with_keys.

    Shapes: q (N, Tq, Hq), enc (N, S, He), mask (N, S) of 0/1 or None (all valid)
    -> context (N, Tq, He), weights (N, Tq, S). Weights are exactly 0 at padding and sum to 1
    over the valid positions; a row with no valid position gets zero weights and zero context.
    enc may hold anything at padding (even inf): those rows are zeroed first (`zero_padding`).
    """
    N, S = checks.check_forward(q, enc, p, score)
    if mask is not None:  # checked once here, so forward_with_keys need not look at it again
        mask = validate.mask(f"{WHERE}.forward", mask, N, S, q.dtype, like=q)
        enc = zero_padding(enc, mask)
    keys, c_keys = keys_forward(enc, p, score)
    context, w, c_query = forward_with_keys(q, keys, enc, p, mask, score, mask_checked=True)
    return context, w, AttentionCache(c_keys, c_query)


def backward(
    dcontext: Any, dweights: Any, cache: AttentionCache
) -> tuple[Any, Any, dict[str, Any]]:
    """Gradients (dq (N, Tq, Hq), denc (N, S, He), dp) from dcontext (N, Tq, He) and
    dweights (N, Tq, S) or None."""
    validate.cache(f"{WHERE}.backward", cache, AttentionCache, "attention.forward")
    checks.check_grads(f"{WHERE}.backward", cache.query, dcontext=dcontext, dweights=dweights)
    dq, dkeys, denc_values, dp_query = backward_with_keys(dcontext, dweights, cache.query)
    denc_keys, dp_keys = keys_backward(dkeys, cache.keys)
    dp = dict(dp_keys)
    for k, g in dp_query.items():  # concat: each part fills its own half of W_a
        dp[k] = dp[k] + g if k in dp else g
    return dq, denc_values + denc_keys, dp

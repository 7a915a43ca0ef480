"""Softmax cross-entropy over a vocabulary, fused with log-sum-exp, with ignored tokens and label
smoothing (as PyTorch's `CrossEntropyLoss(ignore_index=..., label_smoothing=eps)`).

Equations (one token with logits z (V,) and target y; eps = label_smoothing):
    log p_v = z_v - max(z) - log sum_u exp(z_u - max(z))       (log-sum-exp: no overflow)
    q_v     = (1 - eps) [v == y] + eps / V                     (target distribution)
    l       = -sum_v q_v log p_v = (1 - eps) (-log p_y) + eps (-mean_v log p_v)
    L       = sum of l over kept tokens      ("sum")
            = that sum / number of kept tokens  ("mean"; 0 when no token is kept)
    dL/dz   = scale * (p - q)    scale = 1 ("sum") or 1 / kept ("mean"); 0 for ignored tokens

A token whose target equals ignore_index (padding, usually) adds nothing to the loss, the count
or the gradient: its row is dropped by a select, not multiplied by 0, so its logits may hold
anything (0 * NaN would be NaN). Only such rows are dropped: as in PyTorch, eps / V goes to every
class v of a kept token, the ignore_index class included. In the model that class is <pad>, and
<s>, which no target holds, gets eps / V too.

The two functions over the (M, V) logits, `log_softmax` and `softmax_minus_target`, are what the
numba and cupy backends replace with twins that make no full-size temporaries. The numba twins
walk the logits row by row: three passes over each row for log_softmax (for a row that fits in
cache, only the first comes from memory), one for the gradient. The cupy twins use fused kernels:
four full-size reads or writes for log_softmax and two for the gradient, where the reference makes
eight and seven.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, validate
from minis2s.backend import get_array_module

WHERE = "loss"
REDUCTIONS = ("mean", "sum")


class LossCache(NamedTuple):
    logp: Any  # (M, V) log-softmax of the logits, M = all leading axes flattened; read-only
    targets: Any  # (M,) target ids, 0 where ignored (any valid id; its row is masked)
    keep: Any  # (M, 1) float, 0 for ignored tokens
    eps: float  # label smoothing
    scale: float  # 1 ("sum") or 1 / kept tokens ("mean")
    shape: tuple  # shape of the logits, (N, T, V) or (M, V)


def log_softmax(logits: Any) -> Any:
    """log softmax over the last axis via log-sum-exp. Shapes: logits (..., V) -> (..., V)."""
    xp = get_array_module(logits)
    # A row spread wider than the dtype's range (float32: 3.4e38) overflows to -inf here, the
    # right limit of log p, and exp(-inf) = 0: nothing to warn about (the numba twin is silent).
    with np.errstate(over="ignore"):
        logp = logits - logits.max(axis=-1, keepdims=True)  # shifted: <= 0, so exp cannot overflow
    total = xp.exp(logp).sum(axis=-1, keepdims=True, dtype=_accumulator(logp.dtype))
    logp -= xp.log(total).astype(logp.dtype, copy=False)  # in place: logp is a new array
    return logp


def _accumulator(dtype: Any) -> Any:
    """The dtype a sum over V or over the tokens runs in: the input's, but float32 for float16,
    whose sums overflow past 65504 (a uniform row of V = 70 000; 24 000 tokens of loss 2.8)."""
    return np.promote_types(dtype, np.float32)


def softmax_minus_target(logp: Any, t: Any, keep: Any, eps: float, scale: float) -> Any:
    """scale * keep * (p - q) with p = exp(logp) and q the smoothed one-hot target: the gradient
    of the loss with respect to the logits. `logp` is not modified.

    Shapes: logp (M, V), t int (M,) the target ids y, keep (M, 1) of 0/1 -> (M, V).
    """
    xp = get_array_module(logp)
    M, V = logp.shape
    dz = xp.exp(logp)  # p, a new array: the cache stays valid for another backward call
    if eps:
        dz -= eps / V  # p - (smoothed part of q); in place on dz from here on
    dz[xp.arange(M), t] -= 1.0 - eps  # - (one-hot part of q)
    dz *= scale
    xp.copyto(dz, 0.0, where=keep == 0)  # 0 for ignored tokens: a select, as 0 * NaN is NaN
    return dz


def _check(logits: Any, targets: Any, ignore_index: Any, eps: float, reduction: str) -> None:
    """ValueError unless `forward`'s arguments fit together: float logits (N, T, V) or (M, V),
    targets of their leading shape in [0, V) (or ignore_index), eps in [0, 1], a known reduction."""
    where = f"{WHERE}.forward"
    validate.array(where, "logits", logits, "N, T, V) or (M, V")
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{where}: reduction must be one of {', '.join(REDUCTIONS)}; got {reduction!r}"
        )
    validate.finite(where, "label_smoothing", eps)  # None or "0.1": a TypeError from <=
    if ignore_index is not None:  # 2.5 or "0" matches no target: every pad token counted
        validate.integer(where, "ignore_index", ignore_index, None)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{where}: label_smoothing must be in [0, 1]; got {eps!r}")
    if getattr(logits, "ndim", 0) not in (2, 3):
        raise ValueError(
            f"{where}: logits must have shape (N, T, V) or (M, V); "
            f"got {getattr(logits, 'shape', type(logits))}"
        )
    validate.floating(where, "logits", logits)
    letters = "N, T" if logits.ndim == 3 else "M"
    validate.shape(where, "targets", targets, logits.shape[:-1], letters)
    kept = targets if ignore_index is None else targets[targets != ignore_index]
    validate.token_ids(where, "targets", kept, logits.shape[-1])


def _check_dloss(dloss: Any) -> None:
    """ValueError unless dloss is a finite scalar: a Python or NumPy number, or a 0-d array."""
    if not (isinstance(dloss, int | float) or getattr(dloss, "shape", None) == ()):
        got = f"shape {tuple(dloss.shape)}" if hasattr(dloss, "shape") else type(dloss).__name__
        raise ValueError(
            f"{WHERE}.backward: dloss must be a scalar, the gradient of the scalar loss "
            f"(1.0 to differentiate the loss itself); got {got}"
        )
    value = dloss.item() if hasattr(dloss, "item") else dloss  # a NumPy scalar as Python's
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(
            f"{WHERE}.backward: dloss must be a finite number, the gradient of the loss (1.0 to "
            f"differentiate the loss itself); got {dloss!r}"
        )


def _log_probs(logits: Any, targets: Any, ignore_index: int | None) -> tuple[Any, Any, Any, Any]:
    """(logp (M, V), log p_y (M,), targets (M,) with ignored ones set to 0, keep (M,) bool): the
    log-softmax of the logits flattened to M rows and each row's target picked from it."""
    xp = get_array_module(logits)
    normalise = backend.current().kernel("loss.log_softmax", log_softmax)
    logp = normalise(logits.reshape(-1, logits.shape[-1]))  # (M, V)
    t = targets.reshape(-1)  # (M,), one per row of logp
    keep = xp.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    t = xp.where(keep, t, 0)  # any valid id; an ignored row's pick is masked by the caller
    return logp, logp[xp.arange(t.shape[0]), t], t, keep


def target_logprobs(logits: Any, targets: Any, ignore_index: int | None = None) -> Any:
    """log p_y = log softmax(z)_y, the log-probability of each token's target: the terms of the
    loss without smoothing (`forward` sums -log p_y over the kept tokens), one per token, and 0
    where the target is ignore_index (a select: that row's logits may hold anything).

    Shapes: logits (N, T, V) or (M, V), targets int (N, T) or (M,) -> (N, T) or (M,), in the
    logits' dtype.
    """
    _check(logits, targets, ignore_index, 0.0, "sum")
    xp = get_array_module(logits)
    _, logp_y, _, keep = _log_probs(logits, targets, ignore_index)
    return xp.where(keep, logp_y, 0.0).reshape(targets.shape)  # (M,) -> (N, T) or (M,)


def forward(
    logits: Any,
    targets: Any,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> tuple[float, LossCache]:
    """Cross-entropy of softmax(logits) against the targets, label-smoothed by eps.

    Shapes: logits (N, T, V) or (M, V), targets int (N, T) or (M,) in [0, V) or ignore_index
    -> loss, a Python float (sum or mean over the kept tokens; 0.0 when none is kept).
    """
    _check(logits, targets, ignore_index, label_smoothing, reduction)
    xp = get_array_module(logits)
    logp, logp_y, t, keep = _log_probs(logits, targets, ignore_index)
    nll = -logp_y  # (M,) -log p_y
    # (M,) -mean_v log p_v, a full pass over logp: skipped without smoothing, where eps * it = 0
    uniform = -logp.mean(axis=-1) if label_smoothing else 0.0
    per_token = (1.0 - label_smoothing) * nll + label_smoothing * uniform
    per_token = xp.where(keep, per_token, 0.0)  # a select: an ignored row's NaN adds nothing
    n_kept = int(keep.sum())
    scale = 1.0 if reduction == "sum" else 1.0 / max(n_kept, 1)
    loss = float(per_token.sum(dtype=_accumulator(per_token.dtype))) * scale
    cache = LossCache(
        logp, t, keep[:, None].astype(logits.dtype), label_smoothing, scale, logits.shape
    )
    return loss, cache


def backward(dloss: float, cache: LossCache) -> Any:
    """dlogits = dloss * scale * (softmax(logits) - q), 0 for ignored tokens; same shape as the
    logits."""
    _check_dloss(dloss)
    validate.cache(f"{WHERE}.backward", cache, LossCache, "loss.forward")
    logp, t, keep, eps, scale, shape = cache
    grad = backend.current().kernel("loss.softmax_minus_target", softmax_minus_target)
    return grad(logp, t, keep, eps, float(dloss) * scale).reshape(shape)  # (M, V) -> logits' shape

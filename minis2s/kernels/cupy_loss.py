"""CuPy twins of `minis2s.layers.loss.log_softmax` and `softmax_minus_target` (the "cupy"
backend).

Same names, arguments and results as the reference. The (M, V) logits of a large vocabulary are
the biggest arrays of a training step (128 x 50 x 32000 float32 is 0.8 GB), and each pass over
them costs a read or a write of all of it. The reference makes eight passes for the log-softmax
(max; z - max; exp; sum; the subtraction in place) and seven for its gradient (exp; - eps / V;
* scale; the select of kept rows), with full-size
temporaries; the twins make four and two:

    log_softmax           top = max_v z_v; s = sum_v exp(z_v - top) (a `RowSum`: the terms are
                          summed as they are made); logp = z - top - log s (one fused kernel)
    softmax_minus_target  dz = (exp(logp) - eps / V) * scale where keep, else 0 (one fused
                          kernel: a select, so an ignored row's logits may hold anything), then
                          the target's entry of each row gets - (1 - eps) * scale * keep

The gradient's order of operations differs from the reference's (which scales last), so it
equals it to rounding, not bit for bit.
"""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module
from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.elementwise import Elementwise, RowSum
from minis2s.layers import loss

SUM_EXP = RowSum("loss_sum_exp", "z top", "exp(z - top)")

LOG_SOFTMAX = Elementwise(
    "loss_log_softmax",
    inputs="z top log_s",
    outputs="logp",
    body="""
        logp = z - top - log_s
    """,
)

SOFTMAX_MINUS_UNIFORM = Elementwise(
    "loss_softmax_minus_uniform",
    inputs="logp eps_over_V keep scale",
    outputs="dz",
    body="""
        dz = where(keep, (exp(logp) - eps_over_V) * scale, 0)
    """,
)


@float_twin(loss.log_softmax)  # float16 to the reference, which sums over V in float32
def log_softmax(logits: Any) -> Any:
    """log softmax over the last axis via log-sum-exp. Shapes: logits (..., V) -> (..., V).
    float32 and float64 only: float16 goes to the reference, as on the numba backend (the twin's
    sum ran in float16, which overflowed; `RowSum` now sums float16 in float, as the reference)."""
    xp = get_array_module(logits)
    top = logits.max(axis=-1, keepdims=True)  # the shift: exp of values <= 0 only
    logp = xp.empty_like(logits)
    LOG_SOFTMAX(logits, top, xp.log(SUM_EXP(logits, top)), logp)
    return logp


def softmax_minus_target(logp: Any, t: Any, keep: Any, eps: float, scale: float) -> Any:
    """scale * keep * (p - q) with p = exp(logp) and q the smoothed one-hot target: the gradient
    of the loss with respect to the logits. `logp` is not modified.

    Shapes: logp (M, V), t int (M,), keep (M, 1) of 0/1 -> (M, V).
    """
    xp = get_array_module(logp)
    M, V = logp.shape
    dz = xp.empty_like(logp)
    SOFTMAX_MINUS_UNIFORM(logp, eps / V, keep, scale, dz)  # 0 for ignored tokens, NaN or not
    dz[xp.arange(M), t] -= (1.0 - eps) * scale * keep[:, 0]  # - (one-hot part of q)
    return dz

"""CuPy twin of `minis2s.train.optim.adam_update` (the "cupy" backend), for Adam and AdamW.

Same name, arguments and result as the reference, which launches thirteen kernels per
parameter array, one per array operation (listed in `minis2s.kernels.numba_optim`; fifteen with
L2 weight decay), each with CuPy's Python around it: for the 15 arrays of the model of
benchmarks/bench_seq2seq.py that is more launches per training step than its decoder's whole
backward pass. The twin is one fused kernel per array, which reads p, g, m, v once and writes
p, m, v in place:

    g_t = g + weight_decay * p
    m   = beta1 * m + (1 - beta1) * g_t
    v   = beta2 * v + (1 - beta2) * g_t^2
    p   = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

The scalars are made on the host as the reference makes them (Python floats, `beta1**t`). The
GPU may fuse a multiply and an add (one rounding for two), so the twin equals the reference to
rounding, not bit for bit. float16 arrays go to the reference (`dtypes.float_twin`): the kernel's
C computes float16 in float, so g_t^2 of a gradient past 256 would be finite where the
reference's float16 product is inf (v = inf, p left as it was).
"""

from __future__ import annotations

import math
from typing import Any

from minis2s.kernels.dtypes import float_twin
from minis2s.kernels.elementwise import Elementwise
from minis2s.train import optim

ADAM_STEP = Elementwise(
    "adam_step",
    inputs="g weight_decay beta1 one_minus_beta1 beta2 one_minus_beta2 sqrt_bias2 eps step_size",
    outputs="p m v",
    body="""
        g_t = g + weight_decay * p
        m = beta1 * m + one_minus_beta1 * g_t
        v = beta2 * v + one_minus_beta2 * (g_t * g_t)
        p = p - step_size * divide(m, divide(sqrt(v), sqrt_bias2) + eps)
    """,
)


@float_twin(optim.adam_update)  # float16 to the reference: its g * g overflows where C's does not
def adam_update(
    p: Any,
    g: Any,
    m: Any,
    v: Any,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    t: int,
) -> None:
    """Step t of Adam on one parameter array, in place on p, m and v; g is not modified.

    Shapes: p, g, m, v all of one shape (any), one dtype.
    """
    bias1, bias2 = 1 - beta1**t, 1 - beta2**t
    ADAM_STEP(g, weight_decay, beta1, 1 - beta1, beta2, 1 - beta2, math.sqrt(bias2), eps,
              lr / bias1, p, m, v)  # fmt: skip

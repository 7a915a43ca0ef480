"""Vectorisable float32 `tanh` and `sigmoid` for the Numba twins.

Numba turns `np.tanh` on a scalar into a call to libm's `tanhf`, which LLVM cannot vectorise
(about 25 ns per element against NumPy's 2.7). `tanh_f32` is plain arithmetic instead: an odd
rational function of x, so a loop over a row of gates compiles to SIMD instructions:

    tanh(x) ~ x p(x^2) / q(x^2),   x clamped to [-9, 9] (|tanh(9)| = 1 - 3e-8 rounds to 1 in
                                   float32), p of degree 6 and q of degree 3 in x^2.

How the coefficients were obtained (float64 NumPy, nothing copied): on 40 000 points of
(0, 9] with u = (x / 9)^2 for conditioning, solve the linearised least-squares problem
x p(u) - tanh(x) q(u) = 0 with q(0) = 1, weighted by w / q_prev(u) (Sanathanan-Koerner
iteration, so the residual approximates the true error), and multiply the weights w by
sqrt(|error|) after each solve (Lawson reweighting towards minimax); keep the best of 200
iterations whose q stays positive, then undo the scaling (coefficient k / 81^k). The float32
quotient is clamped to [-1, 1] (it rounds to 1 + 2 ulp near |x| = 9).

    A = [x u^k (k = 0..6), -tanh(x) u^k (k = 1..3)] * (w / q_prev)[:, None]
    coef = lstsq(A / colnorm, tanh(x) * w / q_prev) / colnorm

Max abs error against float64 `np.tanh`: 5.9e-9 in float64, 3.4e-7 evaluated in float32 on
a 4 000 001-point grid of [-9, 9] (the float32 rounding dominates; tested in
tests/test_numba_parity.py).

`tanh` and `sigmoid` below pick the implementation by the argument's type when Numba compiles
the caller: float32 gets `tanh_f32`, float64 keeps `np.tanh`, so float64 twins stay equal to the
reference to 1e-10.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

F32 = np.float32
# p(s) = P0 + P1 s + ... + P6 s^6 and q(s) = Q0 + ... + Q3 s^3 with s = x^2, float32 constants
# so no float64 promotion creeps into the float32 loop.
P0, P1, P2 = F32(0.9999999689), F32(0.1307916042), F32(3.098650507e-3)
P3, P4, P5 = F32(1.110177829e-5), F32(-2.002935241e-8), F32(5.192580652e-11)
P6 = F32(-8.290999765e-14)
Q0, Q1, Q2, Q3 = F32(1.0), F32(0.4641248067), F32(2.447374688e-2), F32(2.538595312e-4)
CLAMP, HALF, ONE = F32(9.0), F32(0.5), F32(1.0)


@njit(cache=True, inline="always", error_model="numpy")
def tanh_f32(x):
    """tanh(x) for float32 x, max abs error 3.4e-7, branch-free so loops over it vectorise;
    the result is clamped to [-1, 1]."""
    x = min(max(x, -CLAMP), CLAMP)
    s = x * x
    p = P0 + s * (P1 + s * (P2 + s * (P3 + s * (P4 + s * (P5 + s * P6)))))  # Horner
    q = Q0 + s * (Q1 + s * (Q2 + s * Q3))
    return min(max(x * p / q, -ONE), ONE)  # near |x| = 9 the quotient rounds up to 1 + 2 ulp


def tanh(x):
    """tanh(x): `tanh_f32` for float32 inside Numba-compiled code, `np.tanh` otherwise."""
    return np.tanh(x)


def sigmoid(a):
    """sigma(a) = (1 + tanh(a / 2)) / 2, as `minis2s.layers._recurrent.sigmoid`: no exp."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@overload(tanh, inline="always", jit_options={"error_model": "numpy"})
def _tanh(x):
    if x == types.float32:
        return lambda x: tanh_f32(x)
    return lambda x: np.tanh(x)


@overload(sigmoid, inline="always", jit_options={"error_model": "numpy"})
def _sigmoid(a):
    if a == types.float32:
        return lambda a: HALF * (ONE + tanh_f32(HALF * a))
    return lambda a: 0.5 * (1.0 + np.tanh(0.5 * a))

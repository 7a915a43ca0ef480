"""Vectorisable float32 `tanh`, `sigmoid` and `exp` for the Numba twins.

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
tests/test_numba_parity.py). A backward pass takes tanh' = 1 - h^2 from the cached h, so beyond
|x| ~ 5, where tanh' is of the order of that error, the gradient through a saturated unit is
rounding noise on either backend: with every unit of an RNN step at |x| ~ 90, dx is ~3e-8 of dh,
and its rel_error from float64 is 0.63 on the twin, 0.27 on the reference (libm's float32 tanh
is within 1 ulp, 6e-8, of 1 there). Only a cache of x itself would do better.

`exp_f32` is the same idea for `np.exp` (libm's `expf`, not vectorised either) in the loss twins:

    exp(x) = 2^n exp(r),   n = round(x / ln 2),   r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2]
    exp(r) ~ 1 + r + E2 r^2 + ... + E6 r^6

with n ln 2 subtracted in two parts (LN2_HI has 9 significant bits, so n LN2_HI is exact for
|n| <= 128) and 2^n made from its bits. x is clamped to [EXP_LO, EXP_HI] = [-88, 89], so n stays
in [-127, 128], where the bits give 2^-127 = 0 and 2^128 = inf: exp(x) is 0 below -87.68 (it is
under 2^-126, the smallest normal float32, from -87.34) and inf above 88.38 (float32 overflows
at 88.72), without a branch; NaN stays NaN. The loss twins only take exp of x <= 0.
Coefficients (float64 NumPy, nothing copied): on 40 001 points of [-ln 2 / 2, ln 2 / 2], solve
least squares for E2..E6 in E2 r^2 + ... + E6 r^6 = exp(r) - 1 - r weighted by w / exp(r)
(relative error), multiply w by sqrt(|error| / max|error|) after each solve (Lawson), keep the
best of 300 iterations: max relative error 3.1e-9 in float64, 9.9e-8 evaluated in float32 on a
4 000 001-point grid of [-87, 88] and 2e7 random points of [-87.3, 0] (1 ulp is 6e-8; float32
`np.exp` has 2.1e-7 there; tested in tests/test_numba_loss.py).

`tanh`, `sigmoid` and `exp` below pick the implementation by the argument's type when Numba
compiles the caller: float32 gets `tanh_f32` / `exp_f32`, float64 keeps `np.tanh` / `np.exp`, so
float64 twins stay equal to the reference to 1e-10.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

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


# exp: exp(r) ~ 1 + r + E2 r^2 + ... + E6 r^6 on |r| <= ln 2 / 2, float32 constants as above.
E2, E3, E4 = F32(0.4999999345), F32(0.166665207), F32(0.04166838744)
E5, E6 = F32(0.008368708441), F32(0.001381460007)
LOG2E, LN2_HI, LN2_LO = F32(1.4426950408889634), F32(0.693359375), F32(-2.1219444005471377e-4)
EXP_LO, EXP_HI = F32(-88.0), F32(89.0)  # n = round(x / ln 2) in [-127, 128]


@intrinsic
def _pow2_f32(typingctx, n):
    """2^n for a float32 n holding an integer in [-127, 128], from its bits: n + 1.5 * 2^23 has
    n in its low mantissa bits, and (those + 127) << 23 is the exponent field of 2^n (the high
    bits shift out), which reads +0 for n = -127 and +inf for n = 128. Plain integer ops,
    defined for any input, so a loop over it vectorises."""
    if n != types.float32:
        return None

    def codegen(context, builder, signature, args):
        f32, i32 = ir.FloatType(), ir.IntType(32)
        shifted = builder.fadd(args[0], ir.Constant(f32, 12582912.0))  # 1.5 * 2^23
        biased = builder.add(builder.bitcast(shifted, i32), ir.Constant(i32, 127))
        return builder.bitcast(builder.shl(biased, ir.Constant(i32, 23)), f32)

    return types.float32(types.float32), codegen


@njit(cache=True, inline="always", error_model="numpy")
def exp_f32(x):
    """exp(x) for float32 x, max relative error 9.9e-8 where the result is a normal float32,
    0 below -87.68 and inf above 88.38; branch-free so loops over it vectorise."""
    x = min(max(x, EXP_LO), EXP_HI)  # NaN passes through max and min
    n = np.floor(x * LOG2E + HALF)  # nearest integer to x / ln 2
    r = (x - n * LN2_HI) - n * LN2_LO  # x - n ln 2, |r| <= ln 2 / 2
    p = ONE + r * (ONE + r * (E2 + r * (E3 + r * (E4 + r * (E5 + r * E6)))))  # Horner
    return p * _pow2_f32(n)


def exp(x):
    """exp(x): `exp_f32` for float32 inside Numba-compiled code, `np.exp` otherwise."""
    return np.exp(x)


@overload(exp, inline="always", jit_options={"error_model": "numpy"})
def _exp(x):
    if x == types.float32:
        return lambda x: exp_f32(x)
    return lambda x: np.exp(x)

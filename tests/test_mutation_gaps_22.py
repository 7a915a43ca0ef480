"""Mutation pass 22 over the cupy backend's twins (kernels/cupy_lstm, cupy_gru, cupy_rnn,
cupy_loss, cupy_softmax, cupy_optim) and kernels/elementwise.py, run on NumPy arrays, where each
fused kernel's body runs as Python line by line. Each test kills a hand-made mutant that the
twin, stand-in, dtype and nvrtc tests let live, named in its docstring; every expected value
comes from the reference layers or is worked out by hand, never from the code under test."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from minis2s.kernels import cupy_gru, cupy_lstm, cupy_rnn
from minis2s.kernels.elementwise import SUM_TYPE, Elementwise
from minis2s.layers import gru, lstm, rnn
from tests.parity import assert_same_results, backward_inputs, loop_inputs

# --- cupy_rnn, cupy_lstm, cupy_gru: a padded step before a real one -----------------------------

CELLS = {"rnn": (rnn, cupy_rnn), "lstm": (lstm, cupy_lstm), "gru": (gru, cupy_gru)}

# Padding before or between real steps (a layer's mask may be any 0/1 mask; a stack's is checked
# to be right-padded): going backward, a padded step t comes after the real step t + 1, whose
# da_{t+1} W_hh is part of dh_t and must pass through the padded step to h_{t-1}.
HOLES = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 1]], dtype=float)


@pytest.mark.parametrize("cell", CELLS)
def test_the_loops_carry_dh_through_a_padded_step_before_a_real_one(cell):
    """Kills `where(m, 0, dh_rest)` for `where(m, 0, dh)` in rnn's and lstm's loop-step
    backward, and `where(m, dh * z_t, dh_rest)` for `where(m, dh * z_t, dh)` in gru's: through a
    padded step the carried gradient is the whole dh_t = dh_rest + dh_W. On a right-padded mask
    dh_W = 0 at every padded step (every later step is padding too), so only a mask with padding
    before a real step tells them apart; the reference loops say what the result is."""
    ref, twin = CELLS[cell]
    N, T = HOLES.shape
    r = np.random.default_rng(5)
    args = loop_inputs(cell, N, T, 3, HOLES, r, np.float64)
    want = ref.forward_loop(*args)
    assert_same_results(twin.forward_loop(*args), want, np.float64, f"{cell}.forward_loop")
    bargs = backward_inputs(cell, args, want, r, np.float64)
    got = twin.backward_loop(*bargs)
    assert_same_results(got, ref.backward_loop(*bargs), np.float64, f"{cell}.backward_loop")


# --- elementwise.py ---------------------------------------------------------------------------


def test_a_comma_after_a_call_is_refused():
    """Kills dropping `")": -1` from _top_level_comma: after a call's parentheses close the
    depth is 0 again, so `y = tanh(x), x` has a comma at the top level. In C that is the comma
    operator (y = tanh(x), then x, discarded); in Python a tuple: the GPU and the NumPy reading
    would compute different things, so the body is refused."""
    with pytest.raises(ValueError, match="not `name = expression` in C and Python"):
        Elementwise("k", "x", "y", "y = tanh(x), x")


# CuPy's float16 (cupy/float16.cuh) as far as SUM_TYPE sees it: a class with no arithmetic of its
# own, whose operands convert to float.
HALF_LIKE_CUPYS = """
struct half {
  float value;
  half() : value(0) {}
  operator float() const { return value; }
};
"""


def test_the_row_sums_type_adds_float16_in_float():
    """Kills `SUM_TYPE = "T"` (the GPU's RowSum would add float16 terms in half, overflowing
    past 65504 and stalling at 2048 for terms of 1; the NumPy reading never uses SUM_TYPE, so
    only this check or a GPU run sees it): in C, SUM_TYPE is float for a half like CuPy's, and
    T itself for float and double. g++ checks it at compile time."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: SUM_TYPE is checked on the GPU run only")
    source = f"""#include <type_traits>
{HALF_LIKE_CUPYS}
template <typename T> struct Sum {{ typedef {SUM_TYPE} type; }};
static_assert(std::is_same<Sum<half>::type, float>::value, "half sums in float");
static_assert(std::is_same<Sum<float>::type, float>::value, "float sums in float");
static_assert(std::is_same<Sum<double>::type, double>::value, "double sums in double");
"""
    done = subprocess.run(["g++", "-std=c++11", "-fsyntax-only", "-x", "c++", "-"],
                          input=source, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr

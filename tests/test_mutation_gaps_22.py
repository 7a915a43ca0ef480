"""Mutation pass 22 over the cupy backend's twins (kernels/cupy_lstm, cupy_gru, cupy_rnn,
cupy_loss, cupy_softmax, cupy_optim) and kernels/elementwise.py, run on NumPy arrays, where each
fused kernel's body runs as Python line by line: dh carried through a padded step before a real
one, a step's state checked before the kernel broadcasts it, a bool mask cast to the scores'
type, a comma after a call refused, a float16 output read on entry computed on in float, and
SUM_TYPE float for a half like CuPy's. Each test kills a hand-made mutant that the twin,
stand-in, dtype and nvrtc tests let live, named in its docstring; every expected value comes
from the reference layers or is worked out by hand, never from the code under test."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from minis2s.backend import to_numpy
from minis2s.kernels import cupy_gru, cupy_lstm, cupy_rnn, cupy_softmax
from minis2s.kernels.elementwise import SUM_TYPE, Elementwise
from minis2s.layers import gru, lstm, rnn, softmax
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


def _state_of_one_row(cell: str, N: int, H: int, r) -> object:
    """A state for N rows whose carried part (c_prev for the LSTM, else h_prev) has 1 row: it
    broadcasts in the fused kernel without a complaint, so only the check before it refuses."""
    if cell == "lstm":
        return (r.standard_normal((N, H)), r.standard_normal((1, H)))
    return r.standard_normal((1, H))


@pytest.mark.parametrize("cell", CELLS)
def test_a_step_refuses_a_state_of_one_row_for_a_batch_as_the_reference(cell):
    """Kills dropping check_step_forward from the twins' step_forward (`h_prev, c_prev = state`
    for the LSTM): c_prev (1, H) or h_prev (1, H) beside x (3, D) would broadcast in the kernel
    to a step of 3 rows from one state, where the reference refuses; the twin refuses alike."""
    ref, twin = CELLS[cell]
    r = np.random.default_rng(1)
    N, D, H = 3, 2, 4
    p = ref.init(D, H, r, dtype=np.float64)
    x, state = r.standard_normal((N, D)), _state_of_one_row(cell, N, H, r)
    with pytest.raises(ValueError) as refused:
        ref.step_forward(x, state, p)
    with pytest.raises(ValueError, match=re.escape(str(refused.value))):
        twin.step_forward(x, state, p)


def test_the_masked_softmax_twin_takes_a_bool_mask_on_the_device():
    """Kills `m = mask` for `m = mask.astype(s.dtype, copy=False)` in cupy_softmax.forward: a
    CuPy kernel's arguments are all of the one type T, so a bool mask beside float32 scores is
    refused there (the stand-in, tests.fake_device, refuses it as CuPy does), while the
    reference takes any 0/1 mask; with the cast the twin gives the reference's weights."""
    from tests.fake_device import fake_cupy, on_fake_device

    r = np.random.default_rng(2)
    s = r.standard_normal((2, 3, 5)).astype(np.float32)
    mask = np.array([[[1, 1, 0, 1, 0]], [[0, 1, 1, 1, 1]]], dtype=bool)
    want, _ = softmax.forward(s, mask)
    with on_fake_device():
        got, _ = cupy_softmax.forward(fake_cupy.asarray(s), fake_cupy.asarray(mask))
        got = to_numpy(got)
    assert_same_results(got, want, np.float32, "softmax.forward")


def test_a_float16_output_read_on_entry_is_a_half_computed_on_in_float():
    """Kills `outs[...]` for `stored(outs[...])` (the entry value of an output the body updates
    in place): without it NumPy multiplies the float16 y by itself in half, 300 * 300 = inf,
    where the C computes in float: 90 000 / 1024 = 87.890625, stored as the nearest half,
    87.875 (halves between 64 and 128 are 1/16 apart). The NumPy reading would disagree with
    the GPU."""
    k = Elementwise("f16_update", "c", "y", "y = y * y * c")
    y = np.full(2, 300, np.float16)
    with np.errstate(over="ignore"):
        k(2.0**-10, y)
    np.testing.assert_array_equal(y, np.float16(87.875))

"""Numba twins against the reference: the time loops called directly on the same inputs, then
whole layers and a 2-layer bidirectional stack, forward and backward, under the "numba" backend
against the "numpy" one. float64 must agree to 1e-10 and float32 to 1e-5 (DESIGN.md), relative
to the scale of each output (`rel_error`)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from minis2s import backend
from minis2s.kernels import numba_gru, numba_lstm, numba_rnn
from minis2s.layers import gru, lstm, rnn
from tests.fast_math_calls import apply, sigmoid, tanh
from tests.parity import (
    DTYPES,
    assert_same_results,
    backward_inputs,
    fill_padding,
    gates_zeroed_at_padding,
    layer_case,
    loop_inputs,
    strided,
    with_padded_row,
)
from tests.strategies import seq_case

CELLS = {"rnn": (rnn, numba_rnn), "lstm": (lstm, numba_lstm), "gru": (gru, numba_gru)}


def check_loops(cell, dtype, N, T, H, m, seed, view=lambda a: a, fill=False):
    """`fill`: xw holds NaN, inf or -inf at padding, and so do the gates made from it (compared
    at real steps only); every other result must be finite and the same."""
    ref, twin = CELLS[cell]
    r = np.random.default_rng(seed)
    args = loop_inputs(cell, N, T, H, m, r, dtype)
    if fill:
        args = (fill_padding(args[0], m, r), *args[1:])
    out = ref.forward_loop(*args)
    got = twin.forward_loop(*map(view, args))
    if fill:
        got, want = gates_zeroed_at_padding(cell, got, m), gates_zeroed_at_padding(cell, out, m)
        assert_same_results(got, want, dtype, f"{cell}.forward_loop")
    else:
        assert_same_results(got, out, dtype, f"{cell}.forward_loop")
    bargs = backward_inputs(cell, args, out, r, dtype)
    want = ref.backward_loop(*bargs)
    assert_same_results(twin.backward_loop(*map(view, bargs)), want, dtype, f"{cell}.backward_loop")


def test_numba_backend_dispatches_to_the_twins():
    """Without this the parity tests below could compare the reference with itself."""
    for cell, (ref, twin) in CELLS.items():
        for name in ("forward_loop", "backward_loop"):
            assert backend.current().kernel(f"{cell}.{name}", None) is None  # numpy: reference
            be = backend.use("numba")
            assert be.kernel(f"{cell}.{name}", None) is getattr(twin, name)
            assert getattr(twin, name) is not getattr(ref, name)
            # the twin allocates with NumPy and runs a Numba dispatcher, not Python, for the loop
            assert hasattr(getattr(twin, f"{name}_into"), "py_func")
            backend.use("numpy")


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_loops_match_reference(cell, dtype, case):
    N, T, _, H, m, seed = case
    check_loops(cell, dtype, N, T, H, m, seed)
    check_loops(cell, dtype, N + 1, T, H, with_padded_row(m), seed)
    check_loops(cell, dtype, N + 1, T, H, with_padded_row(m), seed, fill=True)


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_loops_accept_non_contiguous_views(cell, dtype, case):
    """Layers pass slices (a stack's dys[..., :H], interop's weight views): same results."""
    N, T, _, H, m, seed = case
    check_loops(cell, dtype, N, T, H, m, seed, view=strided)


def run_layer(module, x, s0, p, m, douts, name):
    """Forward then backward of `module` under backend `name`: (outputs, gradients)."""
    backend.use(name)
    ys, final, cache = module.forward(x, s0, p, mask=m)
    dx, ds0, dp = module.backward(*douts, cache)
    backend.use("numpy")
    return (ys, final), (dx, ds0, dp)


def as_list(tree):
    """Arrays of a nested tuple / dict result in a fixed order."""
    if isinstance(tree, dict):
        return [tree[k] for k in sorted(tree)]
    if isinstance(tree, tuple | list):
        return [a for t in tree for a in as_list(t)]
    return [tree]


def compare_backends(module, x, s0, p, m, douts, dtype, what):
    got = run_layer(module, x, s0, p, m, douts, "numba")
    want = run_layer(module, x, s0, p, m, douts, "numpy")
    assert sorted(got[1][2]) == sorted(want[1][2]) == sorted(p)  # a gradient for every param
    assert_same_results(as_list(got), as_list(want), dtype, what)


@DTYPES
@pytest.mark.parametrize("stacked", [False, True], ids=["layer", "bidirectional stack"])
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_layer_and_stack_match_numpy_backend(cell, stacked, dtype, case):
    N, T, D, H, m, seed = case
    module, x, s0, p, douts = layer_case(cell, N + 1, T, D, H, seed, dtype, stacked)
    m = with_padded_row(m)
    x = fill_padding(x, m, np.random.default_rng(seed))  # NaN, inf, -inf: never read
    what = f"{cell} {'stack' if stacked else 'layer'}"
    compare_backends(module, x, s0, p, m, douts, dtype, what)


@pytest.mark.parametrize("cell", CELLS)
def test_a_dtype_numba_cannot_compile_runs_the_reference(cell):
    """float16 layers run on the numpy backend; on numba they stopped in a bare Numba
    NotImplementedError. Every twin the layers, loss and embedding call hands them to the
    reference now, so the results are the numpy backend's, bit for bit."""
    from minis2s.layers import embedding, loss

    module, x, s0, p, douts = layer_case(cell, 3, 4, 5, 6, 0, np.float16)
    m = with_padded_row(np.ones((2, 4)))
    got = run_layer(module, x, s0, p, m, douts, "numba")
    want = run_layer(module, x, s0, p, m, douts, "numpy")
    for a, b in zip(as_list(got), as_list(want), strict=True):
        assert a.dtype == np.float16
        np.testing.assert_array_equal(a, b)
    logits, targets = x[:, :, :4], np.array([[1, 2, 0, 3]] * 3)
    ids, W = np.array([[1, 2, 1], [0, 3, 3]]), {"W": p[next(iter(p))][:4, :3].copy()}
    results = {}
    for name in ("numba", "numpy"):
        backend.use(name)
        value, cache = loss.forward(logits, targets, ignore_index=0, label_smoothing=0.1)
        e, c_emb = embedding.forward(ids, W, pad_id=0)
        results[name] = [value, loss.backward(1.0, cache), embedding.backward(e, c_emb)["W"]]
    backend.use("numpy")
    for a, b in zip(results["numba"], results["numpy"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_float32_tanh_and_sigmoid_are_accurate_on_a_dense_grid():
    """fast_math's rational tanh (and the sigmoid built on it) within 5e-7 of float64 NumPy on
    every 4.5e-6 of [-9, 9] and beyond the clamp, odd, within [-1, 1], and exactly -1 or 1
    where tanh rounded to float32 is (a saturated gate is 0 or 1, as NumPy's)."""
    x = np.concatenate([np.linspace(-9, 9, 4_000_001), np.linspace(-60, 60, 10_001)])
    x = x.astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    got = apply(tanh, x)
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 5e-7
    assert np.array_equal(apply(tanh, -x), -got) and np.abs(got).max() <= 1
    rounded = exact.astype(np.float32)
    saturated = np.abs(rounded) == 1
    assert saturated.sum() > 1000 and np.array_equal(got[saturated], rounded[saturated])
    sig = apply(sigmoid, x)
    assert sig.dtype == np.float32
    assert np.abs(sig - 0.5 * (1 + np.tanh(0.5 * x.astype(np.float64)))).max() < 5e-7
    assert not np.array_equal(got, np.tanh(x))  # the float32 path is not libm's tanhf


def test_float64_tanh_and_sigmoid_keep_numpy():
    """float64 twins must stay within 1e-10 of the reference, so they keep np.tanh."""
    x = np.linspace(-30, 30, 100_001)
    assert np.abs(apply(tanh, x) - np.tanh(x)).max() < 1e-15
    assert np.abs(apply(sigmoid, x) - 0.5 * (1 + np.tanh(0.5 * x))).max() < 1e-15


WRONG_GRADIENTS = textwrap.dedent(
    """
    import numpy as np
    from minis2s import backend
    from minis2s.layers import gru, lstm, rnn

    backend.use("numba")
    r = np.random.default_rng(0)
    x = r.standard_normal((4, 6, 3)).astype(np.float32)
    ones = lambda *shape: np.ones(shape, np.float32)
    for cell in (rnn, gru, lstm):
        _, _, cache = cell.forward(x, None, cell.init(3, 5, r))
        pair = cell is lstm
        for dys, dfinal in [
            (ones(4, 6, 5), (ones(2, 5), None) if pair else ones(2, 5)),
            (ones(4, 6, 5), (None, ones(4, 9)) if pair else ones(4, 9)),
            (ones(64, 6, 5), None),
        ]:
            try:
                cell.backward(dys, dfinal, cache)
                print("returned")
            except ValueError as e:
                print(e)
        dx, _, _ = cell.backward(ones(4, 6, 5), None, cache)
        print("ok", dx.shape)
    """
)


def test_wrong_gradients_leave_the_process_alive():
    """The audit's crash (free(): invalid pointer, exit 134; or a segfault for dys of N = 64) in a
    separate process, so that a regression fails this test rather than killing the run."""
    run = subprocess.run(
        [sys.executable, "-c", WRONG_GRADIENTS],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert "returned" not in lines
    assert lines.count("ok (4, 6, 3)") == 3
    for cell in ("rnn", "gru", "lstm"):
        dh = "dh_final (dfinal[0])" if cell == "lstm" else "dh_final"
        dc = "dc_final (dfinal[1])" if cell == "lstm" else "dh_final"
        assert f"{cell}.backward: {dh} has shape (2, 5), expected (N, H) = (4, 5)" in lines
        assert f"{cell}.backward: {dc} has shape (4, 9), expected (N, H) = (4, 5)" in lines
        want = f"{cell}.backward: dys has shape (64, 6, 5), expected (N, T, H) = (4, 6, 5)"
        assert want in lines


def test_float_twin_sends_float32_and_float64_to_the_twin_and_other_dtypes_to_the_reference():
    """The dispatch itself: the twin for float32 and float64 (also as the first array of a
    tuple, an LSTM's (dh, dc)) and for a first argument without a dtype (the twin's checks
    name it); the reference for another dtype. A float64 sent to the reference would pass
    every parity test (the reference is what they compare with) while the twin went unused."""
    from minis2s.kernels.dtypes import float_twin

    calls = []

    @float_twin(lambda first, *args, **kw: calls.append(("reference", args, kw)))
    def twin(first, *args, **kw):
        calls.append(("twin", args, kw))

    z = np.zeros
    half = z(2, np.float16)
    # fmt: off
    cases = [(z(2, np.float32), "twin"), (z(2), "twin"), ((z(2), z(2)), "twin"), ([1.0], "twin"),
             (half, "reference"), ((half, half), "reference"), (z(2, np.int64), "reference")]
    # fmt: on
    for first, want in cases:
        calls.clear()
        twin(first, 1, k=2)
        assert calls == [(want, (1,), {"k": 2})], first

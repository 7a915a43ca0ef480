"""The cupy backend's twins (minis2s.kernels.cupy_*: the cells' time loops and single steps)
against the reference.

Each twin runs twice: on NumPy arrays, where its fused kernels run as Python line by line
(minis2s.kernels.elementwise), which checks the loop and its equations on any machine; and on
CuPy arrays, where they run as CUDA kernels, which needs a GPU and is skipped without one.
float64 must agree to 1e-10 and float32 to 1e-5 (DESIGN.md).
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.backend import to_numpy
from minis2s.kernels import (
    CUPY_TWINS,
    cupy_gru,
    cupy_kernels,
    cupy_loss,
    cupy_lstm,
    cupy_optim,
    cupy_rnn,
    cupy_softmax,
    elementwise,
)
from minis2s.layers import gru, loss, lstm, rnn, softmax
from minis2s.train import optim
from tests.gpu import ARRAY_MODULES, array_module
from tests.parity import (
    DTYPES,
    assert_same,
    assert_same_model,
    assert_same_results,
    backward_inputs,
    fill_padding,
    flat,
    gates_zeroed_at_padding,
    loop_inputs,
    model_loss_and_grads,
    step_inputs,
    strided,
    with_padded_row,
    wrong_step_grads,
)
from tests.strategies import dims, seq_case

CELLS = {"rnn": (rnn, cupy_rnn), "lstm": (lstm, cupy_lstm), "gru": (gru, cupy_gru)}


def on(xp, arrays):
    return tuple(xp.asarray(a) for a in arrays)


def back(result):
    return tuple(to_numpy(a) for a in flat(result))


def check_loops(
    cell, dtype, xp, N, T, H, m, seed, view=lambda a: a, fill=False, compare=assert_same_results
):
    """`fill`: xw holds NaN, inf or -inf at padding, and so do the gates made from it (compared
    at real steps only); every other result must be finite and the same, by `compare(got, want,
    dtype, what)` (tests/test_cupy_twins_dtypes.py gives its own, with float16's tolerance)."""
    ref, twin = CELLS[cell]
    r = np.random.default_rng(seed)
    args = loop_inputs(cell, N, T, H, m, r, dtype)
    if fill:
        args = (fill_padding(args[0], m, r), *args[1:])
    want = ref.forward_loop(*args)
    got = back(twin.forward_loop(*map(view, on(xp, args))))
    if fill:
        got_at_real = gates_zeroed_at_padding(cell, got, m)
        compare(got_at_real, gates_zeroed_at_padding(cell, want, m), dtype, cell)
    else:
        compare(got, want, dtype, f"{cell}.forward_loop")
    bargs = backward_inputs(cell, args, want, r, dtype)
    want_b = ref.backward_loop(*bargs)
    got_b = back(twin.backward_loop(*map(view, on(xp, bargs))))
    compare(got_b, want_b, dtype, f"{cell}.backward_loop")


def test_cupy_backend_registers_the_twins():
    """Without this the GPU parity tests of whole layers could compare the reference with
    itself; the twins are not the reference functions."""
    kernels = cupy_kernels()
    assert len(kernels) == len(CELLS) * len(CUPY_TWINS) + 5
    assert kernels["optim.adam_update"] is cupy_optim.adam_update is not optim.adam_update
    for name in ("log_softmax", "softmax_minus_target"):
        assert kernels[f"loss.{name}"] is getattr(cupy_loss, name) is not getattr(loss, name)
    for name in ("forward", "backward"):
        twin, ref = getattr(cupy_softmax, name), getattr(softmax, name)
        assert kernels[f"softmax.{name}"] is twin is not ref
    for cell, (ref, twin) in CELLS.items():
        for name in CUPY_TWINS:
            assert kernels[f"{cell}.{name}"] is getattr(twin, name)
            assert getattr(twin, name) is not getattr(ref, name)


def test_each_step_is_one_gemm_and_one_fused_kernel(monkeypatch):
    """What makes the twins fast on a GPU: per step, one matmul into a reused buffer and one
    call of a fused kernel, and no other array operation."""
    calls = []
    real = elementwise.Elementwise.__call__
    monkeypatch.setattr(elementwise.Elementwise, "__call__",
                        lambda self, *a: (calls.append(self.name), real(self, *a)))  # fmt: skip
    r = np.random.default_rng(0)
    N, T, H = 2, 3, 4
    m = np.ones((N, T))
    for cell, (_, twin) in CELLS.items():
        args = loop_inputs(cell, N, T, H, m, r, np.float64)
        calls.clear()
        out = twin.forward_loop(*args)
        assert calls == [f"{cell}_loop_step_forward"] * T
        calls.clear()
        twin.backward_loop(*backward_inputs(cell, args, out, r, np.float64))
        assert calls == [f"{cell}_loop_step_backward"] * T


@ARRAY_MODULES
@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_loops_match_reference(xp_name, cell, dtype, case):
    N, T, _, H, m, seed = case
    xp = array_module(xp_name)
    check_loops(cell, dtype, xp, N, T, H, m, seed)
    check_loops(cell, dtype, xp, N + 1, T, H, with_padded_row(m), seed)
    check_loops(cell, dtype, xp, N + 1, T, H, with_padded_row(m), seed, fill=True)


@ARRAY_MODULES
@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_loops_accept_non_contiguous_views(xp_name, cell, dtype, case):
    """Layers pass slices (a stack's dys[..., :H], interop's weight views): same results."""
    N, T, _, H, m, seed = case
    xp = array_module(xp_name)
    check_loops(cell, dtype, xp, N, T, H, m, seed, view=strided)


@pytest.mark.parametrize("cell", CELLS)
def test_on_the_fake_device_the_layers_run_the_twins_c(cell):
    """On the CPU stand-in for CuPy (tests.fake_device) a layer runs the cupy twins, whose kernels
    are their C read back as Python: forward and backward equal the numpy backend's."""
    from tests.fake_device import fake_cupy, on_fake_device

    module = CELLS[cell][0]
    r = np.random.default_rng(0)
    N, T, D, H = 3, 4, 2, 5
    p = module.init(D, H, r, dtype=np.float64)
    m = with_padded_row(np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float64))
    x, dys = r.standard_normal((N, T, D)), r.standard_normal((N, T, H))
    x = fill_padding(x, m, r)  # NaN, inf, -inf: never read

    def run(xp):
        ys, _, cache = module.forward(xp.asarray(x), None, {k: xp.asarray(v) for k, v in p.items()},
                                      mask=xp.asarray(m))  # fmt: skip
        dx, _, dp = module.backward(xp.asarray(dys), None, cache)
        return [to_numpy(a) for a in (ys, dx, *(dp[k] for k in sorted(dp)))]

    want = run(np)
    kernels = (CELLS[cell][1].LOOP_STEP_FORWARD, CELLS[cell][1].LOOP_STEP_BACKWARD)
    for k in kernels:
        k._cuda.pop(fake_cupy, None)
    with on_fake_device():
        got = run(fake_cupy)
    assert all(fake_cupy in k._cuda for k in kernels)  # built and run for "cupy" arrays
    assert_same_results(got, want, np.float64, f"{cell} on the fake device")


@ARRAY_MODULES
@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(N=dims, D=dims, H=dims, seed=st.integers(0, 2**16), view=st.booleans())
def test_steps_match_reference(xp_name, cell, dtype, N, D, H, seed, view):
    """Outputs, every cache field and every gradient; `view`: x as a non-contiguous view."""
    ref, twin = CELLS[cell]
    xp = array_module(xp_name)
    x, state, p, dstate = step_inputs(cell, N, D, H, np.random.default_rng(seed), dtype)
    want, c_want = ref.step_forward(x, state, p)
    p_dev = {k: xp.asarray(v) for k, v in p.items()}
    x_dev = xp.asarray(x)
    state_dev = tuple(map(xp.asarray, state)) if cell == "lstm" else xp.asarray(state)
    got, c_got = twin.step_forward(strided(x_dev) if view else x_dev, state_dev, p_dev)
    assert_same_results(back(got), flat(want), dtype, f"{cell}.step_forward")
    assert_same_results(back(c_got), flat(c_want), dtype, f"{cell}.step_forward cache")
    assert c_got.p is p_dev
    dstates = [dstate] + ([(dstate[0], None)] if cell == "lstm" else [])  # dc None: zeros
    for d in dstates:
        want_b = ref.step_backward_data(d, c_want)
        d_dev = (
            tuple(None if a is None else xp.asarray(a) for a in d)
            if cell == "lstm"
            else xp.asarray(d)
        )
        assert_same_results(back(twin.step_backward_data(d_dev, c_got)), flat(want_b), dtype, cell)


@ARRAY_MODULES
@pytest.mark.parametrize("cell", CELLS)
def test_step_backward_data_refuses_wrong_upstream_gradients_as_the_reference(xp_name, cell):
    """The fused kernel checks no shapes: a dh of the wrong shape or dtype must stop in the Python
    around it (not broadcast or read past its end), with the reference's message."""
    ref, twin = CELLS[cell]
    xp = array_module(xp_name)
    x, state, p, dstate = step_inputs(cell, 2, 3, 4, np.random.default_rng(0), np.float64)
    state = tuple(map(xp.asarray, state)) if cell == "lstm" else xp.asarray(state)
    _, cache = twin.step_forward(xp.asarray(x), state, {k: xp.asarray(v) for k, v in p.items()})
    for wrong in wrong_step_grads(cell, dstate, xp):
        with pytest.raises(ValueError) as want:
            ref.step_backward_data(wrong, cache)
        assert str(want.value).startswith(f"{cell}.step_backward_data: ")
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            twin.step_backward_data(wrong, cache)


MODELS = [
    dict(cell="lstm", attention="general", enc_layers=2, dec_layers=2),
    dict(cell="gru", attention="additive", dec_layers=2, dropout=0.3),
    dict(cell="rnn", attention="dot", bidirectional=False),
]


@pytest.mark.parametrize("kw", MODELS, ids=lambda kw: kw["cell"])
def test_on_the_fake_device_the_model_matches_the_numpy_backend(kw):
    """The whole model on the CPU stand-in for CuPy, every cupy twin in use (their C read back):
    loss and every gradient equal the numpy backend's, with dropout and scheduled sampling."""
    from tests.fake_device import on_fake_device

    want = model_loss_and_grads(np.float64, sampling_eps=0.5, **kw)
    with on_fake_device():
        got = model_loss_and_grads(np.float64, sampling_eps=0.5, **kw)
        assert backend.current().kernel(f"{kw['cell']}.step_forward", None) is not None
    assert_same_model(got, want, np.float64)


@ARRAY_MODULES
@DTYPES
@given(M=dims, V=st.integers(1, 40), eps=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 2**16))
def test_loss_passes_match_reference(xp_name, dtype, M, V, eps, seed):
    """The log-softmax (logits up to +-30, so the shift matters) and its gradient, with ignored
    rows (keep 0) and label smoothing."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    logits = (30 * r.uniform(-1, 1, (M, V))).astype(dtype)
    t, keep = r.integers(0, V, M), (r.random((M, 1)) < 0.7).astype(dtype)
    want = loss.log_softmax(logits)
    got = cupy_loss.log_softmax(xp.asarray(logits))
    assert_same_results(back(got), (want,), dtype, "log_softmax")
    scale = 1.0 / max(float(keep.sum()), 1.0)
    want_d = loss.softmax_minus_target(want, t, keep, eps, scale)
    logp, t_dev, keep_dev = xp.asarray(want), xp.asarray(t), xp.asarray(keep)
    got_d = cupy_loss.softmax_minus_target(logp, t_dev, keep_dev, eps, scale)
    assert_same_results(back(got_d), (want_d,), dtype, "softmax_minus_target")
    np.testing.assert_array_equal(to_numpy(logp), want)  # logp is not modified


@ARRAY_MODULES
@DTYPES
def test_loss_gradient_is_zero_on_ignored_rows_whatever_they_hold(xp_name, dtype):
    """An ignored row's gradient is 0 even where its log-softmax is NaN or inf: a select, as the
    reference's, not a product with keep = 0."""
    xp = array_module(xp_name)
    logp = loss.log_softmax(np.arange(12.0).reshape(4, 3).astype(dtype))
    logp[1], logp[3] = np.nan, [np.inf, -np.inf, np.nan]
    t, keep = np.array([0, 1, 2, 0]), np.array([[1.0], [0.0], [1.0], [0.0]], dtype)
    want = loss.softmax_minus_target(logp, t, keep, 0.1, 0.5)
    got = back(cupy_loss.softmax_minus_target(*on(xp, (logp, t, keep)), 0.1, 0.5))[0]
    assert np.all(want[[1, 3]] == 0) and np.all(got[[1, 3]] == 0)
    assert_same(got, want, dtype, "softmax_minus_target")


@ARRAY_MODULES
def test_float16_log_softmax_sums_as_the_reference_does(xp_name):
    """float16 logits go to the reference, whose sum over V runs in float32: a row of 70 000
    equal logits has log p = -log(70 000) = -11.16, not -inf (the twin's float16 sum overflows
    past 65504)."""
    xp = array_module(xp_name)
    logits = np.zeros((2, 70_000), np.float16)
    want = loss.log_softmax(logits)
    with np.errstate(over="ignore"):  # what the overflowing float16 sum would flag
        got = to_numpy(cupy_loss.log_softmax(xp.asarray(logits)))
    assert got.dtype == np.float16
    np.testing.assert_allclose(want, -np.log(70_000), rtol=1e-3)
    np.testing.assert_array_equal(got, want)


@ARRAY_MODULES
@DTYPES
def test_log_softmax_of_a_spread_beyond_the_range_is_minus_inf(xp_name, dtype):
    """A logit more than the dtype's largest number below its row's maximum has log p = -inf,
    as the reference's."""
    xp = array_module(xp_name)
    big = np.finfo(dtype).max
    logits = np.array([[big, -big, 0.0]], dtype)
    with np.errstate(over="ignore"):  # the NumPy stand-in for the kernel flags it; CUDA does not
        got = to_numpy(cupy_loss.log_softmax(xp.asarray(logits)))
    np.testing.assert_array_equal(got, loss.log_softmax(logits))
    np.testing.assert_array_equal(got[0], np.array([0.0, -np.inf, -big], dtype))


@ARRAY_MODULES
@DTYPES
def test_masked_softmax_of_valid_scores_all_minus_inf_is_zeros(xp_name, dtype):
    """Rows whose valid scores are all -inf (with padding holding inf, and without padding):
    all-zero weights and gradient, never NaN, as the reference."""
    xp = array_module(xp_name)
    s = np.array([[[-np.inf, np.inf, -np.inf]], [[-np.inf] * 3], [[1.0, -np.inf, 2.0]]], dtype)
    mask = np.array([[[1, 0, 1]], [[1, 1, 1]], [[1, 1, 1]]], dtype)
    want, c_want = softmax.forward(s, mask)
    got, c_got = cupy_softmax.forward(xp.asarray(s), xp.asarray(mask))
    assert_same_results(back(got), (want,), dtype, "masked softmax")
    assert not to_numpy(got)[:2].any()
    dw = np.ones_like(s)
    want_b = softmax.backward(dw, c_want)
    got_b = cupy_softmax.backward(xp.asarray(dw), c_got)
    assert_same_results(back(got_b), (want_b,), dtype, "masked softmax backward")


@ARRAY_MODULES
@DTYPES
@given(N=dims, S=dims, shift=st.sampled_from([-1e4, 1e4]), seed=st.integers(0, 2**16))
def test_masked_softmax_of_scores_far_from_zero_is_shift_invariant(
    xp_name, dtype, N, S, shift, seed
):
    """Scores all far below (or above) 0, where exp(s) alone underflows (overflows): the weights
    are those of the same scores without the shift, from a plain NumPy softmax of the valid ones,
    so the shift is by the largest valid score (not by 0, nor by padding's values)."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    s0 = r.standard_normal((N, 1, S))
    mask = (r.random((N, 1, S)) < 0.7).astype(dtype)
    mask[:, :, 0] = 1  # a valid position in every row
    s = np.where(mask == 1, s0 + shift, 0.0).astype(dtype)  # padding holds 0, above valid -1e4
    s64 = s.astype(np.float64)  # the expectation: float64, shifted by the largest valid score
    top = np.where(mask == 1, s64, -np.inf).max(axis=-1, keepdims=True)
    e = np.exp(np.where(mask == 1, s64 - top, -np.inf))  # 0 at padding
    want = e / e.sum(axis=-1, keepdims=True)
    got, _ = cupy_softmax.forward(xp.asarray(s), xp.asarray(mask))
    assert_same(to_numpy(got), want.astype(dtype), dtype, "masked softmax of shifted scores")


@ARRAY_MODULES
@DTYPES
@given(N=dims, Tq=dims, S=dims, seed=st.integers(0, 2**16))
def test_masked_softmax_matches_reference(xp_name, dtype, N, Tq, S, seed):
    """Forward and backward, with padded positions holding inf and -inf, and a row with no
    valid position (all-zero weights)."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    s = (5 * r.standard_normal((N + 1, Tq, S))).astype(dtype)
    mask = (r.random((N + 1, 1, S)) < 0.7).astype(dtype)
    mask[-1] = 0  # no valid position
    s[np.broadcast_to(mask == 0, s.shape) & (r.random(s.shape) < 0.5)] = np.inf
    s[np.broadcast_to(mask == 0, s.shape) & (r.random(s.shape) < 0.3)] = -np.inf
    dw = r.standard_normal(s.shape).astype(dtype)
    want, c_want = softmax.forward(s, mask)
    got, c_got = cupy_softmax.forward(xp.asarray(s), xp.asarray(mask))
    assert_same_results(back(got), (want,), dtype, "masked softmax")
    assert not to_numpy(got)[-1].any()  # the row with no valid position
    want_b = softmax.backward(dw, c_want)
    got_b = cupy_softmax.backward(xp.asarray(dw), c_got)
    assert_same_results(back(got_b), (want_b,), dtype, "masked softmax backward")


@ARRAY_MODULES
@DTYPES
@given(
    shape=st.lists(dims, min_size=1, max_size=3).map(tuple),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)]),
    eps=st.sampled_from([1e-8, 1e-3]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    view=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adam_update_matches_reference(xp_name, dtype, shape, betas, eps, weight_decay, view, seed):
    """Five steps in a row (t = 1..5), in place on p, m and v (`view`: as strided views of larger
    arrays, which must be updated in place too); g, with zero rows, is not modified."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    p = r.standard_normal(shape).astype(dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    big = [xp.asarray(np.stack([a, a], axis=-1)) for a in (p, m, v)]  # (..., 2): [..., 0] strided
    # copies: on NumPy, xp.asarray(p) is p, and both updates would land on one array compared
    # with itself
    own = [xp.asarray(a.copy()) for a in (p, m, v)]
    p_dev, m_dev, v_dev = [b[..., 0] for b in big] if view else own
    for t in range(1, 6):
        g = (r.standard_normal(shape) * (r.random(shape) < 0.8)).astype(dtype)
        args = (0.1, *betas, eps, weight_decay, t)
        optim.adam_update(p, g, m, v, *args)
        g_dev = xp.asarray(g)
        cupy_optim.adam_update(p_dev, g_dev, m_dev, v_dev, *args)
        np.testing.assert_array_equal(to_numpy(g_dev), g)
        for name, got, want in (("p", p_dev, p), ("m", m_dev, m), ("v", v_dev, v)):
            assert_same(to_numpy(got), want, dtype, f"{name} at t={t}")

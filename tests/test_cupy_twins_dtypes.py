"""The cupy twins against the reference in every float dtype the layers take on the numpy backend
(float16, float32, float64: `validate.floating` takes any float array), on edge shapes and values,
on the NumPy stand-in; and what float16 means in the C that CuPy compiles.

float16 in CuPy's C is a class with no arithmetic of its own (cupy/float16.cuh): each operand
converts to float, so an expression runs in float32 and is rounded to half only where it is
stored (a `const T` temporary or an output). NumPy rounds after every operation. The stand-in
(`Elementwise.evaluate`) computes as the C does, and the NVRTC test below checks the C's types.

Tolerance for float16: 2^-6 = 16 eps (eps = 2^-10), relative to the result's scale as for
float32 (whose 1e-5 is 84 of its eps). Measured on 600 random cases: at most 12 eps (the softmax
Jacobian, whose dw - sum(w dw) cancels), 9 eps (an RNN step's backward GEMMs), 5 eps elsewhere.
"""

import sys
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.backend import to_numpy
from minis2s.gradcheck import rel_error
from minis2s.kernels import cupy_gru, cupy_loss, cupy_lstm, cupy_optim, cupy_rnn, cupy_softmax
from minis2s.kernels.elementwise import Elementwise, RowSum
from minis2s.layers import gru, loss, lstm, rnn, softmax
from minis2s.train import optim
from tests import test_cupy_twins
from tests.gpu import ARRAY_MODULES, array_module
from tests.parity import (
    flat,
    step_inputs,
    with_padded_row,
)
from tests.strategies import dims, seq_case

CELLS = {"rnn": (rnn, cupy_rnn), "lstm": (lstm, cupy_lstm), "gru": (gru, cupy_gru)}
TOL = {np.float64: 1e-10, np.float32: 1e-5, np.float16: 2.0**-6}
ALL_DTYPES = pytest.mark.parametrize("dtype", list(TOL), ids=["float64", "float32", "float16"])


def same(got, want, dtype, what):
    """Each array in `got` has its twin's dtype, is finite, and is within TOL of it relative to
    the largest entry of the whole result (as tests.parity.assert_same_results for float32)."""
    got, want = [to_numpy(a) for a in flat(got)], [np.asarray(a) for a in flat(want)]
    assert len(got) == len(want), what
    largest = max(float(np.abs(w.astype(np.float64)).max(initial=0.0)) for w in want)
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape, f"{what}[{k}]"
        err = rel_error(a, b, largest)
        assert err < TOL[dtype], f"{what}[{k}]: rel_error {err:.3g} >= {TOL[dtype]:g}"


def check_loops(cell, dtype, xp, N, T, H, m, seed, fill=False):
    """test_cupy_twins.check_loops, its results compared by `same` (float16's tolerance)."""
    test_cupy_twins.check_loops(cell, dtype, xp, N, T, H, m, seed, fill=fill, compare=same)


@ARRAY_MODULES
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_float16_loops_match_reference(xp_name, cell, case):
    N, T, _, H, m, seed = case
    xp = array_module(xp_name)
    check_loops(cell, np.float16, xp, N, T, H, m, seed)
    check_loops(cell, np.float16, xp, N + 1, T, H, with_padded_row(m), seed, fill=True)


@ARRAY_MODULES
@ALL_DTYPES
@pytest.mark.parametrize("cell", CELLS)
def test_loops_on_the_smallest_shapes(xp_name, cell, dtype):
    """N = T = H = 1, and a batch whose one row is all padding (its h stays h0)."""
    xp = array_module(xp_name)
    one = np.ones((1, 1))
    check_loops(cell, dtype, xp, 1, 1, 1, one, 0)
    check_loops(cell, dtype, xp, 1, 1, 1, np.zeros((1, 1)), 1, fill=True)
    check_loops(cell, dtype, xp, 2, 1, 1, with_padded_row(one), 2, fill=True)


@ARRAY_MODULES
@pytest.mark.parametrize("cell", CELLS)
@given(N=dims, D=dims, H=dims, seed=st.integers(0, 2**16))
def test_float16_steps_match_reference(xp_name, cell, N, D, H, seed):
    ref, twin = CELLS[cell]
    xp = array_module(xp_name)
    x, state, p, dstate = step_inputs(cell, N, D, H, np.random.default_rng(seed), np.float16)
    want, c_want = ref.step_forward(x, state, p)
    dev = lambda a: tuple(map(xp.asarray, a)) if isinstance(a, tuple) else xp.asarray(a)  # noqa: E731
    got, c_got = twin.step_forward(
        xp.asarray(x), dev(state), {k: xp.asarray(v) for k, v in p.items()}
    )
    same((*flat(got), *flat(c_got)), (*flat(want), *flat(c_want)), np.float16, cell)
    same(twin.step_backward_data(dev(dstate), c_got), ref.step_backward_data(dstate, c_want),
         np.float16, f"{cell}.step_backward_data")  # fmt: skip


@ARRAY_MODULES
@ALL_DTYPES
@given(
    M=dims,
    V=st.integers(1, 40),
    eps=st.sampled_from([0.0, 0.3, 0.99]),
    spread=st.sampled_from([30.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_loss_passes_in_every_dtype(xp_name, dtype, M, V, eps, spread, seed):
    """V = 1 included, logits up to +-1e4 (past float16's exp range), label smoothing inside
    (0, 1), rows ignored (one always, whose logits hold NaN and inf)."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    logits = (spread * r.uniform(-1, 1, (M + 1, V))).astype(dtype)
    logits[-1] = r.choice([np.nan, np.inf, -np.inf], V)
    t, keep = r.integers(0, V, M + 1), (r.random((M + 1, 1)) < 0.7).astype(dtype)
    keep[-1] = 0
    with np.errstate(invalid="ignore"):  # the ignored row's NaN
        want = loss.log_softmax(logits)
        got = cupy_loss.log_softmax(xp.asarray(logits))
    same(to_numpy(got)[:-1], want[:-1], dtype, "log_softmax")
    scale = 1.0 / max(float(keep.sum()), 1.0)
    with np.errstate(invalid="ignore"):
        want_d = loss.softmax_minus_target(want, t, keep, eps, scale)
        got_d = cupy_loss.softmax_minus_target(xp.asarray(want), xp.asarray(t), xp.asarray(keep),
                                               eps, scale)  # fmt: skip
    same(got_d, want_d, dtype, "softmax_minus_target")


@ARRAY_MODULES
@ALL_DTYPES
@given(N=dims, S=dims, shift=st.sampled_from([0.0, -1e4, 1e4]), seed=st.integers(0, 2**16))
def test_masked_softmax_in_every_dtype(xp_name, dtype, N, S, shift, seed):
    """Scores far from 0, padding holding inf and -inf, a row with no valid position and one
    whose every position is valid and -inf (both all-zero weights)."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    s = (shift + 5 * r.standard_normal((N + 2, 2, S))).astype(dtype)
    mask = (r.random((N + 2, 1, S)) < 0.7).astype(dtype)
    mask[-2], mask[-1], s[-1] = 0, 1, -np.inf
    pad = np.broadcast_to(mask == 0, s.shape)
    s[pad & (r.random(s.shape) < 0.5)] = np.inf
    s[pad & (r.random(s.shape) < 0.3)] = -np.inf
    want, c_want = softmax.forward(s, mask)
    got, c_got = cupy_softmax.forward(xp.asarray(s), xp.asarray(mask))
    same(got, want, dtype, "masked softmax")
    assert not to_numpy(got)[-2:].any()
    dw = r.standard_normal(s.shape).astype(dtype)
    same(cupy_softmax.backward(xp.asarray(dw), c_got), softmax.backward(dw, c_want), dtype,
         "masked softmax backward")  # fmt: skip


@ARRAY_MODULES
@ALL_DTYPES
@given(big=st.sampled_from([1.0, 300.0]), seed=st.integers(0, 2**16))
def test_adam_update_in_every_dtype(xp_name, dtype, big, seed):
    """Gradients up to 300: in float16 the reference's g * g overflows to inf (so v is inf and
    p stays), which the C, computing g * g in float, would not; float16 goes to the reference."""
    xp = array_module(xp_name)
    r = np.random.default_rng(seed)
    p = r.standard_normal((3, 4)).astype(dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    p_dev, m_dev, v_dev = (xp.array(a) for a in (p, m, v))  # copies: updated apart
    for t in range(1, 4):
        g = (big * r.standard_normal((3, 4))).astype(dtype)
        with np.errstate(over="ignore"):
            optim.adam_update(p, g, m, v, 0.1, 0.9, 0.999, 1e-3, 0.0, t)
            cupy_optim.adam_update(p_dev, xp.asarray(g), m_dev, v_dev, 0.1, 0.9, 0.999, 1e-3,
                                   0.0, t)  # fmt: skip
        np.testing.assert_array_equal(np.isinf(to_numpy(v_dev)), np.isinf(v))
        finite = np.isfinite(v)
        same((to_numpy(p_dev), to_numpy(m_dev), to_numpy(v_dev)[finite]), (p, m, v[finite]),
             dtype, f"adam at t={t}")  # fmt: skip


@ARRAY_MODULES
def test_float16_kernels_compute_in_float_and_round_where_they_store(xp_name):
    """As CuPy's C: 300 * 300 is 90 000 in float (not inf in half), and the stored product
    90 000 / 1024 rounds to half once: 87.875; a temporary is a stored T, so 300 * 300 kept in
    one is inf. (On NumPy the stand-in; on CuPy the kernel itself.)"""
    xp = array_module(xp_name)
    k = Elementwise("f16_probe", "a c", "y", "y = a * a * c")
    a, y = xp.full(2, 300, xp.float16), xp.empty(2, xp.float16)
    k(a, 2.0**-10, y)
    np.testing.assert_array_equal(to_numpy(y), np.float16(87.875))
    t = Elementwise("f16_store", "a c", "y", "s = a * a\ny = s * c")
    with np.errstate(over="ignore"):
        t(a, 2.0**-10, y)
    assert np.isinf(to_numpy(y)).all()


def nvrtc_or_skip():
    """tests.cupy_sources where CuPy and NVRTC are installed (no GPU needed), else a skip."""
    pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        from cupy.cuda import nvrtc

        nvrtc.getVersion()  # loads libnvrtc
    except Exception as e:  # noqa: BLE001 (CuPy raises several kinds where NVRTC is missing)
        pytest.skip(f"NVRTC is not installed: {e}")
    from tests import cupy_sources

    return cupy_sources


def float16_source(source):
    """`source` (tests.cupy_sources, T = float16) with the declarations CuPy puts before the
    typedef of a float16 argument (cupy/_core/_scalar.pyx `get_typename`: its header)."""
    from cupy._core import _scalar

    decls = set()
    assert _scalar.get_typename(np.dtype(np.float16), decls) == "float16"
    return source.replace(
        "typedef float16 T;", _scalar.format_type_decls(decls) + "typedef float16 T;"
    )


def row_sum_type(k, monkeypatch):
    """The reduce_type a RowSum gives cupy.ReductionKernel."""
    made = types.ModuleType("cupy")  # records the kernel's keywords, compiles nothing
    made.ReductionKernel = lambda *args, **kw: kw
    monkeypatch.setitem(sys.modules, "cupy", made)
    return k.cuda_kernel()["reduce_type"]


def test_float16_kernels_compile_and_compute_in_float(monkeypatch):
    """Every fused kernel compiles for float16 under NVRTC; in that C a float16 operation, an
    integer minus a float16 and every function of the bodies are float (`Elementwise.evaluate`
    models this),
    and each RowSum adds in float for float16 and in T for float and double."""
    cupy_sources = nvrtc_or_skip()
    from tests.test_nvrtc import ELEMENTWISE, ROW_SUMS

    options = cupy_sources.compile_options("compute_90")

    def compiles(source, name):
        ok, log = cupy_sources.nvrtc_compile(source, options)
        assert ok and "warning" not in log.lower(), f"NVRTC on {name}:\n{log}"

    for k in ELEMENTWISE:
        for ndim, contiguous in ((1, True), (2, False)):
            source = cupy_sources.elementwise_source(k, "float16", ndim, contiguous)
            compiles(float16_source(source), k.name)
    probe = Elementwise("f16_types", "a b", "y", "y = a + b")
    asserts = "".join(
        f'static_assert(cupy::type_traits::is_same<decltype({e}), float>::value, "{e}");\n'
        for e in (
            "T() * T()",
            "1 - T()",
            "where(T(), T(), 0)",
            "divide(T(), T())",
            "sqrt(T())",
            "tanh(T())",
            "exp(T())",
            "log(T())",
            "sigmoid(T() + T())",
        )  # fmt: skip
    )
    compiles(float16_source(cupy_sources.elementwise_source(probe, "float16", 1, True)) + asserts,
             "float16 arithmetic")  # fmt: skip
    for k in ROW_SUMS:
        reduce_type = row_sum_type(k, monkeypatch)
        for ctype, sum_ctype in (("float16", "float"), ("float", "float"), ("double", "double")):
            source = cupy_sources.reduction_source(k, ctype, ndim=2)
            source = source.replace(
                "typedef T _type_reduce;", f"typedef {reduce_type} _type_reduce;"
            )
            source += (
                f"static_assert(cupy::type_traits::is_same<_type_reduce, {sum_ctype}>::value, "
                f'"{k.name} sums {ctype} in {sum_ctype}");\n'
            )
            compiles(float16_source(source) if ctype == "float16" else source, k.name)


@ARRAY_MODULES
def test_float16_row_sums_run_in_float32(xp_name):
    """A float16 RowSum of 4096 terms of 1 is 4096, as the reference's float32 sums: a float16
    sum would stop at 2048 (on CuPy: the reduce_type; on NumPy: the sum's dtype)."""
    xp = array_module(xp_name)
    total = RowSum("f16_row_sum", "x", "x")(xp.ones((2, 4096), xp.float16))
    assert total.dtype == np.float16
    np.testing.assert_array_equal(to_numpy(total), 4096)

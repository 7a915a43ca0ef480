"""Numba twins of the decoder's per-step attention (`forward_with_keys`, `score_grads`,
`query_grads`) against the reference in minis2s.layers.attention on the same inputs: float64
within 1e-10 and float32 within 1e-5 (DESIGN.md), relative to the scale of each output
(`rel_error`), for every score kind (concat and additive go through the reference inside the
twins: checked all the same), with masks holding padded positions and rows with no valid
position. Bad input raises the reference's ValueError."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.kernels import numba_attention
from minis2s.layers import attention
from minis2s.layers.attention import SCORES
from tests.parity import DTYPES, TOL, assert_same
from tests.strategies import dims, lengths, mask_from_lengths

TWINS = ("forward_with_keys", "score_grads", "query_grads")
COMPILED = pytest.mark.parametrize("score", numba_attention.COMPILED)
# widths 1..4, and past the 8 / 16 lanes of a vectorised loop (its remainder too)
widths = st.one_of(dims, st.integers(15, 40))


@st.composite
def attn_case(draw, score, big_q=True):
    """(q, enc, p, mask, seed), float64. The mask is right-padded, sometimes with a row of no
    valid position, sometimes None; with big_q, q is sometimes 10x larger, so that scores reach
    ~100 and some weights underflow."""
    N, Tq, S, Hq, A = draw(dims), draw(dims), draw(st.integers(1, 12)), draw(widths), draw(dims)
    He = Hq if score in ("dot", "scaled_dot") else draw(widths)
    L = draw(lengths(N, S, allow_empty=True))
    if draw(st.booleans()):
        L[draw(st.integers(0, N - 1))] = 0  # a row with no valid position
    seed = draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    q = draw(st.sampled_from([1.0, 10.0] if big_q else [1.0])) * r.standard_normal((N, Tq, Hq))
    enc = r.standard_normal((N, S, He))
    p = attention.init(score, Hq, He, r, A=A, dtype=np.float64)
    mask = None if draw(st.integers(0, 4)) == 0 else mask_from_lengths(L, S)
    return q, enc, p, mask, seed


def fixed_case(score, N=3, Tq=2, S=5, H=20):
    """One attn_case: a full row, a padded row and a row with no valid position."""
    r = np.random.default_rng(7)
    q, enc = r.standard_normal((N, Tq, H)), r.standard_normal((N, S, H))
    mask = mask_from_lengths(np.array([S, 2, 0]), S)
    return q, enc, attention.init(score, H, H, r, A=3, dtype=np.float64), mask, 7


def inputs(case, score, dtype, with_dweights=True):
    """(q, keys, enc, p, mask, dcontext, dweights or None) of one dtype; keys from the
    reference's keys_forward."""
    q, enc, p, mask, seed = case
    q, enc = q.astype(dtype), enc.astype(dtype)
    p = {k: v.astype(dtype) for k, v in p.items()}
    keys, _ = attention.keys_forward(enc, p, score)
    r = np.random.default_rng(seed + 1)
    (N, Tq, _), (S, He) = q.shape, enc.shape[1:]
    dcontext = r.standard_normal((N, Tq, He)).astype(dtype)
    dweights = r.standard_normal((N, Tq, S)).astype(dtype) if with_dweights else None
    return q, keys, enc, p, mask, dcontext, dweights


def run(module, q, keys, enc, p, mask, score, dcontext, dweights):
    """(context, weights, cache, ds, dq) of one module's three functions."""
    context, w, cache = module.forward_with_keys(q, keys, enc, p, mask, score)
    ds = module.score_grads(dcontext, dweights, cache)
    return context, w, cache, ds, module.query_grads(ds, cache)


def test_the_numba_backend_registers_the_twins():
    be = backend.use("numba")
    for name in TWINS:
        twin = be.kernel(f"attention.{name}", None)
        assert twin is getattr(numba_attention, name) is not getattr(attention, name)
    for loop in ("forward_into", "score_grads_into", "query_grads_into"):
        assert hasattr(getattr(numba_attention, loop), "py_func")  # compiled by Numba


@DTYPES
@COMPILED
def test_compiled_kinds_never_call_the_reference(score, dtype, monkeypatch):
    """Without this the parity tests below could compare the reference with itself."""
    args = inputs(fixed_case(score), score, dtype)
    want = run(attention, *args[:5], score, *args[5:])
    for name in TWINS:
        monkeypatch.setattr(attention, name, None)  # a call to it would raise TypeError
    got = run(numba_attention, *args[:5], score, *args[5:])
    assert_same(got[0], want[0], dtype, "context")
    assert_same(got[4], want[4], dtype, "dq")


@DTYPES
@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_twins_match_reference(score, dtype, data):
    # float32 rounds a score e to |e| 6e-8, which moves the weights by as much relative: at
    # |e| ~ 100 the float32 reference itself was 2e-4 off float64, so float32 keeps q small
    case = data.draw(attn_case(score, big_q=dtype is np.float64))
    args = inputs(case, score, dtype, with_dweights=data.draw(st.booleans()))
    want = run(attention, *args[:5], score, *args[5:])
    got = run(numba_attention, *args[:5], score, *args[5:])
    for what, k in (("context", 0), ("weights", 1), ("ds", 3), ("dq", 4)):
        assert_same(got[k], want[k], dtype, what)
    cache, ref_cache = got[2], want[2]
    for field in ("q", "keys", "enc", "w", "z"):
        g, r = getattr(cache, field), getattr(ref_cache, field)
        if r is None:
            assert g is None, field
        else:
            assert_same(g, r, dtype, f"cache.{field}")
    assert cache.p is ref_cache.p and cache.score == ref_cache.score == score
    # the twins' backward on the reference's cache (what a mixed caller would do)
    assert_same(numba_attention.score_grads(args[5], args[6], ref_cache), want[3], dtype, "ds")
    assert_same(numba_attention.query_grads(want[3], ref_cache), want[4], dtype, "dq")


@DTYPES
@COMPILED
@given(data=st.data())
def test_weights_are_zero_at_padding(score, dtype, data):
    """Weights exactly 0 at padding and sum to 1 elsewhere; a row with no valid position gets
    zero weights and zero context (exactly, not NaN); the keys at padding are never read."""
    q, keys, enc, p, mask, _, _ = inputs(data.draw(attn_case(score)), score, dtype)
    context, w, _ = numba_attention.forward_with_keys(q, keys, enc, p, mask, score)
    m = np.ones((w.shape[0], w.shape[2])) if mask is None else mask  # (N, S)
    if score == "general":  # there the keys are not the values: make padding unreadable
        keys = np.where(m[:, :, None] == 0, np.nan, keys).astype(dtype)
        context_nan, w_nan, _ = numba_attention.forward_with_keys(q, keys, enc, p, mask, score)
        assert np.array_equal(context_nan, context) and np.array_equal(w_nan, w)
    assert np.all(w[np.broadcast_to(m[:, None, :] == 0, w.shape)] == 0)
    empty = m.sum(axis=1) == 0
    assert np.all(context[empty] == 0) and np.all(w[empty] == 0)
    np.testing.assert_allclose(w[~empty].sum(axis=-1), 1.0, rtol=10 * TOL[dtype])


@DTYPES
@COMPILED
def test_valid_scores_all_minus_inf_give_zeros_as_the_reference(score, dtype):
    """q . k_s = -inf at every valid position (row 0 padded, row 1 not): all-zero weights,
    context and gradients, never NaN, as the reference's masked softmax."""
    q = np.full((2, 1, 1), np.inf, dtype)
    keys, enc = -np.ones((2, 3, 1), dtype), np.ones((2, 3, 1), dtype)
    p = {
        k: v.astype(dtype) for k, v in attention.init(score, 1, 1, np.random.default_rng(0)).items()
    }
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype)
    d = np.ones((2, 1, 1), dtype), np.ones((2, 1, 3), dtype)
    want = run(attention, q, keys, enc, p, mask, score, *d)
    got = run(numba_attention, q, keys, enc, p, mask, score, *d)
    for k in (0, 1, 3, 4):  # context, weights, ds, dq
        assert got[k].dtype == dtype and np.all(got[k] == 0) and np.all(want[k] == 0), k


@COMPILED
@given(data=st.data())
def test_twins_accept_strided_views(score, data):
    """The decoder passes views (dcontext = dcat[:, None, :He])."""
    q, keys, enc, p, mask, dcontext, dweights = inputs(
        data.draw(attn_case(score)), score, np.float64
    )
    want = run(attention, q, keys, enc, p, mask, score, dcontext, dweights)

    def strided(a):  # the same values, every other element of a wider array
        wide = np.full((*a.shape[:-1], 2 * a.shape[-1]), np.nan)
        wide[..., ::2] = a
        return wide[..., ::2]

    views = [strided(a) for a in (q, keys, enc, dcontext, dweights)]
    got = run(numba_attention, *views[:3], p, mask, score, *views[3:])
    for what, k in (("context", 0), ("weights", 1), ("ds", 3), ("dq", 4)):
        assert_same(got[k], want[k], np.float64, what)


def bad_inputs(q, keys, enc, mask):
    """name -> (q, keys, enc, mask), each wrong in one way."""
    return {
        "q rank": (q[0], keys, enc, mask),
        "enc batch": (q, keys, enc[:1], mask),
        "keys length": (q, keys[:, 1:], enc, mask),
        "keys width": (q, keys[..., 1:], enc, mask),
        "q width": (q[..., 1:], keys, enc, mask),
        "mask shape": (q, keys, enc, mask[:, 1:]),
        "mask values": (q, keys, enc, 2 * mask),
        "q dtype": (q.astype(np.float32), keys, enc, mask),
        "q ints": (q.astype(np.int64), keys, enc, mask),
        "empty": (q[:, :0], keys, enc, mask),
    }


@pytest.mark.parametrize("score", SCORES)
def test_bad_input_raises_the_references_error(score):
    q, enc, p, mask, _ = fixed_case(score)
    keys, _ = attention.keys_forward(enc, p, score)
    for name, (q_, keys_, enc_, mask_) in bad_inputs(q, keys, enc, mask).items():
        with pytest.raises(ValueError) as want:
            attention.forward_with_keys(q_, keys_, enc_, p, mask_, score)
        with pytest.raises(ValueError) as got:
            numba_attention.forward_with_keys(q_, keys_, enc_, p, mask_, score)
        assert str(got.value) == str(want.value), name
    with pytest.raises(ValueError, match="unknown score kind 'dott'"):
        numba_attention.forward_with_keys(q, keys, enc, p, mask, "dott")


@COMPILED
def test_backward_shapes_are_checked(score):
    """Where the reference's matmul fails, the twins fail too, naming the argument."""
    q, keys, enc, p, mask, dcontext, dweights = inputs(fixed_case(score), score, np.float64)
    _, _, cache = numba_attention.forward_with_keys(q, keys, enc, p, mask, score)
    ds = numba_attention.score_grads(dcontext, dweights, cache)
    N, Tq, He = dcontext.shape
    bad_dcontext, bad_ds = np.ones((N, Tq, He + 1)), np.ones((N, Tq, ds.shape[2] + 1))
    for module in (attention, numba_attention):
        with pytest.raises(ValueError):
            module.score_grads(bad_dcontext, dweights, cache)
        with pytest.raises(ValueError):
            module.score_grads(dcontext, bad_ds, cache)  # dweights has the shape of ds
        with pytest.raises(ValueError):
            module.query_grads(bad_ds, cache)
    with pytest.raises(ValueError, match="score_grads: dcontext has shape"):
        numba_attention.score_grads(bad_dcontext, dweights, cache)
    with pytest.raises(ValueError, match="score_grads: dweights has shape"):
        numba_attention.score_grads(dcontext, bad_ds, cache)
    with pytest.raises(ValueError, match="query_grads: ds has shape"):
        numba_attention.query_grads(bad_ds, cache)

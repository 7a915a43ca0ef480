"""Recurrent stacks: gradients against finite differences for every cell, depth and direction
(with and without dropout), the bidirectional wiring, masking invariants, and config errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import dropout, gru, lstm, rnn, stack, stack_layout
from tests.parity import fill_padding
from tests.strategies import lengths, mask_from_lengths

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
CONFIGS = [(c, L, bi) for c in CELLS for L in (1, 2) for bi in (False, True)]


@st.composite
def stack_case(draw, allow_empty: bool = False):
    """(N, T, D, H, mask, seed), smaller than seq_case: a 2-layer bidirectional LSTM check
    perturbs every one of its ~300 numbers twice."""
    N, T, D = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    H = draw(st.integers(1, 2))
    m = mask_from_lengths(draw(lengths(N, T, allow_empty)), T)
    return N, T, D, H, m, draw(st.integers(0, 2**16))


def make(cell, N, T, D, H, L, bi, seed):
    """x (N, T, D), state0 in PyTorch layout and float64 stack parameters."""
    r = np.random.default_rng(seed)
    p = stack.init(cell, D, H, L, bi, r, dtype=np.float64)
    x = r.standard_normal((N, T, D))
    shape = (L * (2 if bi else 1), N, H)
    s0 = r.standard_normal(shape)
    if cell == "lstm":
        s0 = (s0, r.standard_normal(shape))
    return x, s0, p


def rows(state, n):
    """Row n of a state in PyTorch layout, kept as a batch of one."""
    if isinstance(state, tuple):
        return tuple(s[:, n : n + 1] for s in state)
    return state[:, n : n + 1]


def as_tuple(state):
    """(h,) for rnn and gru, (h, c) for lstm."""
    return state if isinstance(state, tuple) else (state,)


def assert_state_close(a, b, atol):
    for u, v in zip(as_tuple(a), as_tuple(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=0, atol=atol)


# The stack's parameters are its cells' (l{k}.{dir}.W_ih, ...), each gradient from the cell's own
# backward pass, which test_rnn, test_lstm and test_gru check entry by entry (padded and fully
# padded rows, every input). What the stack adds is wiring: dy's halves to the two directions,
# the reversal, dropout between layers, the layout of state0 and final, dx summed over
# directions. A wrong wiring changes x's or state0's gradient, checked here entry by entry, and
# whole gradients of the parameters, which 3 sampled entries and 2 random directions through
# each see (gradcheck_sampled.py); every entry of every parameter took 4 forward passes each.
SAMPLED = dict(entries=3, directions=2)


@pytest.mark.parametrize("cell, L, bi", CONFIGS)
@given(case=stack_case(allow_empty=True))
def test_gradients(cell, L, bi, case):
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, L, bi, seed)
    f = lambda x, state0, p: stack.forward(x, state0, p, mask=m, cell=cell)
    assert_close(check_layer(f, stack.backward, [x, s0], p, **SAMPLED))


def test_check_layer_with_entries_samples_the_parameters_and_checks_every_input_entry():
    m = np.array([[1.0, 1.0], [1.0, 0.0]])
    x, s0, p = make("gru", 2, 2, 3, 2, 1, True, 0)
    f = lambda x, state0, p: stack.forward(x, state0, p, mask=m, cell="gru")
    errors = check_layer(f, stack.backward, [x, s0], p, **SAMPLED)
    assert errors.numeric["x"].size == x.size and errors.numeric["state0"].size == s0.size
    assert all(errors.numeric[k].size == 5 for k in p if p[k].size > 5)  # 3 entries, 2 directions
    full = check_layer(f, stack.backward, [x, s0], p)
    np.testing.assert_array_equal(errors.numeric["x"], full.numeric["x"].reshape(-1))
    with pytest.raises(
        ValueError, match=r"entries \(of each parameter to check\) must be >= 1; got 0"
    ):
        check_layer(f, stack.backward, [x, s0], p, entries=0)


@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case(allow_empty=True), bi=st.booleans())
def test_gradients_with_dropout(cell, case, bi):
    """A generator seeded inside the forward draws the same dropout mask on every call.
    (Dropout sits between layers whatever the cell, so bi is drawn rather than crossed.)"""
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, 2, bi, seed)

    def f(x, state0, p):
        r = np.random.default_rng(seed)
        return stack.forward(x, state0, p, mask=m, cell=cell, dropout=0.5, rng=r)

    assert_close(check_layer(f, stack.backward, [x, s0], p, **SAMPLED))


@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case(allow_empty=True))
def test_fully_padded_rows(cell, case):
    """A row without tokens outputs zeros and keeps its initial state (test_gradients draws
    such rows too)."""
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, 2, True, seed)
    ys, final, _ = stack.forward(x, s0, p, mask=m, cell=cell)
    assert np.all(np.isfinite(ys))
    empty = m.sum(1) == 0
    np.testing.assert_array_equal(ys[empty], 0)
    for fin, init in zip(as_tuple(final), as_tuple(s0), strict=True):
        np.testing.assert_array_equal(fin[:, empty], init[:, empty])


@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case())
def test_padding_changes_nothing(cell, case):
    """Extra padded steps leave outputs at real steps and the final states unchanged."""
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, 2, True, seed)
    ys, final, _ = stack.forward(x, s0, p, mask=m, cell=cell)
    r = np.random.default_rng(seed + 1)
    x2 = np.concatenate([x, r.standard_normal((N, 2, D))], axis=1)
    m2 = np.concatenate([m, np.zeros((N, 2))], axis=1)
    ys2, final2, _ = stack.forward(x2, s0, p, mask=m2, cell=cell)
    np.testing.assert_allclose(ys2[:, :T], ys, rtol=0, atol=1e-14)  # GEMM blocking may differ
    np.testing.assert_array_equal(ys2[:, T:], 0)
    assert_state_close(final2, final, atol=1e-14)


@pytest.mark.filterwarnings("error")  # no "invalid value" from the input projection
@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case(allow_empty=True))
def test_padding_may_hold_nan_and_inf(cell, case):
    """NaN, inf or -inf in x at padding change no output, final state or gradient of a 2-layer
    bidirectional stack: they equal those with zeros there, exactly."""
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, 2, True, seed)
    x = np.where(m[:, :, None] > 0, x, 0.0)
    r = np.random.default_rng(seed + 1)
    dys, dfinal = r.standard_normal((N, T, 2 * H)), r.standard_normal((4, N, H))
    dfinal = (dfinal, r.standard_normal((4, N, H))) if cell == "lstm" else dfinal

    def run(x):
        ys, final, cache = stack.forward(x, s0, p, mask=m, cell=cell)
        dx, ds0, dp = stack.backward(dys, dfinal, cache)
        return [ys, *as_tuple(final), dx, *as_tuple(ds0)] + [dp[k] for k in sorted(dp)]

    for got, want in zip(run(fill_padding(x, m, r)), run(x), strict=True):
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case())
def test_reverse_direction_reads_each_row_backwards(cell, case):
    """Row n of the bwd half equals the cell run alone over row n's tokens, last to first."""
    N, T, D, H, m, seed = case
    x, _, p = make(cell, N, T, D, H, 1, True, seed)
    ys, final, _ = stack.forward(x, None, p, mask=m, cell=cell)
    module = CELLS[cell]
    for d, j in (("fwd", 0), ("bwd", 1)):
        p_d = {name: p[f"l0.{d}.{name}"] for name in stack.PARAMS}
        for n in range(N):
            L = int(m[n].sum())
            x_n = x[n : n + 1, :L] if d == "fwd" else x[n : n + 1, :L][:, ::-1]
            ys_n, fin_n, _ = module.forward(np.ascontiguousarray(x_n), None, p_d)
            ys_n = ys_n if d == "fwd" else ys_n[:, ::-1]
            np.testing.assert_allclose(ys[n, :L, j * H : (j + 1) * H], ys_n[0], atol=1e-13)
            np.testing.assert_array_equal(ys[n, L:], 0)
            want = tuple(f[0] for f in fin_n) if cell == "lstm" else (fin_n[0],)
            got = tuple(f[j, n] for f in final) if cell == "lstm" else (final[j, n],)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", CELLS)
@given(case=stack_case())
def test_each_row_as_if_alone(cell, case):
    """Outputs and final states of row n equal running row n alone, unpadded, with its own
    initial state; so the other rows and the padding change nothing."""
    N, T, D, H, m, seed = case
    x, s0, p = make(cell, N, T, D, H, 2, True, seed)
    ys, final, _ = stack.forward(x, s0, p, mask=m, cell=cell)
    for n in range(N):
        L = int(m[n].sum())
        ys_n, final_n, _ = stack.forward(x[n : n + 1, :L], rows(s0, n), p, cell=cell)
        np.testing.assert_allclose(ys[n : n + 1, :L], ys_n, rtol=0, atol=1e-13)
        assert_state_close(rows(final, n), final_n, atol=1e-13)


def test_two_layers_equal_cells_composed_by_hand(rng):
    """l1 reads [l0.fwd ; l0.bwd]; states are ordered l0.fwd, l0.bwd, l1.fwd, l1.bwd."""
    N, T, D, H = 2, 4, 3, 5
    x, s0, p = make("gru", N, T, D, H, 2, True, 7)
    ys, final, _ = stack.forward(x, s0, p, cell="gru")
    h, finals = x, []
    for k in range(2):
        halves = []
        for j, d in enumerate(("fwd", "bwd")):
            p_d = {name: p[f"l{k}.{d}.{name}"] for name in stack.PARAMS}
            x_d = h if d == "fwd" else h[:, ::-1]
            y, fin, _ = gru.forward(np.ascontiguousarray(x_d), s0[2 * k + j], p_d)
            halves.append(y if d == "fwd" else y[:, ::-1])
            finals.append(fin)
        h = np.concatenate(halves, axis=-1)
    np.testing.assert_allclose(ys, h, rtol=0, atol=1e-13)
    np.testing.assert_allclose(final, np.stack(finals), rtol=0, atol=1e-13)


def test_dropout_only_between_layers_and_only_with_rng(rng):
    x, s0, p = make("lstm", 3, 4, 2, 3, 2, True, 3)
    ys, (hT, cT), _ = stack.forward(x, s0, p, cell="lstm")
    ys_eval, (hT_eval, _), _ = stack.forward(x, s0, p, cell="lstm", dropout=0.5)
    np.testing.assert_array_equal(ys_eval, ys)  # rng None = evaluation
    seeded = lambda: stack.forward(x, s0, p, cell="lstm", dropout=0.5, rng=np.random.default_rng(1))
    ys_a, (hT_a, _), _ = seeded()
    ys_b, _, _ = seeded()
    np.testing.assert_array_equal(ys_a, ys_b)
    assert np.abs(ys_a - ys).max() > 1e-3  # layer 1 read a dropped-out layer 0
    np.testing.assert_array_equal(hT_a[:2], hT[:2])  # layer 0 itself is untouched
    one = {k: v for k, v in p.items() if k.startswith("l0.")}
    s1 = (s0[0][:2], s0[1][:2])
    ys1, _, _ = stack.forward(x, s1, one, cell="lstm")
    ys1_drop, _, _ = stack.forward(x, s1, one, cell="lstm", dropout=0.5, rng=rng)
    np.testing.assert_array_equal(ys1_drop, ys1)  # never on the last layer's outputs


def test_init_layout():
    p = stack.init("lstm", 3, 5, 2, True, np.random.default_rng(0))
    assert p["l0.fwd.W_ih"].shape == (20, 3) and p["l1.bwd.W_ih"].shape == (20, 10)
    assert p["l1.fwd.W_hh"].shape == (20, 5) and p["l0.bwd.b_hh"].shape == (20,)
    assert len(p) == 16 and p["l0.fwd.W_ih"].dtype == np.float32
    assert stack_layout.layout(p) == stack_layout.Layout(2, ("fwd", "bwd"), 5, 3)


def test_bad_config_raises_clear_errors(rng):
    x, s0, p = make("rnn", 2, 3, 4, 5, 2, True, 0)
    fwd = lambda p=p, s0=s0, **kw: stack.forward(x, s0, p, **{"cell": "rnn", **kw})
    with pytest.raises(ValueError, match="unknown cell 'elman'; choose one of rnn, lstm, gru"):
        fwd(cell="elman")
    gap = {k.replace("l1.", "l2."): v for k, v in p.items()}
    with pytest.raises(ValueError, match=r"missing l1\.fwd\.W_ih"):
        fwd(p=gap)
    one_way = {k: v for k, v in p.items() if not k.startswith("l1.bwd")}
    with pytest.raises(ValueError, match=r"missing l1\.bwd\.W_ih.*directions \('fwd', 'bwd'\)"):
        fwd(p=one_way)
    with pytest.raises(ValueError, match="unexpected parameter 'l0.fwd.W_xh'"):
        fwd(p={**p, "l0.fwd.W_xh": p["l0.fwd.W_ih"]})
    bad = {**p, "l1.fwd.W_ih": np.zeros((5, 5))}
    with pytest.raises(ValueError, match=r"l1\.fwd\.W_ih has shape \(5, 5\), expected \(G\*H, "):
        fwd(p=bad)
    with pytest.raises(ValueError, match=r"W_ih has shape \(5, 4\), expected \(G\*H, D; G = 4"):
        fwd(cell="lstm", s0=None)
    with pytest.raises(ValueError, match="x has shape"):
        stack.forward(x[:, :, :3], s0, p, cell="rnn")
    with pytest.raises(ValueError, match="right-padded.*row 1"):
        fwd(mask=np.array([[1, 1, 0], [0, 1, 1]]))
    with pytest.raises(ValueError, match=r"state0 has shape \(2, 2, 5\), expected \(L\*dirs"):
        fwd(s0=s0[:2])
    with pytest.raises(ValueError, match="state0 must be None or one array, not a tuple"):
        fwd(s0=(s0, s0))
    with pytest.raises(ValueError, match=r"state0 must be None or a pair \(h, c\)"):
        stack.forward(x, s0, stack.init("lstm", 4, 5, 2, True, rng, np.float64), cell="lstm")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\); got 1.0"):
        fwd(dropout=1.0)
    ys, _, cache = fwd()
    with pytest.raises(ValueError, match=r"dys has shape \(2, 3, 5\), expected \(N, T, dirs\*H\)"):
        stack.backward(ys[:, :, :5], None, cache)
    with pytest.raises(ValueError, match="num_layers must be at least 1; got 0"):
        stack.init("gru", 4, 5, 0, False, rng)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_backward_rejects_wrong_gradients_before_any_loop(name):
    """A 2-layer bidirectional LSTM stack with dropout: wrong gradients stop at the stack with a
    message naming them, before any cell's compiled loop (numba) can read past their end."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    p = stack.init("lstm", 3, 5, 2, True, r)  # float32
    x = r.standard_normal((4, 6, 3)).astype(np.float32)
    ys, (h, c), cache = stack.forward(x, None, p, cell="lstm", dropout=0.5, rng=r)
    dys, dh, dc = np.ones_like(ys), np.ones_like(h), np.ones_like(c)
    bad = {
        "dys has shape (64, 6, 10), expected (N, T, dirs*H) = (4, 6, 10)": (
            np.ones((64, 6, 10), np.float32),
            None,
        ),
        "dys has dtype float64 but the forward pass ran in float32": (dys.astype(np.float64), None),
        "dfinal[0] has shape (4, 2, 5), expected (L*dirs, N, H) = (4, 4, 5)": (
            dys,
            (dh[:, :2], dc),
        ),
        "dfinal[1] has dtype float64 but the forward pass ran in float32": (
            dys,
            (dh, dc.astype(np.float64)),
        ),
        "dfinal must be None or a pair (h, c)": (dys, dh),
    }
    for message, (g, g_final) in bad.items():
        with pytest.raises(ValueError, match=re.escape(f"stack.backward: {message}")):
            stack.backward(g, g_final, cache)
    dx, (dh0, dc0), dp = stack.backward(dys, (dh, None), cache)  # the stack still works
    assert dx.shape == x.shape and dh0.shape == dc0.shape == (4, 4, 5)
    assert all(np.isfinite(g).all() for g in dp.values())


def test_dropout_backward_rejects_a_wrong_gradient(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    y, cache = dropout.forward(x, 0.5, rng)
    want = "dropout.backward: dy has shape (1, 6), expected (...) = (4, 6)"
    with pytest.raises(ValueError, match=re.escape(want)):
        dropout.backward(y[:1], cache)  # would broadcast to (4, 6) silently
    with pytest.raises(ValueError, match="dy has dtype float64 but the forward pass ran in"):
        dropout.backward(y.astype(np.float64), cache)
    assert dropout.backward(np.ones_like(y), cache).shape == (4, 6)

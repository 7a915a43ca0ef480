"""What the fast twins' parity tests share: DESIGN.md's tolerances, the comparisons, the inputs
of the recurrent loops and steps, and whole layers, stacks and models to run on two backends."""

import numpy as np
import pytest

from minis2s.backend import get_array_module, to_numpy
from minis2s.data.batching import make_batch
from minis2s.gradcheck import FLOOR, rel_error
from minis2s.layers import gru, lstm, rnn, stack
from minis2s.models import ModelConfig, Seq2Seq

TOL = {np.float64: 1e-10, np.float32: 1e-5}  # twin against reference, relative to the scale
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gate blocks per cell
DTYPES = pytest.mark.parametrize("dtype", list(TOL), ids=["float64", "float32"])


def assert_same(got, want, dtype, what, floor=0.0):
    """`got` has `want`'s dtype (`dtype`) and shape, is finite, and is within TOL[dtype] of it
    relative to the larger of the two's largest entry and `floor` (`rel_error`)."""
    assert got.dtype == want.dtype == dtype and got.shape == want.shape, what
    assert np.all(np.isfinite(got)), f"{what}: not finite"
    err = rel_error(got, want, floor)
    assert err < TOL[dtype], f"{what}: rel_error {err:.3g} >= {TOL[dtype]:g}"


# What a result's arrays are compared at, at the least, as a fraction of the largest entry of the
# whole result. A sum that cancels (a bias gradient over N T rows) is rounded at the scale of what
# was summed, not of its small total: in float32, two correct implementations differ there by up
# to 3e-5 of the total (300 random layers and stacks, numba's twins against the reference, whose
# own float32 result was 6e-6 of such a total off the float64 one). float64 keeps its blocks'
# own scale down to gradcheck's FLOOR.
SCALE_FLOOR = {np.float64: FLOOR, np.float32: 1.0}


def assert_same_results(got, want, dtype, what):
    """Every array in `got` within TOL[dtype] of the matching one in `want`, relative to the
    larger of its own largest entry and SCALE_FLOOR[dtype] x the largest entry of all of `want`."""
    got = got if isinstance(got, tuple | list) else (got,)
    want = want if isinstance(want, tuple | list) else (want,)
    assert len(got) == len(want), f"{what}: {len(got)} results, expected {len(want)}"
    largest = max((float(np.abs(w).max(initial=0.0)) for w in want), default=0.0)
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        assert_same(a, b, dtype, f"{what}[{k}]", SCALE_FLOOR[dtype] * largest)


def with_padded_row(m):
    """The mask with one more row that is padding throughout."""
    return np.concatenate([m, np.zeros((1, m.shape[1]))], axis=0)


def fill_padding(a, m, r):
    """`a` (N, T, ...) with every entry of a padded step (m = 0) replaced by NaN, inf or -inf,
    drawn per entry: what a select must never read (a blend would turn it into NaN)."""
    junk = r.choice([np.nan, np.inf, -np.inf], size=a.shape).astype(a.dtype)
    return np.where(m[:, :, None] > 0, a, junk)


GATES_AT = {"rnn": None, "lstm": 2, "gru": 1}  # where forward_loop returns the gates


def gates_zeroed_at_padding(cell, out, m):
    """forward_loop's results `out` with the gates set to 0 at padded steps, where they are made
    from what padding holds (NaN with `fill_padding`) and never read."""
    out = list(out) if isinstance(out, tuple) else [out]
    k = GATES_AT[cell]
    if k is not None:
        out[k] = np.where(m[:, :, None] > 0, to_numpy(out[k]), 0)
    return tuple(out)


def strided(a):
    """`a` as a non-contiguous view (every other column of a wider array)."""
    wide = get_array_module(a).zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


def loop_inputs(cell, N, T, H, m, r, dtype):
    """Forward-loop arguments for `cell`, in the reference's order, as `dtype` arrays."""
    G = GATES[cell]
    xw, h0 = r.standard_normal((N, T, G * H)), r.standard_normal((N, H))
    W_hh = r.standard_normal((G * H, H)) / np.sqrt(H)
    args = {
        "rnn": (xw, h0, W_hh, m),
        "lstm": (xw, h0, r.standard_normal((N, H)), W_hh, m),
        "gru": (xw, h0, W_hh, r.standard_normal(G * H), m),
    }[cell]
    return tuple(a.astype(dtype) for a in args)


def backward_inputs(cell, fwd_args, fwd_out, r, dtype):
    """Backward-loop arguments built from the forward pass, in the reference's order."""
    xw, h0 = fwd_args[0], fwd_args[1]
    N, T = xw.shape[:2]
    H = h0.shape[1]
    dys, dh_final = r.standard_normal((N, T, H)), r.standard_normal((N, H))
    dys, dh_final = dys.astype(dtype), dh_final.astype(dtype)
    m, W_hh = fwd_args[-1], fwd_args[-3 if cell == "gru" else -2]
    if cell == "rnn":
        return dys, dh_final, fwd_out, m, W_hh
    if cell == "lstm":
        dc_final, c0 = r.standard_normal((N, H)).astype(dtype), fwd_args[2]
        return (dys, dh_final, dc_final, *fwd_out, c0, m, W_hh)
    return (dys, dh_final, *fwd_out, h0, m, W_hh)


def step_inputs(cell, N, D, H, r, dtype):
    """(x (N, D), state, p, dstate) for one step of `cell`, as `dtype` arrays."""
    ref = {"rnn": rnn, "lstm": lstm, "gru": gru}[cell]
    p = {k: v.astype(dtype) for k, v in ref.init(D, H, r, np.float64).items()}
    x, h = r.standard_normal((N, D)).astype(dtype), r.standard_normal((N, H)).astype(dtype)
    dh = r.standard_normal((N, H)).astype(dtype)
    if cell != "lstm":
        return x, h, p, dh
    c, dc = r.standard_normal((N, H)).astype(dtype), r.standard_normal((N, H)).astype(dtype)
    return x, (h, c), p, (dh, dc)


def wrong_step_grads(cell, dstate, xp=np):
    """Upstream gradients that one step's backward must refuse, beside the right ones `dstate`
    ((N, H) dh, or (dh, dc) for the LSTM): too few or too many rows or columns, another dtype,
    not an array; arrays on the array module xp. A compiled step reads dh with no bounds check."""
    dh = dstate[0] if cell == "lstm" else dstate
    (N, H), dtype = dh.shape, dh.dtype
    other = np.float32 if dtype == np.float64 else np.float64
    shapes = [(N - 1, H), (N + 1, H), (N, H - 1), (N, H + 1), (H,)]
    bad = [xp.ones(s, dtype=dtype) for s in shapes] + [xp.ones((N, H), dtype=other)]
    bad += [np.ones((N, H), dtype=dtype).tolist(), None]
    if cell != "lstm":
        return bad
    dh, dc = (xp.asarray(a) for a in dstate)
    return [(b, dc) for b in bad] + [(dh, b) for b in bad if b is not None] + [dh, (dh, dc, dc)]


def flat(tree):
    """The arrays of nested tuples / NamedTuples (a step cache's p dict left out), in order."""
    if isinstance(tree, dict):
        return []
    if isinstance(tree, tuple | list):
        return [a for t in tree for a in flat(t)]
    return [tree]


# -- whole layers, stacks and models on two backends ---------------------------------------------


class StackModule:
    """`stack.forward` / `stack.backward` for one cell, with the layer call signature."""

    def __init__(self, cell):
        self.cell = cell

    def forward(self, x, s0, p, mask):
        return stack.forward(x, s0, p, mask, cell=self.cell)

    def backward(self, dys, dfinal, cache):
        return stack.backward(dys, dfinal, cache)


def layer_case(cell, N, T, D, H, seed, dtype, stacked=False):
    """(module, x, s0, p, (dys, dfinal)) for a layer of `cell`, or a 2-layer bidirectional stack
    of it, as `dtype` host arrays."""
    r = np.random.default_rng(seed)
    layer = {"rnn": rnn, "lstm": lstm, "gru": gru}[cell]
    p = (
        stack.init(cell, D, H, 2, True, r, np.float64)
        if stacked
        else layer.init(D, H, r, np.float64)
    )
    p = {k: v.astype(dtype) for k, v in p.items()}

    def draw(*shape):
        return r.standard_normal(shape).astype(dtype)

    L, Hy = (4, 2 * H) if stacked else (None, H)  # states per (layer, direction); output width

    def state():
        one = (lambda: draw(L, N, H)) if stacked else (lambda: draw(N, H))
        return (one(), one()) if cell == "lstm" else one()

    x, dys, s0, dfinal = draw(N, T, D), draw(N, T, Hy), state(), state()
    return (StackModule(cell) if stacked else layer), x, s0, p, (dys, dfinal)


EXAMPLES = [([4, 5, 6, 7], [4, 4]), ([5], [6]), ([6, 4], [5, 6, 4, 5])]  # padded rows both sides


def model_loss_and_grads(dtype, sampling_eps=0.0, label_smoothing=0.0, **kw):
    """Loss and gradients (host arrays) of a small model on the current backend. With dropout
    in `kw` or `sampling_eps`, training mode: both draw from a generator seeded alike."""
    cfg = ModelConfig(src_vocab=9, tgt_vocab=9, emb=3, hidden=4, init_scale=1.0, **kw)
    model = Seq2Seq(cfg, seed=5, dtype=dtype)
    batch = make_batch(EXAMPLES, np.arange(len(EXAMPLES)))
    rng = np.random.default_rng(2) if sampling_eps or cfg.dropout else None
    value, grads = model.loss_and_grads(
        batch, rng=rng, sampling_eps=sampling_eps, label_smoothing=label_smoothing
    )
    return value, {k: to_numpy(g) for k, g in grads.items()}


def assert_same_model(got, want, dtype):
    """(loss, grads) from two backends agree: the loss and every gradient within TOL[dtype]."""
    (value, grads), (value_want, grads_want) = got, want
    assert abs(value - value_want) <= TOL[dtype] * abs(value_want), (value, value_want)
    names = sorted(grads_want)
    assert sorted(grads) == names
    assert_same_results([grads[k] for k in names], [grads_want[k] for k in names], dtype, "grads")

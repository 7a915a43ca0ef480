"""What the fast twins' parity tests share: DESIGN.md's tolerances, the comparisons, and the
inputs of the recurrent loops."""

import numpy as np
import pytest

from minis2s.backend import get_array_module
from minis2s.gradcheck import rel_error
from minis2s.layers import gru, lstm, rnn

TOL = {np.float64: 1e-10, np.float32: 1e-5}  # twin against reference, relative to the scale
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gate blocks per cell
DTYPES = pytest.mark.parametrize("dtype", list(TOL), ids=["float64", "float32"])


def assert_same(got, want, dtype, what):
    """`got` has `want`'s dtype (`dtype`) and shape, is finite, and is within TOL[dtype] of it
    relative to the larger of the two's largest entry (`rel_error`)."""
    assert got.dtype == want.dtype == dtype and got.shape == want.shape, what
    assert np.all(np.isfinite(got)), f"{what}: not finite"
    err = rel_error(got, want)
    assert err < TOL[dtype], f"{what}: rel_error {err:.3g} >= {TOL[dtype]:g}"


def assert_same_results(got, want, dtype, what):
    """Every array in `got` within TOL[dtype] of the matching one in `want` (tests.parity)."""
    got = got if isinstance(got, tuple | list) else (got,)
    want = want if isinstance(want, tuple | list) else (want,)
    assert len(got) == len(want), f"{what}: {len(got)} results, expected {len(want)}"
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        assert_same(a, b, dtype, f"{what}[{k}]")


def with_padded_row(m):
    """The mask with one more row that is padding throughout."""
    return np.concatenate([m, np.zeros((1, m.shape[1]))], axis=0)


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
    dhs, dh_final = r.standard_normal((N, T, H)), r.standard_normal((N, H))
    dhs, dh_final = dhs.astype(dtype), dh_final.astype(dtype)
    m, W_hh = fwd_args[-1], fwd_args[-3 if cell == "gru" else -2]
    if cell == "rnn":
        return dhs, dh_final, fwd_out, m, W_hh
    if cell == "lstm":
        dc_final, c0 = r.standard_normal((N, H)).astype(dtype), fwd_args[2]
        return (dhs, dh_final, dc_final, *fwd_out, c0, m, W_hh)
    return (dhs, dh_final, *fwd_out, h0, m, W_hh)


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


def flat(tree):
    """The arrays of nested tuples / NamedTuples (a step cache's p dict left out), in order."""
    if isinstance(tree, dict):
        return []
    if isinstance(tree, tuple | list):
        return [a for t in tree for a in flat(t)]
    return [tree]

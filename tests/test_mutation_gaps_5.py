"""Mutation pass over the code of a8b3c80..HEAD: each test kills a hand-made mutant that the
suite let live (the per-step layers' fast-path checks, the command line's fixes)."""

import types

import numpy as np
import pytest

from minis2s.layers import attention, linear, softmax

N, S, D, H = 3, 4, 5, 6
F32 = np.float32


# --- linear.forward's fast path ----------------------------------------------------------------


def _lin(r):
    return r.standard_normal((N, D)).astype(F32), linear.init(D, H, r, F32)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda x, p: (x, {**p, "W": p["W"][:, :, None]}), r"p\['W'\] has shape \(6, 5, 1\)"),
        (lambda x, p: (x, {**p, "b": p["b"][:, None]}), r"p\['b'\] has shape \(6, 1\)"),
        (lambda x, p: (x[:, :-1], p), r"x has shape \(3, 4\)"),
        (lambda x, p: (x, [p["W"], p["b"]]), "not a dict"),
        (lambda x, p: (x.astype(np.complex64), {k: v.astype(np.complex64) for k, v in p.items()}),
         "must be a float array"),
    ],
)  # fmt: skip
def test_linear_fast_path_takes_no_shape_or_dtype_the_full_checks_refuse(change, match):
    """Rules out a fast path that takes a 3-D W, a 2-D b, a narrower x (<=), a complex dtype,
    or lets a list p's TypeError escape unnamed."""
    x, p = change(*_lin(np.random.default_rng(0)))
    with pytest.raises(ValueError, match=match):
        linear.forward(x, p)


# --- attention.forward_with_keys's fast path ---------------------------------------------------


def _att(score, r, n=N, s=S, dtype=F32):
    p = attention.init(score, H, H, r, dtype=dtype)
    enc = r.standard_normal((n, s, H)).astype(dtype)
    keys = attention.keys_forward(enc, p, score)[0] if n and s else enc.copy()  # dot: enc
    q = r.standard_normal((n, 1, H)).astype(dtype)
    return q, keys, enc, p, np.ones((n, s), dtype)


def test_forward_with_keys_fast_path_refuses_a_3d_w_a_of_concat():
    """Rules out a concat fast path that checks W_a's width but not that it is 2-D."""
    q, keys, enc, p, mask = _att("concat", np.random.default_rng(0))
    p = {**p, "W_a": p["W_a"][:, :, None]}
    with pytest.raises(ValueError, match=r"p\['W_a'\] has shape"):
        attention.forward_with_keys(q, keys, enc, p, mask, "concat", mask_checked=True)


def test_forward_with_keys_fast_path_refuses_integer_inputs():
    """Rules out a fast path that compares the dtypes but not that they are floating."""
    q, keys, enc, _, mask = _att("dot", np.random.default_rng(0))
    q, keys, enc = (np.rint(a).astype(np.int64) for a in (q, keys, enc))
    with pytest.raises(ValueError, match="q must be a float array"):
        attention.forward_with_keys(q, keys, enc, {}, mask.astype(np.int64), "dot",
                                    mask_checked=True)  # fmt: skip


@pytest.mark.parametrize("n, s", [(0, S), (N, 0)])
def test_forward_with_keys_fast_path_refuses_an_empty_batch_or_source(n, s):
    """Rules out a fast path that lets N = 0 or S = 0 through (it checks each of N, Tq, S)."""
    q, keys, enc, p, mask = _att("dot", np.random.default_rng(0), n, s)
    with pytest.raises(ValueError, match="empty batch"):
        attention.forward_with_keys(q, keys, enc, p, mask, "dot", mask_checked=True)


# --- softmax.forward's fast path ---------------------------------------------------------------


def test_softmax_fast_path_refuses_a_mask_with_a_shape_but_no_dtype():
    """Rules out a fast path that takes any object of the scores' shape for the mask."""
    s = np.zeros((N, 1, S))
    with pytest.raises(ValueError, match="mask must be an array"):
        softmax.forward(s, types.SimpleNamespace(shape=s.shape))

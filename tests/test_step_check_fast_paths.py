"""The per-step layers (linear, embedding, attention.forward_with_keys, softmax) check their usual
case with a few compares before the full checks; an input that is almost the usual case must still
get the full checks' message, not slip through the short one."""

import types

import numpy as np
import pytest

from minis2s.layers import attention, embedding, linear, softmax

N, S, D, H, V = 3, 4, 5, 6, 7
F32, F64 = np.float32, np.float64


def lin_p(r, dtype=F32):
    return linear.init(D, H, r, dtype)


def x32(r, d=D):
    return r.standard_normal((N, d)).astype(F32)


@pytest.mark.parametrize(
    "case, match",
    [
        (lambda r: (r.standard_normal((N, D)), lin_p(r)), "x has dtype float64"),
        (lambda r: (x32(r), {**lin_p(r), "b": np.zeros(H)}), r"p\['b'\] has dtype float64"),
        (lambda r: (x32(r), {**lin_p(r), "b": np.zeros(H + 1, F32)}), r"p\['b'\] has shape \(7,\)"),
        (lambda r: (x32(r, D + 1), lin_p(r)), r"x has shape \(3, 6\)"),
        (lambda r: (np.float32(1.0), lin_p(r)), r"x has shape \(\)"),
        (lambda r: (x32(r), {**lin_p(r), "W": np.zeros((1, H, D), F32)}),
         r"p\['W'\] has shape \(1, 6, 5\)"),
        (lambda r: (x32(r), types.MappingProxyType(lin_p(r))), "not a dict"),
        (lambda r: (np.ones((N, D), int), {"W": np.ones((H, D), int), "b": np.ones(H, int)}),
         "must be a float array"),
        (lambda r: ([[1.0] * D] * N, lin_p(r)), "x must be an array"),
    ],
)  # fmt: skip
def test_linear_forward_refuses_what_is_almost_the_usual_case(case, match):
    x, p = case(np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        linear.forward(x, p)


def emb_p(r):
    return {"W": r.standard_normal((V, D)).astype(F32)}


@pytest.mark.parametrize(
    "p, pad_id, match",
    [
        (None, True, "pad_id"),
        (None, V, f"pad_id = {V} is not a token id"),
        (None, -1, "pad_id = -1 is not a token id"),
        (None, 0.0, "pad_id"),
        ({"W": np.ones((V, D), int)}, 0, "must be a float array"),
        ({"W": np.ones(V, F32)}, 0, r"p\['W'\] has shape \(7,\)"),
        ("mapping", 0, "not a dict"),
    ],
)
def test_embedding_forward_refuses_what_is_almost_the_usual_case(p, pad_id, match):
    r = np.random.default_rng(0)
    p = emb_p(r) if p is None else types.MappingProxyType(emb_p(r)) if p == "mapping" else p
    ids = np.ones((N,), dtype=np.int64)
    with pytest.raises(ValueError, match=match):
        embedding.forward(ids, p, pad_id=pad_id, ids_checked=True)


def test_embedding_forward_checks_the_ids_unless_told_they_are_checked():
    p, ids = emb_p(np.random.default_rng(0)), np.array([1, V])
    with pytest.raises(ValueError, match="ids holds ids in"):
        embedding.forward(ids, p, pad_id=0)
    embedding.forward(ids[:1], p, pad_id=0, ids_checked=True)  # the decoder's own tokens


def att_args(score, r, dtype=F32):
    """(q (N, 1, H), keys, enc (N, S, H), p, mask (N, S)) of a decoder step, all valid."""
    p = attention.init(score, H, H, r, dtype=dtype)
    enc = r.standard_normal((N, S, H)).astype(dtype)
    keys, _ = attention.keys_forward(enc, p, score)
    q = r.standard_normal((N, 1, H)).astype(dtype)
    return q, keys, enc, p, np.ones((N, S), dtype)


@pytest.mark.parametrize("score", attention.SCORES)
@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: {"mask": a["mask"].astype(F64)}, "mask has dtype float64"),
        (lambda a: {"mask": np.ones((N, S + 1), F32)}, r"mask has shape \(3, 5\)"),
        (lambda a: {"keys": a["keys"][:, :, :-1]}, "keys has shape"),
        (lambda a: {"keys": a["keys"][:-1]}, "keys has shape"),
        (lambda a: {"enc": a["enc"].astype(F64)}, "enc has dtype float64"),
        (lambda a: {"enc": a["enc"][:-1]}, "enc has shape"),
        (lambda a: {"q": a["q"][:, 0]}, "q has shape"),
        (lambda a: {"q": a["q"][:, :0]}, "empty batch"),
        (lambda a: {"score": "bilinear"}, "unknown score kind"),
    ],
)
def test_forward_with_keys_refuses_what_is_almost_the_usual_case(score, change, match):
    q, keys, enc, p, mask = att_args(score, np.random.default_rng(0))
    args = dict(q=q, keys=keys, enc=enc, p=p, mask=mask, score=score)
    args.update(change(args))
    with pytest.raises(ValueError, match=match):
        attention.forward_with_keys(**args, mask_checked=True)


@pytest.mark.parametrize(
    "score, change, match",
    [
        ("concat", lambda p: {"W_a": p["W_a"][:, :-1]}, r"p\['W_a'\] has shape"),
        ("concat", lambda p: {"v": p["v"].astype(F64)}, "q has dtype float32"),
        ("additive", lambda p: {"W_q": p["W_q"][:, :-1]}, "q has shape"),
        ("additive", lambda p: {"v": p["v"][:-1]}, "keys has shape"),
        ("additive", lambda p: {"W_q": None}, "needs parameters W_q, v; p lacks W_q"),
    ],
)
def test_forward_with_keys_checks_the_query_parameters(score, change, match):
    q, keys, enc, p, mask = att_args(score, np.random.default_rng(0))
    p = {k: v for k, v in {**p, **change(p)}.items() if v is not None}
    with pytest.raises(ValueError, match=match):
        attention.forward_with_keys(q, keys, enc, p, mask, score, mask_checked=True)


@pytest.mark.parametrize(
    "s, mask, match",
    [
        (np.ones((N, 1, S), int), np.ones((N, 1, S)), "must be a float array"),
        (np.ones((N, 1, S)), np.ones((N, 1, S)).tolist(), "mask must be an array"),
        (np.ones((N, 1, S)), np.ones((N, 2, S)), "does not broadcast"),
        ([[1.0] * S] * N, None, "s must be an array"),
    ],
)
def test_softmax_forward_refuses_what_is_almost_the_usual_case(s, mask, match):
    with pytest.raises(ValueError, match=match):
        softmax.forward(s, mask)


def test_softmax_forward_broadcasts_a_smaller_mask_as_before():
    """The mask broadcasts against the scores in every operation (no (N, T, S) copy of it): the
    weights of a (N, 1, S) mask over T queries are those of the mask repeated T times."""
    r = np.random.default_rng(0)
    s = r.standard_normal((N, 3, S))
    m = (r.random((N, 1, S)) < 0.7).astype(F64)
    m[:, :, 0] = 1.0
    w, _ = softmax.forward(s, m)
    w_full, _ = softmax.forward(s, np.repeat(m, 3, axis=1))
    assert w.shape == (N, 3, S)
    np.testing.assert_array_equal(w, w_full)
    assert np.all(w[np.broadcast_to(m, w.shape) == 0] == 0)

"""Attention: gradients of every score kind against finite differences (whole, and split into
keys once plus queries against them), the masked softmax, and the invariants (weights sum to 1
over valid positions, exactly 0 on padding, padding changes nothing, a fully masked row stays
finite and zero)."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend, validate
from minis2s.gradcheck import assert_close, check_layer
from minis2s.layers import attention, softmax
from minis2s.layers.attention import KEY_PARAMS, QUERY_PARAMS, SCORES
from tests.strategies import dims, lengths, mask_from_lengths


@st.composite
def attn_case(draw, score: str):
    """(q, enc, p, mask, lengths): float64, right-padded, sometimes with a fully masked row."""
    N, Tq, S, Hq, A = draw(dims), draw(dims), draw(dims), draw(dims), draw(dims)
    He = Hq if score in ("dot", "scaled_dot") else draw(dims)
    L = draw(lengths(N, S, allow_empty=True))
    if draw(st.booleans()):
        L[draw(st.integers(0, N - 1))] = 0  # a row with no valid position
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    q, enc = r.standard_normal((N, Tq, Hq)), r.standard_normal((N, S, He))
    p = attention.init(score, Hq, He, r, A=A, dtype=np.float64)
    return q, enc, p, mask_from_lengths(L, S), L


def reference(q, enc, p, m, score):
    """Context and weights written directly from the formulas, one (n, t, s) at a time."""
    N, Tq, _ = q.shape
    S, He = enc.shape[1:]
    w = np.zeros((N, Tq, S))
    for n in range(N):
        for t in range(Tq):
            e = np.zeros(S)
            for s in range(S):
                qv, k = q[n, t], enc[n, s]
                if score == "dot":
                    e[s] = qv @ k
                elif score == "scaled_dot":
                    e[s] = qv @ k / np.sqrt(He)
                elif score == "general":
                    e[s] = qv @ p["W_a"] @ k
                elif score == "concat":
                    e[s] = p["v"] @ np.tanh(p["W_a"] @ np.concatenate([qv, k]))
                else:
                    e[s] = p["v"] @ np.tanh(p["W_q"] @ qv + p["W_k"] @ k + p["b"])
            valid = m[n] == 1
            if valid.any():
                x = np.exp(e[valid] - e[valid].max())
                w[n, t, valid] = x / x.sum()
    return w @ enc, w


@pytest.mark.parametrize("score", SCORES)
def test_init_bounds_are_one_over_sqrt_fan_in(score, rng):
    """Each parameter ~ U(-k, k), k = 1 / sqrt(fan_in) as nn.Linear, fan_in the width of what
    its map reads: general's keys = enc W_a^T read He; concat's W_a reads [q; enc], Hq + He;
    additive's W_q reads Hq, its W_k and b (keys = enc W_k^T + b) He; v reads A. Hq, He and A
    differ widely, so a fan_in read from the wrong one of them is caught."""
    Hq, He, A = 4, 36, 64
    fan_in = {
        "dot": {},
        "scaled_dot": {},
        "general": {"W_a": He},
        "concat": {"W_a": Hq + He, "v": A},
        "additive": {"W_q": Hq, "W_k": He, "b": He, "v": A},
    }[score]
    p = attention.init(score, Hq, He, rng, A=A)
    assert set(p) == set(fan_in)
    for name, a in p.items():
        k = 1 / np.sqrt(fan_in[name])
        assert np.abs(a).max() <= k, name
        assert np.abs(a).max() > 0.8 * k, name  # 64 or more draws: the extremes reach 0.8 k


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_gradients(score, data):
    q, enc, p, m, _ = data.draw(attn_case(score))
    f, b = attention.forward, attention.backward
    errors = check_layer(f, b, [q, enc], p, mask=m, score=score)
    assert_close(errors)


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_keys_gradients(score, data):
    _, enc, p, _, _ = data.draw(attn_case(score))
    p_keys = {k: p[k] for k in KEY_PARAMS[score]}
    f, b = attention.keys_forward, attention.keys_backward
    assert_close(check_layer(f, b, [enc], p_keys, score=score))


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_gradients_with_keys(score, data):
    """Queries against given keys: q, the keys and enc (the values) are independent inputs."""
    q, enc, p, m, _ = data.draw(attn_case(score))
    keys = attention.keys_forward(enc, p, score)[0].copy()  # dot: enc itself; perturbed apart
    p_query = {k: p[k] for k in QUERY_PARAMS[score]}
    f, b = attention.forward_with_keys, attention.backward_with_keys
    assert_close(check_layer(f, b, [q, keys, enc], p_query, mask=m, score=score))


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_keys_once_then_one_query_at_a_time(score, data):
    """The decoder's use: keys once, queries one step at a time, dkeys summed over the steps and
    taken through keys_backward once, gives what all queries in one call give."""
    q, enc, p, m, _ = data.draw(attn_case(score))
    r = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    c, w, cache = attention.forward(q, enc, p, mask=m, score=score)
    dc, dw = r.standard_normal(c.shape), r.standard_normal(w.shape)
    dq, denc, dp = attention.backward(dc, dw, cache)
    keys, c_keys = attention.keys_forward(enc, p, score)
    dkeys, denc_steps, dp_steps = np.zeros_like(keys), np.zeros_like(enc), {}
    for t in range(q.shape[1]):
        c_t, w_t, cache_t = attention.forward_with_keys(q[:, t : t + 1], keys, enc, p, m, score)
        np.testing.assert_allclose(c_t[:, 0], c[:, t], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w_t[:, 0], w[:, t], rtol=1e-12, atol=1e-14)
        dq_t, dkeys_t, denc_t, dp_t = attention.backward_with_keys(
            dc[:, t : t + 1], dw[:, t : t + 1], cache_t
        )
        np.testing.assert_allclose(dq_t[:, 0], dq[:, t], rtol=1e-12, atol=1e-13)
        dkeys, denc_steps = dkeys + dkeys_t, denc_steps + denc_t
        dp_steps = {k: dp_steps.get(k, 0) + g for k, g in dp_t.items()}
    denc_keys, dp_keys = attention.keys_backward(dkeys, c_keys)
    np.testing.assert_allclose(denc_steps + denc_keys, denc, rtol=1e-12, atol=1e-13)
    assert set(dp_steps) | set(dp_keys) == set(p)
    for k in p:
        np.testing.assert_allclose(dp_steps.get(k, 0) + dp_keys.get(k, 0), dp[k], rtol=1e-12,
                                   atol=1e-13)  # fmt: skip


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_step_parts_then_sums_once(score, data):
    """The decoder's backward: score_grads and query_grads per step, key_value_grads once over
    every step's ds and dcontext with the steps' caches joined by stack_queries, gives what
    backward_with_keys gives for all the queries in one call."""
    q, enc, p, m, _ = data.draw(attn_case(score))
    r = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    keys, _ = attention.keys_forward(enc, p, score)
    c, w, cache = attention.forward_with_keys(q, keys, enc, p, m, score)
    dc, dw = r.standard_normal(c.shape), r.standard_normal(w.shape)
    dq, dkeys, denc, dp = attention.backward_with_keys(dc, dw, cache)
    caches, ds_steps = [], []
    for t in range(q.shape[1]):
        caches.append(attention.forward_with_keys(q[:, t : t + 1], keys, enc, p, m, score)[2])
        ds_steps.append(attention.score_grads(dc[:, t : t + 1], dw[:, t : t + 1], caches[-1]))
        dq_t = attention.query_grads(ds_steps[-1], caches[-1])
        np.testing.assert_allclose(dq_t[:, 0], dq[:, t], rtol=1e-12, atol=1e-13)
    stacked = attention.stack_queries(caches)
    dkeys_s, denc_s, dp_s = attention.key_value_grads(dc, np.concatenate(ds_steps, 1), stacked)
    np.testing.assert_allclose(dkeys_s, dkeys, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(denc_s, denc, rtol=1e-12, atol=1e-13)
    assert set(dp_s) == set(dp)
    for k in dp:
        np.testing.assert_allclose(dp_s[k], dp[k], rtol=1e-12, atol=1e-13)


@given(dims, dims, dims, st.data())
def test_softmax_gradients(N, Tq, S, data):
    m = mask_from_lengths(data.draw(lengths(N, S, allow_empty=True)), S)
    s = 3 * np.random.default_rng(data.draw(st.integers(0, 2**16))).standard_normal((N, Tq, S))
    f, b = softmax.forward, softmax.backward
    assert_close(check_layer(f, b, [s], None, mask=m[:, None, :]))


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_matches_formula(score, data):
    q, enc, p, m, _ = data.draw(attn_case(score))
    context, w, _ = attention.forward(q, enc, p, mask=m, score=score)
    context_ref, w_ref = reference(q, enc, p, m, score)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(context, context_ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_weights_sum_to_one_and_vanish_on_padding(score, data):
    q, enc, p, m, L = data.draw(attn_case(score))
    context, w, _ = attention.forward(q, enc, p, mask=m, score=score)
    assert np.all(w[np.broadcast_to(m[:, None, :] == 0, w.shape)] == 0)  # exactly 0
    sums = w.sum(axis=-1)  # (N, Tq)
    np.testing.assert_allclose(sums[L > 0], 1.0, rtol=0, atol=1e-14)
    assert np.all(sums[L == 0] == 0) and np.all(context[L == 0] == 0)


@pytest.mark.parametrize("score", SCORES)
def test_fully_masked_row_is_finite_and_zero(score, rng):
    """Huge scores, a row with no valid position: no warning, no inf or NaN, zeros in that row."""
    Hq, He = 3, 3 if score in ("dot", "scaled_dot") else 2
    q, enc = 1e3 * rng.standard_normal((2, 2, Hq)), 1e3 * rng.standard_normal((2, 4, He))
    p = attention.init(score, Hq, He, rng, dtype=np.float64)
    m = np.array([[0, 0, 0, 0], [1, 1, 0, 0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        context, w, cache = attention.forward(q, enc, p, mask=m, score=score)
        dq, denc, dp = attention.backward(np.ones_like(context), np.ones_like(w), cache)
    for a in (context, w, dq, denc, *dp.values()):
        assert np.all(np.isfinite(a))
    assert np.all(w[0] == 0) and np.all(context[0] == 0)
    assert np.all(dq[0] == 0) and np.all(denc[0] == 0)
    np.testing.assert_allclose(w[1].sum(-1), 1.0, rtol=0, atol=1e-14)


def test_softmax_never_reads_padding():
    """inf and NaN scores at padding change nothing and raise no warning."""
    s = np.array([[1.0, np.inf, 2.0, np.nan], [-np.inf, np.nan, np.inf, 5.0]])
    m = np.array([[1, 0, 1, 0], [0, 0, 0, 0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        w, _ = softmax.forward(s, m)
    e1, e2 = np.exp(1.0), np.exp(2.0)
    np.testing.assert_allclose(w[0], [e1 / (e1 + e2), 0, e2 / (e1 + e2), 0], rtol=1e-15, atol=0)
    assert np.all(w[0, [1, 3]] == 0) and np.all(w[1] == 0)


def test_softmax_of_scores_spread_beyond_float32_does_not_warn():
    """s - max overflows to -inf when the valid scores span more than 3.4e38 in float32: exp of
    it is the weight 0 that is meant, not an overflow to warn about (log_softmax's case too)."""
    s, m = np.array([[3e38, -3e38, 0.0]], np.float32), np.ones((1, 3), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, _ = softmax.forward(s, m)
    np.testing.assert_array_equal(w, [[1, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_valid_scores_all_minus_inf_is_zeros_not_nan(dtype):
    """A row whose valid scores are all -inf has no distribution to normalise: all-zero weights,
    as a row with no valid position, with padding or without, a zero gradient and no warning;
    -inf beside finite scores is weight 0."""
    s = np.array([[-np.inf] * 3, [-np.inf, np.inf, -np.inf], [-np.inf, 1.0, 2.0]], dtype)
    m = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        w, cache = softmax.forward(s, m)
        ds = softmax.backward(np.ones_like(s), cache)
        w_unmasked, _ = softmax.forward(s[[0, 2]], None)
    assert np.all(w[:2] == 0) and np.all(ds[:2] == 0)
    e1, e2 = np.exp(1.0), np.exp(2.0)
    np.testing.assert_allclose(w[2], [0, e1 / (e1 + e2), e2 / (e1 + e2)], rtol=1e-6, atol=0)
    assert w[2, 0] == 0
    np.testing.assert_array_equal(w_unmasked, w[[0, 2]])


@pytest.mark.parametrize("score", SCORES)
@given(data=st.data())
def test_extra_padding_changes_nothing(score, data):
    """Two more padded source positions holding huge values change no output or gradient."""
    q, enc, p, m, _ = data.draw(attn_case(score))
    N, S, He = enc.shape
    enc2 = np.concatenate([enc, 1e6 * np.ones((N, 2, He))], axis=1)
    m2 = np.concatenate([m, np.zeros((N, 2))], axis=1)
    c, w, cache = attention.forward(q, enc, p, mask=m, score=score)
    c2, w2, cache2 = attention.forward(q, enc2, p, mask=m2, score=score)
    np.testing.assert_allclose(c2, c, rtol=1e-12, atol=1e-14)  # GEMM blocking may differ
    np.testing.assert_allclose(w2[..., :S], w, rtol=1e-12, atol=1e-14)
    assert np.all(w2[..., S:] == 0)
    dc, dw = np.ones_like(c), np.ones_like(w)
    dq, denc, dp = attention.backward(dc, dw, cache)
    dq2, denc2, dp2 = attention.backward(dc, np.ones_like(w2), cache2)
    np.testing.assert_allclose(dq2, dq, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(denc2[:, :S], denc, rtol=1e-12, atol=1e-13)
    assert np.all(denc2[:, S:] == 0)
    for k in dp:
        np.testing.assert_allclose(dp2[k], dp[k], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("score", SCORES)
def test_queries_at_once_equal_one_at_a_time(score, rng):
    """Tq queries in one call give what a decoder gets calling with q[:, t:t+1] per step."""
    Hq, He = 3, 3 if score in ("dot", "scaled_dot") else 5
    q, enc = rng.standard_normal((2, 4, Hq)), rng.standard_normal((2, 6, He))
    p, m = attention.init(score, Hq, He, rng, dtype=np.float64), np.ones((2, 6))
    m[1, 4:] = 0
    c, w, _ = attention.forward(q, enc, p, mask=m, score=score)
    for t in range(4):
        c_t, w_t, _ = attention.forward(q[:, t : t + 1], enc, p, mask=m, score=score)
        np.testing.assert_allclose(c_t[:, 0], c[:, t], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w_t[:, 0], w[:, t], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("score", SCORES)
def test_float32_stays_float32_and_dweights_none(score, rng):
    Hq, He = 3, 3 if score in ("dot", "scaled_dot") else 2
    q, enc = rng.standard_normal((2, 1, Hq)), rng.standard_normal((2, 3, He))
    p = attention.init(score, Hq, He, rng)
    c, w, cache = attention.forward(q.astype(np.float32), enc.astype(np.float32), p, score=score)
    grads = attention.backward(np.ones_like(c), None, cache)
    assert c.dtype == w.dtype == np.float32
    assert all(g.dtype == np.float32 for g in (*grads[:2], *grads[2].values()))
    zero_dw = attention.backward(np.ones_like(c), np.zeros_like(w), cache)
    np.testing.assert_array_equal(grads[0], zero_dw[0])


def test_bad_inputs_name_the_argument(rng):
    q, enc = rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 4, 5))
    p = attention.init("general", 3, 5, rng, dtype=np.float64)
    with pytest.raises(ValueError, match="unknown score kind 'luong'.*dot, scaled_dot, general"):
        attention.forward(q, enc, p, score="luong")
    with pytest.raises(ValueError, match="unknown score kind"):
        attention.init("bahdanau", 3, 5, rng)
    with pytest.raises(ValueError, match=r"q has shape \(2, 1, 4\), expected \(N, Tq, Hq\)"):
        attention.forward(rng.standard_normal((2, 1, 4)), enc, p)
    with pytest.raises(ValueError, match=r"enc has shape \(3, 4, 5\), expected \(N, S, He\)"):
        attention.forward(q, rng.standard_normal((3, 4, 5)), p)
    with pytest.raises(ValueError, match=r"enc has shape \(2, 4, 5\), expected \(N, S, He = Hq\)"):
        attention.forward(q, enc, {}, score="dot")
    with pytest.raises(
        ValueError, match=r"p\['W_a'\] has shape \(5, 7\), expected \(A, Hq \+ He\)"
    ):
        attention.forward(q, enc, attention.init("concat", 2, 5, rng), score="concat")
    with pytest.raises(ValueError, match="p lacks W_k, b"):
        attention.forward(q, enc, {"W_q": np.zeros((4, 3)), "v": np.zeros(4)}, score="additive")
    with pytest.raises(ValueError, match=r"mask has shape \(2, 3\), expected \(N, T\)"):
        attention.forward(q, enc, p, mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="mask must hold only 0 and 1"):
        attention.forward(q, enc, p, mask=np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match="q has dtype float32 but the parameters are float64"):
        attention.forward(q.astype(np.float32), enc, p)
    with pytest.raises(ValueError, match="S = 0"):
        attention.forward(q, np.zeros((2, 0, 5)), p)


def test_bad_inputs_to_the_split_pairs_name_the_argument(rng):
    q, enc = rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 4, 5))
    p = attention.init("additive", 3, 5, rng, A=6, dtype=np.float64)
    keys, _ = attention.keys_forward(enc, p, "additive")
    assert keys.shape == (2, 4, 6)
    with pytest.raises(ValueError, match=r"keys_forward: enc has shape \(2, 4, 3\), expected"):
        attention.keys_forward(enc[..., :3], p, "additive")
    with pytest.raises(ValueError, match="keys_forward: score 'additive' .*p lacks W_k, b"):
        attention.keys_forward(enc, {"W_a": p["W_q"]}, "additive")
    with pytest.raises(ValueError, match=r"keys_forward: enc has shape .* with He < 5"):
        attention.keys_forward(enc, {"W_a": np.zeros((4, 5))}, "concat")  # no room for q
    with pytest.raises(ValueError, match="keys_forward: empty batch"):
        attention.keys_forward(enc[:, :0], p, "additive")
    with pytest.raises(
        ValueError, match=r"forward_with_keys: keys has shape \(2, 4, 5\), expected \(N, S, Hk\)"
    ):
        attention.forward_with_keys(q, enc, enc, p, score="additive")
    with pytest.raises(ValueError, match=r"forward_with_keys: q has shape \(2, 1, 4\)"):
        attention.forward_with_keys(rng.standard_normal((2, 1, 4)), keys, enc, p, score="additive")
    with pytest.raises(ValueError, match="forward_with_keys: .*p lacks W_q, v"):
        attention.forward_with_keys(q, keys, enc, {}, score="additive")
    with pytest.raises(ValueError, match=r"forward_with_keys: mask has shape \(2, 3\)"):
        attention.forward_with_keys(q, keys, enc, p, mask=np.ones((2, 3)), score="additive")
    with pytest.raises(ValueError, match="keys has dtype float32 but the parameters are float64"):
        attention.forward_with_keys(q, keys.astype(np.float32), enc, p, score="additive")


@pytest.mark.parametrize("score", SCORES)
def test_a_checked_mask_gives_the_same_attention_and_is_still_shape_checked(score):
    """mask_checked=True (a decoder checks src_mask once per batch) skips only the value check."""
    r = np.random.default_rng(1)
    N, Tq, S, H = 3, 2, 4, 5
    p = attention.init(score, H, H, r, dtype=np.float64)
    q, enc = r.standard_normal((N, Tq, H)), r.standard_normal((N, S, H))
    m = validate.mask("test", np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]), N, S, q.dtype)
    keys, _ = attention.keys_forward(enc, p, score)
    want = attention.forward_with_keys(q, keys, enc, p, m, score)
    got = attention.forward_with_keys(q, keys, enc, p, m, score, mask_checked=True)
    for a, b in zip(got[:2], want[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"mask has shape \(3, 3\), expected \(N, S\)"):
        attention.forward_with_keys(q, keys, enc, p, m[:, :3], score, mask_checked=True)


@pytest.mark.parametrize("score", SCORES)
def test_inf_at_padding_gives_a_finite_context_and_the_same_gradients(score, rng):
    """enc may hold anything at padding (even inf): forward zeroes those rows once, so weights
    0 * inf no longer make the context NaN, and every result equals that of zero padding."""
    Hq, He = 3, 3 if score in ("dot", "scaled_dot") else 4
    q, enc = rng.standard_normal((3, 2, Hq)), rng.standard_normal((3, 5, He))
    p = attention.init(score, Hq, He, rng, dtype=np.float64)
    m = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    padded = m[:, :, None] == 0
    bad, clean = np.where(padded, np.inf, enc), np.where(padded, 0.0, enc)
    bad[0, 4, 0] = np.nan
    dc, dw = rng.standard_normal((3, 2, He)), rng.standard_normal((3, 2, 5))
    with np.errstate(invalid="raise", over="raise"):
        got_c, got_w, got_cache = attention.forward(q, bad, p, mask=m, score=score)
        got_grads = attention.backward(dc, dw, got_cache)
    c, w, cache = attention.forward(q, clean, p, mask=m, score=score)
    dq, denc, dp = attention.backward(dc, dw, cache)
    np.testing.assert_array_equal(got_c, c)
    np.testing.assert_array_equal(got_w, w)
    np.testing.assert_array_equal(got_grads[0], dq)
    np.testing.assert_array_equal(got_grads[1], denc)
    assert np.all(denc[padded[..., 0]] == 0)  # nothing attends there, so no gradient either
    for k in dp:
        np.testing.assert_array_equal(got_grads[2][k], dp[k])
    np.testing.assert_array_equal(attention.zero_padding(bad, m), clean)
    assert attention.zero_padding(bad, None) is bad


def raises(message):
    """pytest.raises(ValueError) with `message` matched literally."""
    return pytest.raises(ValueError, match=re.escape(message))


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("score", ["general", "additive"])
def test_backward_rejects_wrong_gradients(score, name):
    """Each backward function checks its upstream gradients against the forward pass, by name,
    instead of failing in (or broadcasting through) a matmul."""
    backend.use(name)  # conftest's _reset_backend restores numpy after the test
    r = np.random.default_rng(0)
    N, Tq, S, Hq, He, A = 2, 3, 4, 5, 6, 7
    q = r.standard_normal((N, Tq, Hq)).astype(np.float32)
    enc = r.standard_normal((N, S, He)).astype(np.float32)
    p = attention.init(score, Hq, He, r, A=A)
    c, w, cache = attention.forward(q, enc, p, score=score)
    keys, c_keys = attention.keys_forward(enc, p, score)
    _, _, c_query = attention.forward_with_keys(q, keys, enc, p, score=score)
    dc, dw = np.ones_like(c), np.ones_like(w)
    Hk = Hq if score == "general" else A

    for where, fn, c_ in [
        ("backward", attention.backward, cache),
        ("backward_with_keys", attention.backward_with_keys, c_query),
        ("score_grads", attention.score_grads, c_query),
    ]:
        where = f"attention.{where}"
        with raises(f"{where}: dcontext has shape (2, 1, 6), expected (N, Tq, He) = (2, 3, 6)"):
            fn(dc[:, :1], None, c_)
        with raises(f"{where}: dweights has shape (2, 3, 3), expected (N, Tq, S) = (2, 3, 4)"):
            fn(dc, dw[..., :3], c_)
        with raises(f"{where}: dcontext has dtype float64 but the forward pass ran in float32"):
            fn(dc.astype(np.float64), dw, c_)
        with raises(f"{where}: dcontext must be an array (numpy/cupy) of shape (N, Tq, He)"):
            fn(None, dw, c_)
    with raises("attention.query_grads: ds has shape (2, 3, 5), expected (N, Tq, S) = (2, 3, 4)"):
        attention.query_grads(np.ones((2, 3, 5), np.float32), c_query)
    with raises("attention.query_grads: ds must be an array (numpy/cupy) of shape (N, Tq, S)"):
        attention.query_grads(None, c_query)
    with raises("attention.key_value_grads: ds has shape (1, 3, 4), expected (N, Tq, S)"):
        attention.key_value_grads(dc, dw[:1], c_query)
    with raises("attention.key_value_grads: dcontext has shape (2, 3, 5), expected (N, Tq, He)"):
        attention.key_value_grads(dc[..., :5], dw, c_query)
    want = f"attention.keys_backward: dkeys has shape (2, 4, 1), expected (N, S, Hk) = (2, 4, {Hk})"
    with raises(want):
        attention.keys_backward(np.ones((2, 4, 1), np.float32), c_keys)
    dq, denc, dp = attention.backward(dc, dw, cache)  # still works
    assert dq.shape == q.shape and denc.shape == enc.shape
    assert all(np.isfinite(g).all() for g in dp.values())

"""Beam search's pruning step, which finds each sentence's 2K best candidates without sorting
all K * V, against the plain version that sorts them: the same rows, tokens, scores and finished
hypotheses, to the bit, for ties, -inf, NaN, EOS in and out of the K best and steps at the
length limit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data.batching import pad
from minis2s.data.vocab import EOS_ID
from minis2s.decode import beam
from minis2s.models import ModelConfig, Seq2Seq

# A few values, so that candidates tie, and -0.0 beside 0.0.
POOL = np.array([0.0, -0.0, -0.25, -0.5, -0.5, -1.0, -1.5, -3.0, -np.inf])


PRUNE = beam._prune  # the tests below swap beam._prune itself for the reference


def sort_all(cand, m):
    """The plain version of beam._best_first: a stable argsort of every candidate."""
    return np.argsort(-cand, axis=1, kind="stable")[:, :m]


def prune_reference(*args):
    """beam._prune as it was before `_best_first`: the same walk over a stable argsort of all
    K * V candidates."""
    fast, beam._best_first = beam._best_first, sort_all
    try:
        return PRUNE(*args)
    finally:
        beam._best_first = fast


def assert_same_hypotheses(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.ids == w.ids and g.ended == w.ended
        np.testing.assert_array_equal([g.logprob, g.score], [w.logprob, w.score])
        if w.attention is None:
            assert g.attention is None
        else:
            np.testing.assert_array_equal(g.attention, w.attention)


def ties(rng, shape, nan=0.0):
    """Values from POOL, or continuous ones, with NaN at rate `nan`."""
    x = rng.choice(POOL, size=shape) if rng.random() < 0.7 else -rng.exponential(size=shape)
    x[rng.random(shape) < nan] = np.nan
    return x


@settings(max_examples=100)
@given(st.integers(1, 5), st.integers(1, 600), st.integers(0, 2**32 - 1))
def test_best_first_is_the_head_of_a_stable_argsort(N, C, seed):
    rng = np.random.default_rng(seed)
    cand = ties(rng, (N, C), nan=rng.choice([0.0, 0.05, 0.9]))
    m = int(rng.integers(1, C + 1))
    want = sort_all(cand, m)
    np.testing.assert_array_equal(beam._best_first(cand, m), want)


@settings(max_examples=300)
@given(
    st.integers(1, 5),
    st.integers(1, 4),
    st.sampled_from([4, 5, 9, 40, 90]),  # K * V on both sides of SORT_BELOW
    st.integers(0, 4),
    st.sampled_from(["none", "average", "gnmt"]),
    st.sampled_from([0.0, 0.3]),
    st.integers(0, 2**32 - 1),
)
def test_prune_matches_the_walk_over_every_sentence(N, K, V, t, penalty, beta, seed):
    rng = np.random.default_rng(seed)
    scores = np.sort(ties(rng, (N, K)), axis=1)[:, ::-1].copy()  # best first, -inf for dead
    logp = ties(rng, (N, K, V), nan=0.02 if rng.random() < 0.2 else 0.0)
    eos_first = rng.random(N) < 0.5  # EOS among the K best for about half the sentences
    logp[eos_first, :, EOS_ID] = rng.choice([0.0, -0.25], size=(int(eos_first.sum()), K))
    S = 3
    hist = rng.integers(3, V, size=(N * K, t))
    hist[rng.random((N * K, t)) < 0.1] = EOS_ID  # a dead row's tokens may hold EOS
    attn = rng.dirichlet(np.ones(S), size=(N * K, t + 1)) if beta or rng.random() < 0.5 else None
    active = rng.random(N) < 0.8
    limits = t + rng.integers(1, 3, size=N)  # t + 1: at the limit this step
    src_lens = rng.integers(1, S + 1, size=N)
    args = (t, limits, src_lens, K, penalty, 0.6, beta)
    finished_new, finished_ref = [[] for _ in range(N)], [[] for _ in range(N)]
    got = beam._prune(scores, logp, hist, attn, finished_new, active, *args)
    want = prune_reference(scores, logp, hist, attn, finished_ref, active, *args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype
    for g, w in zip(finished_new, finished_ref, strict=True):
        assert_same_hypotheses(g, w)


def model_for(cell, att, V, seed):
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=4, hidden=5, attention=att,
                      init_scale=1.0, input_feed=att != "none")  # fmt: skip
    return Seq2Seq(cfg, seed=seed, dtype=np.float64)


@settings(max_examples=40)
@given(
    st.sampled_from([("lstm", "general"), ("gru", "none"), ("rnn", "additive")]),
    st.sampled_from([9, 70]),  # K * V on both sides of SORT_BELOW for K = 4
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["none", "average", "gnmt"]),
    st.sampled_from([0.0, 0.2]),
    st.integers(0, 1000),
)
def test_beam_search_decodes_as_with_the_reference_steps(m, V, K, nbest, penalty, beta, seed):
    nbest = min(nbest, K)
    beta = 0.0 if m[1] == "none" else beta
    model = model_for(*m, V, seed)
    srcs = np.random.default_rng(seed).integers(4, V, size=(3, 4)).tolist()
    ids, mask = pad([srcs[0], srcs[1][:2], srcs[2][:1]])
    options = dict(beam_size=K, nbest=nbest, length_penalty=penalty, beta=beta, max_len_b=6)
    got = beam.beam_search(model, ids, mask, **options)
    fast, beam._prune = beam._prune, prune_reference
    try:
        want = beam.beam_search(model, ids, mask, **options)
    finally:
        beam._prune = fast
    for g, w in zip(got, want, strict=True):
        assert_same_hypotheses(g, w)

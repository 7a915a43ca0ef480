"""Decoding: beam 1 is greedy, results do not depend on the batch, limits and n-best hold."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data.batching import pad
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID
from minis2s.decode import beam_search, greedy, sample
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import CELLS

V = 9


def model_for(cell: str, att: str, seed: int) -> Seq2Seq:
    # init_scale 1.0 makes the untrained model's distributions peaked and varied: a decoder
    # bug shows up as different outputs, not as the same flat distribution everywhere.
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=4, hidden=5, attention=att,
                      init_scale=1.0, input_feed=att != "none")  # fmt: skip
    return Seq2Seq(cfg, seed=seed, dtype=np.float64)


sources = st.lists(st.lists(st.integers(4, V - 1), min_size=1, max_size=5), min_size=1, max_size=4)
models = st.tuples(st.sampled_from(CELLS), st.sampled_from(["none", "general", "additive"]),
                   st.integers(0, 1000))  # fmt: skip


@given(models, sources)
def test_beam_one_equals_greedy(m, srcs):
    model = model_for(*m)
    ids, mask = pad(srcs)
    g = greedy(model, ids, mask)
    b = beam_search(model, ids, mask, beam_size=1)
    for hg, hb in zip(g, b, strict=True):
        assert hg[0].ids == hb[0].ids
        np.testing.assert_allclose(hg[0].logprob, hb[0].logprob, rtol=1e-12)


@given(models, sources, st.sampled_from(["greedy", "beam"]))
def test_result_does_not_depend_on_the_batch(m, srcs, method):
    model = model_for(*m)
    decode = greedy if method == "greedy" else (lambda *a: beam_search(*a, beam_size=3, nbest=3))
    together = decode(model, *pad(srcs))
    for s, hyps in zip(srcs, together, strict=True):
        alone = decode(model, *pad([s]))[0]
        assert [h.ids for h in hyps] == [h.ids for h in alone]
        np.testing.assert_allclose([h.score for h in hyps], [h.score for h in alone], rtol=1e-9)


@given(models, sources)
def test_sampling_with_top_k_one_is_greedy(m, srcs):
    model = model_for(*m)
    ids, mask = pad(srcs)
    g = greedy(model, ids, mask)
    s = sample(model, ids, mask, rng=np.random.default_rng(0), top_k=1)
    assert [h[0].ids for h in g] == [h[0].ids for h in s]


@given(models, sources, st.sampled_from(["greedy", "beam", "sample"]))
def test_pad_and_bos_are_never_output(m, srcs, method):
    """No target holds <pad> or <s>, so a decoder never chooses them, even from a model that
    rates them highest (here by their output bias); the other tokens keep the model's own
    log-probabilities, so greedy decoding takes the best of the rest."""
    model = model_for(*m)
    model.params["out.b"][[PAD_ID, BOS_ID]] += [40.0, 20.0]
    ids, mask = pad(srcs)
    decode = {
        "greedy": lambda: greedy(model, ids, mask),
        "beam": lambda: beam_search(model, ids, mask, beam_size=3, nbest=3),
        "sample": lambda: sample(model, ids, mask, rng=np.random.default_rng(0), temperature=5.0),
    }[method]
    for hyps in decode():
        for h in hyps:
            assert not {PAD_ID, BOS_ID} & set(h.ids)
    if method == "greedy":  # the first token: the model's argmax over the tokens a target holds
        logp, _, _ = model.step(np.full(len(srcs), BOS_ID), model.encode(ids, mask))
        first = [(h[0].ids or [EOS_ID])[0] for h in decode()]  # [] when EOS came first
        assert first == list(np.argmax(logp[:, EOS_ID:], axis=1) + EOS_ID)
        assert (np.argmax(logp, axis=1) == PAD_ID).all()  # what it chose before


@given(models, sources, st.integers(1, 4), st.sampled_from(["none", "average", "gnmt"]))
def test_nbest_sorted_distinct_and_within_limits(m, srcs, K, penalty):
    model = model_for(*m)
    ids, mask = pad(srcs)
    out = beam_search(model, ids, mask, beam_size=K, nbest=K, length_penalty=penalty,
                      max_len_a=1.0, max_len_b=2)  # fmt: skip
    for s, hyps in zip(srcs, out, strict=True):
        assert len(hyps) == K  # K hypotheses finish by the length limit at the latest
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.ids) for h in hyps}) == len(hyps)
        assert all(len(h.ids) <= len(s) + 2 for h in hyps)


def test_length_penalties_follow_their_formulas():
    """|y| counts EOS; GNMT's lp(y) = ((5 + |y|) / 6)^alpha (Wu et al. 2016, eq. 14)."""
    from minis2s.decode.beam import penalised

    assert penalised(-3.0, 2, "none", 0.6) == -3.0
    assert penalised(-3.0, 2, "average", 0.6) == -1.5
    assert penalised(-3.0, 2, "gnmt", 0.6) == pytest.approx(-3.0 / (7 / 6) ** 0.6, rel=1e-15)
    assert penalised(-3.0, 7, "gnmt", 0.0) == -3.0  # alpha 0: no penalty
    assert penalised(-3.0, 1, "gnmt", 1.0) == -3.0  # one token: lp = 1 whatever alpha


def test_attention_rows_cover_the_source_only():
    model = model_for("lstm", "general", 0)
    ids, mask = pad([[4, 5, 6, 7], [8]])
    out = greedy(model, ids, mask)
    for h, n in zip(out, (4, 1), strict=True):
        a = h[0].attention
        assert a.shape[1] == n
        np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)


def test_bad_options_are_explained():
    model = model_for("gru", "general", 0)
    ids, mask = pad([[4, 5]])
    with pytest.raises(ValueError, match="nbest"):
        beam_search(model, ids, mask, beam_size=2, nbest=3)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(model, ids, mask, length_penalty="long")
    with pytest.raises(ValueError, match="temperature"):
        sample(model, ids, mask, rng=np.random.default_rng(0), temperature=0)
    with pytest.raises(ValueError, match="vocabulary"):
        greedy(model, np.array([[4, 99]]), mask)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, ids, mask: greedy(m, ids, None), r"greedy: src_mask is None, expected \(N, S\)"),
        (lambda m, ids, mask: greedy(m, ids[0], mask[0]), r"src has shape \(2,\), expected"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=None), "rng must be a numpy.random.Gen"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0), top_k=2.5),
         r"top_k \(0 = no limit\) must be an integer >= 0; got 2.5"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0),
                                     temperature=float("nan")), "temperature must be a finite"),
        (lambda m, ids, mask: beam_search(m, ids, mask, beam_size=2.5),
         "beam_size must be an integer >= 1; got 2.5"),
        (lambda m, ids, mask: beam_search(m, ids, mask, length_penalty="gnmt", alpha=np.inf),
         "alpha must be a finite number; got inf"),
        (lambda m, ids, mask: greedy(m, ids, mask, max_len_a=float("nan")),
         "max_len_a must be a finite number; got nan"),
    ],
)  # fmt: skip
def test_wrong_arguments_are_named_not_met_deep_inside(call, message):
    """Non-finite settings would decode nothing; wrong types and ranks would fail deep inside
    NumPy. Each is refused at the decoder's door."""
    ids, mask = pad([[4, 5]])
    with pytest.raises(ValueError, match=message):
        call(model_for("gru", "general", 0), ids, mask)

"""Decoding invariants as properties, for drawn models (depths, directions, input feeding) and
ensembles, on numpy and numba: an output does not depend on the other sentences of its batch or
on extra padding after its source, for greedy decoding, beam search (n-best, length and
coverage penalties) and sampling (top-k, top-p; each sentence its own stream); beam size 1 is
greedy decoding, and with a length or coverage penalty it keeps greedy's output unless it
finds one that scores better. `tests/test_decode.py` checks the plain cases on numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.data.batching import pad
from minis2s.data.vocab import PAD_ID
from minis2s.decode import beam_search, greedy, sample
from minis2s.decode.beam import coverage_penalty, penalised
from minis2s.models import Ensemble, ModelConfig, Seq2Seq
from minis2s.models.config import CELLS

V = 9
BACKENDS = pytest.mark.parametrize("name", ["numpy", "numba"])


@st.composite
def models(draw):
    """A float64 Seq2Seq, or an ensemble of two, with peaked, varied distributions."""

    def one():
        att = draw(st.sampled_from(["none", "general", "additive", "dot"]))
        bi = att != "dot" and draw(st.booleans())  # dot's keys are the encoder's states: width H
        cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=draw(st.sampled_from(CELLS)), emb=3,
                          hidden=4, attention=att, bidirectional=bi,
                          input_feed=att != "none" and draw(st.booleans()), bridge="zero",
                          enc_layers=draw(st.integers(1, 2)), dec_layers=draw(st.integers(1, 2)),
                          init_scale=1.0)  # fmt: skip
        return Seq2Seq(cfg, seed=draw(st.integers(0, 1000)), dtype=np.float64)

    return Ensemble([one(), one()]) if draw(st.booleans()) else one()


sources = st.lists(st.lists(st.integers(4, V - 1), min_size=1, max_size=4), min_size=1, max_size=3)


@st.composite
def decoders(draw, method: str, attends: bool):
    """(name, decode(model, src, mask, rows)): rows are the sentences' places, which seed their
    samples as `length_batches.decode` does."""
    if method == "greedy":
        return method, lambda m, s, k, rows: greedy(m, s, k)
    if method == "beam":
        K = draw(st.integers(1, 3))
        opts = dict(beam_size=K, nbest=draw(st.integers(1, K)), alpha=0.8,
                    length_penalty=draw(st.sampled_from(["none", "average", "gnmt"])),
                    beta=draw(st.sampled_from([0.0, 0.5])) if attends else 0.0)  # fmt: skip
        return f"beam {opts}", lambda m, s, k, rows: beam_search(m, s, k, **opts)
    opts = dict(temperature=draw(st.sampled_from([1.0, 3.0])), top_k=draw(st.integers(0, 4)),
                top_p=draw(st.sampled_from([1.0, 0.9])))  # fmt: skip
    seed = draw(st.integers(0, 100))
    rngs = lambda rows: [np.random.default_rng([seed, i]) for i in rows]  # noqa: E731
    return f"sample {opts}", lambda m, s, k, rows: sample(m, s, k, rng=rngs(rows), **opts)


def assert_same_hypotheses(got: list, want: list, what: str) -> None:
    """ids and ended exactly, log-probability, score and attention to float64 rounding."""
    assert [h.ids for h in got] == [h.ids for h in want], what
    assert [h.ended for h in got] == [h.ended for h in want], what
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose([g.logprob, g.score], [w.logprob, w.score], rtol=1e-9)
        assert (g.attention is None) == (w.attention is None)
        if g.attention is not None:
            np.testing.assert_allclose(g.attention, w.attention, rtol=1e-9, atol=1e-12)


def attends(model) -> bool:
    members = model.members if isinstance(model, Ensemble) else [model]
    return all(m.cfg.attention != "none" for m in members)


@settings(max_examples=30)
@BACKENDS
@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
@given(model=models(), srcs=sources, extra=st.integers(0, 2), data=st.data())
def test_an_output_does_not_depend_on_the_batch_or_its_padding(
    name, method, model, srcs, extra, data
):
    backend.use(name)
    what, decode = data.draw(decoders(method, attends(model)))
    ids, mask = pad(srcs)
    ids = np.concatenate([ids, np.full((len(srcs), extra), PAD_ID)], axis=1)
    mask = np.concatenate([mask, np.zeros((len(srcs), extra), mask.dtype)], axis=1)
    together = decode(model, ids, mask, range(len(srcs)))
    for i, (s, hyps) in enumerate(zip(srcs, together, strict=True)):
        assert_same_hypotheses(hyps, decode(model, *pad([s]), [i])[0], what)


@settings(max_examples=30)
@BACKENDS
@given(model=models(), srcs=sources, penalty=st.sampled_from(["none", "average", "gnmt"]),
       beta=st.sampled_from([0.0, 0.5]))  # fmt: skip
def test_beam_one_is_greedy_or_finds_a_better_score(name, model, srcs, penalty, beta):
    """Beam 1 follows greedy's path and finishes greedy's output; without a penalty nothing can
    beat it, so it is greedy's; with one, the search may go on past greedy's </s> to an output
    that scores better, never worse."""
    backend.use(name)
    beta = beta if attends(model) else 0.0
    ids, mask = pad(srcs)
    g = greedy(model, ids, mask)
    b = beam_search(model, ids, mask, beam_size=1, length_penalty=penalty, alpha=0.8, beta=beta)
    for [hg], [hb] in zip(g, b, strict=True):
        if penalty == "none" and beta == 0.0:
            assert_same_hypotheses([hb], [hg], "beam 1")
            continue
        size = len(hg.ids) + hg.ended  # |y| counts </s>
        want = penalised(hg.logprob, size, penalty, 0.8)
        want += coverage_penalty(hg.attention, beta) if beta else 0.0
        assert hb.score >= want - 1e-12 * abs(want)
        if hb.ids == hg.ids:
            np.testing.assert_allclose(hb.score, want, rtol=1e-12)

"""Decoding: beam 1 is greedy, results do not depend on the batch, limits and n-best hold."""

import itertools
import warnings
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data.batching import pad
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID
from minis2s.decode import beam_search, greedy, sample
from minis2s.decode.common import choosable
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import CELLS
from tests.table_decoder import Table

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
        (lambda m, ids, mask: sample(m, ids, mask, rng=[np.random.default_rng(0)] * 2),
         r"or a list of N = 1 of them, one per sentence; got list of 2"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0), top_k=2.5),
         r"top_k \(0 = no limit\) must be an integer >= 0; got 2.5"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0),
                                     temperature=float("nan")), "temperature must be a finite"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0), top_p=0),
         r"top_p must be in \(0, 1\] \(1 = no limit\); got 0"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0), top_p=1.5),
         r"top_p must be in \(0, 1\]"),
        (lambda m, ids, mask: sample(m, ids, mask, rng=np.random.default_rng(0), top_p="0.9"),
         "top_p must be a finite number; got '0.9'"),
        (lambda m, ids, mask: beam_search(m, ids, mask, beam_size=2.5),
         "beam_size must be an integer >= 1; got 2.5"),
        (lambda m, ids, mask: beam_search(m, ids, mask, length_penalty="gnmt", alpha=np.inf),
         "alpha must be a finite number; got inf"),
        (lambda m, ids, mask: beam_search(m, ids, mask, length_penalty="gnmt", alpha=-5000),
         r"alpha must be in \[-10, 10\] .*overflows\); got -5000"),
        (lambda m, ids, mask: greedy(m, ids, mask, max_len_a=float("nan")),
         "max_len_a must be a finite number; got nan"),
        (lambda m, ids, mask: beam_search(m, ids, mask, max_len_a=0.0, max_len_b=0),
         r"max length a \* \|src\| \+ b must allow at least one token; got a=0.0, b=0"),
        (lambda m, ids, mask: greedy(m, [[4, 5], [4]], [[1, 1], [1]]),
         "src or src_mask is a list of rows of unequal lengths; pad"),
    ],
)  # fmt: skip
def test_wrong_arguments_are_named_not_met_deep_inside(call, message):
    """Non-finite settings would decode nothing; wrong types and ranks would fail deep inside
    NumPy. Each is refused at the decoder's door."""
    ids, mask = pad([[4, 5]])
    with pytest.raises(ValueError, match=message):
        call(model_for("gru", "general", 0), ids, mask)


def teacher_forced_logprob(model, src, ys, with_attention=False):
    """log p(ys | src) step by step through model.step, ys the ids fed after BOS (and, with
    `with_attention`, each step's attention weights (len(ys), S))."""
    ids, mask = pad([src])
    state, y, total, weights = model.encode(ids, mask), np.array([BOS_ID]), 0.0, []
    for tok in ys:
        logp, state, w = model.step(y, state)
        total += float(logp[0, tok])
        weights.append(None if w is None else w[0])
        y = np.array([tok])
    return (total, np.array(weights)) if with_attention else total


@pytest.mark.parametrize("penalty", ["none", "average", "gnmt"])
@pytest.mark.parametrize("cell,att", [("lstm", "general"), ("gru", "none"), ("rnn", "additive")])
def test_beam_search_wide_enough_is_exhaustive_search(cell, att, penalty):
    """With a beam as wide as the number of outputs, beam search ranks every output there is:
    its n-best list is the exhaustive search's best 6, with the same log-probabilities (each
    recomputed token by token) and scores. Vocabulary: EOS and 3 words; limit 3 tokens, so the
    outputs are 0-2 words then EOS, or 3 words stopped by the limit (1 + 3 + 9 + 27 = 40)."""
    from minis2s.decode.beam import penalised

    cfg = ModelConfig(src_vocab=6, tgt_vocab=6, cell=cell, emb=3, hidden=4, attention=att,
                      init_scale=1.5, input_feed=att != "none")  # fmt: skip
    model = Seq2Seq(cfg, seed=4, dtype=np.float64)
    src, words = [4, 5, 3], [3, 4, 5]
    outputs = []
    for n in range(4):
        for seq in itertools.product(words, repeat=n):
            ys = list(seq) + ([EOS_ID] if n < 3 else [])  # the limit stops at 3 tokens
            lp = teacher_forced_logprob(model, src, ys)
            outputs.append((penalised(lp, len(ys), penalty, 0.8), lp, list(seq)))
    assert len(outputs) == 40
    best = sorted(outputs, key=lambda o: -o[0])[:6]
    ids, mask = pad([src])
    hyps = beam_search(model, ids, mask, beam_size=40, nbest=6, length_penalty=penalty,
                       alpha=0.8, max_len_a=0.0, max_len_b=3)[0]  # fmt: skip
    assert [h.ids for h in hyps] == [seq for _, _, seq in best]
    np.testing.assert_allclose([h.logprob for h in hyps], [lp for _, lp, _ in best], rtol=1e-12)
    np.testing.assert_allclose([h.score for h in hyps], [sc for sc, _, _ in best], rtol=1e-12)


@pytest.mark.parametrize("penalty", ["none", "gnmt"])
@pytest.mark.parametrize("cell,att", [("lstm", "general"), ("rnn", "additive")])
def test_a_wide_beam_ranks_by_the_coverage_penalty_as_exhaustive_search_does(cell, att, penalty):
    """GNMT's coverage penalty, beta * sum_i log(min(sum_t a_ti, 1)) over the steps of each
    output (its EOS step too), added to the length-penalised score: a beam as wide as the number
    of outputs returns exhaustive search's best 6 by that score. Its stop rule bounds a live
    hypothesis as without the penalty (cp <= 0 and only rises), which this checks too."""
    from minis2s.decode.beam import penalised

    cfg = ModelConfig(src_vocab=6, tgt_vocab=6, cell=cell, emb=3, hidden=4, attention=att,
                      init_scale=1.5)  # fmt: skip
    model = Seq2Seq(cfg, seed=4, dtype=np.float64)
    src, words, beta = [4, 5, 3, 4], [3, 4, 5], 3.0
    outputs = []
    for n in range(4):
        for seq in itertools.product(words, repeat=n):
            ys = list(seq) + ([EOS_ID] if n < 3 else [])
            lp, a = teacher_forced_logprob(model, src, ys, with_attention=True)
            cp = beta * np.log(np.minimum(a.sum(axis=0), 1.0)).sum()
            outputs.append((penalised(lp, len(ys), penalty, 0.8) + cp, list(seq)))
    best = sorted(outputs, key=lambda o: -o[0])[:6]
    ids, mask = pad([src])
    hyps = beam_search(model, ids, mask, beam_size=40, nbest=6, length_penalty=penalty,
                       alpha=0.8, beta=beta, max_len_a=0.0, max_len_b=3)[0]  # fmt: skip
    assert [h.ids for h in hyps] == [seq for _, seq in best]
    np.testing.assert_allclose([h.score for h in hyps], [sc for sc, _ in best], rtol=1e-12)
    without = beam_search(model, ids, mask, beam_size=40, nbest=6, length_penalty=penalty,
                          alpha=0.8, max_len_a=0.0, max_len_b=3)[0]  # fmt: skip
    assert [h.ids for h in without] != [h.ids for h in hyps]  # the penalty reorders them
    together = beam_search(model, *pad([src, [4]]), beam_size=5, nbest=3, beta=beta)[1]
    alone = beam_search(model, *pad([[4]]), beam_size=5, nbest=3, beta=beta)[0]
    assert [h.ids for h in together] == [h.ids for h in alone]  # padding has no coverage
    np.testing.assert_allclose([h.score for h in together], [h.score for h in alone], rtol=1e-9)


def test_the_coverage_penalty_of_an_unattended_position_is_finite_in_float32_too():
    """A source position float32 attention gave exactly 0 (exp underflowed) counts as TINY, as
    in float64: NumPy 1.x clips a float32 array in float32, where TINY (float64's) is 0, so
    log gave -inf and beam search ranked the hypothesis last, on NumPy 1 only."""
    from minis2s.decode.beam import TINY, coverage_penalty

    a = np.array([[0.5, 0.0], [0.5, 0.0]])  # (steps, S): position 1 never attended
    want = 3.0 * np.log(TINY)
    for dtype in (np.float64, np.float32):
        assert coverage_penalty(a.astype(dtype), 3.0) == pytest.approx(want, rel=1e-12), dtype


@pytest.mark.parametrize("command", ["translate", "evaluate"])
def test_the_command_line_refuses_a_coverage_penalty_before_reading_sentences(
    command, monkeypatch, capsys
):
    """A model without attention has no coverage: refused before stdin or the pairs are read
    (beam search itself refuses it only at its first step)."""
    import io

    from minis2s.api import Translator
    from minis2s.cli import main
    from minis2s.data.vocab import Vocab

    v = Vocab("0123456789")
    bare = Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4, attention="none",
                                          input_feed=False)), v, v)  # fmt: skip
    monkeypatch.setattr(Translator, "load", classmethod(lambda cls, path, which="best": bare))
    stdin = io.StringIO("12\n")
    monkeypatch.setattr("sys.stdin", stdin)
    source = ["--task", "reverse-digits"] if command == "evaluate" else []
    argv = [command, "--checkpoint", "bare", *source, "--beam", "2", "--coverage-penalty", "0.2"]
    assert main(argv) == 2
    assert "--coverage-penalty: the model in bare has no attention" in capsys.readouterr().err
    assert stdin.tell() == 0


def test_the_coverage_penalty_is_refused_where_it_means_nothing():
    ids, mask = pad([[4, 5]])
    with pytest.raises(ValueError, match="beta=0.2 weighs the attention .* no attention"):
        beam_search(model_for("gru", "none", 0), ids, mask, beta=0.2)
    for beta, message in ((-0.1, "beta must be >= 0"), (float("nan"), "beta")):
        with pytest.raises(ValueError, match=message):
            beam_search(model_for("gru", "general", 0), ids, mask, beta=beta)


class ScriptedDecoder:
    """A model whose log-probabilities are written out, per row of the batch: before the 6th
    word, "4" (log p -0.01), </s> (-2) or "5" (-3); after six 4s, </s> (-0.01); after a 5,
    </s> (-0.5). The best output is six 4s (log p -0.07), and every step offers an early </s>
    of low score beside it."""

    class State(NamedTuple):
        enc: np.ndarray  # only read for its array module
        fours: np.ndarray  # (rows,) 4s so far
        strayed: np.ndarray  # (rows,) a 5 seen

    def encode(self, src, src_mask):
        n = len(src)
        return self.State(np.zeros(n), np.zeros(n, int), np.zeros(n, bool))

    @staticmethod
    def select(state, index, *, same_sources=False):
        return ScriptedDecoder.State(state.enc[index], state.fours[index], state.strayed[index])

    def step(self, y, state, ids_checked=False):
        y = np.asarray(y)
        fours = state.fours + (y == 4)
        strayed = state.strayed | (y == 5)
        logp = np.full((len(y), V), -50.0)
        logp[:, [4, EOS_ID, 5]] = [-0.01, -2.0, -3.0]
        logp[fours == 6] = -50.0
        logp[fours == 6, EOS_ID] = -0.01
        logp[strayed] = -50.0
        logp[strayed, EOS_ID] = -0.5
        return logp, self.State(state.enc, fours, strayed), None


@pytest.mark.parametrize("K", [2, 5, 9])
@pytest.mark.parametrize("penalty", ["none", "average", "gnmt"])
def test_early_ends_of_low_score_do_not_stop_the_search(K, penalty):
    """Early </s> candidates fill K finished places long before the best hypothesis ends (it
    is the greedy one here); the search goes on while a live hypothesis could still beat them."""
    model, (ids, mask) = ScriptedDecoder(), pad([[4, 4, 4]])
    [[g]] = greedy(model, ids, mask)
    [[b]] = beam_search(model, ids, mask, beam_size=K, length_penalty=penalty)
    assert g.ids == b.ids == [4] * 6
    np.testing.assert_allclose(b.logprob, -0.07, rtol=1e-12)


@pytest.mark.parametrize("temperature,top_k", [(1.0, 0), (0.5, 0), (2.0, 3)])
def test_the_first_token_is_drawn_from_the_tempered_top_k_distribution(temperature, top_k):
    """4000 copies of one source in one batch: the first tokens' frequencies match
    softmax(logp / T) over the top_k tokens (and over the tokens a target may hold), within 5
    standard errors; tokens outside the top k are never drawn. Seeded, so it cannot flake."""
    model = model_for("lstm", "general", 7)
    n, src = 4000, [4, 5, 6]
    ids, mask = pad([src] * n)
    logp = model.step(np.array([BOS_ID]), model.encode(*pad([src])))[0][0]
    z = np.where(np.arange(V) >= EOS_ID, logp / temperature, -np.inf)
    if top_k:
        z[np.argsort(-z)[top_k:]] = -np.inf
    want = np.exp(z - z.max())
    want /= want.sum()
    out = sample(model, ids, mask, rng=np.random.default_rng(1), temperature=temperature,
                 top_k=top_k, max_len_a=0.0, max_len_b=1)  # fmt: skip
    first = np.array([(h[0].ids or [EOS_ID])[0] for h in out])
    got = np.bincount(first, minlength=V) / n
    assert not got[want == 0].any()
    assert np.all(np.abs(got - want) <= 5 * np.sqrt(want * (1 - want) / n) + 1e-9), (got, want)
    assert want.max() < 0.9  # a distribution worth testing: no token takes it all


def test_a_tiny_temperature_is_greedy_and_never_pad():
    """logp / T overflowed to -inf for every token at T = 1e-308, and the draw took <pad>."""
    model = Seq2Seq(ModelConfig(src_vocab=7, tgt_vocab=8, emb=3, hidden=4, init_scale=0.7),
                    seed=5, dtype=np.float64)  # fmt: skip
    ids, mask = pad([[4, 5, 6], [6]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the -inf it meant is not an overflow to warn about
        cold = sample(model, ids, mask, rng=np.random.default_rng(3), temperature=1e-310)
    assert [h[0].ids for h in cold] == [h[0].ids for h in greedy(model, ids, mask)]
    assert all(np.isfinite(h[0].logprob) for h in cold)


def test_top_k_keeps_k_tokens_when_ties_straddle_the_kth():
    """Of tokens tied at the k-th value the lowest ids are kept, as greedy's argmax takes them;
    a draw never lands on a token of probability 0, whatever u is."""
    from minis2s.decode.sample import _draw

    logp = np.log(np.array([[0.1, 0.3, 0.3, 0.3], [0.25, 0.25, 0.25, 0.25]]))
    rng = np.random.default_rng(0)
    draws = np.array([_draw(logp, 1.0, 1, rng) for _ in range(200)])
    assert (draws == [1, 0]).all()
    draws = np.array([_draw(logp, 1.0, 2, rng) for _ in range(200)])
    assert set(draws[:, 0]) == {1, 2} and set(draws[:, 1]) == {0, 1}

    class AlmostOne:  # the largest u below 1, above a cumulative sum that rounding left short
        def random(self, shape):
            return np.full(shape, np.nextafter(1.0, 0.0))

    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[1 / 7] * 7 + [0.0]]))  # sums to 0.9999999999999998
    assert _draw(logp, 1.0, 0, AlmostOne())[0] == 6  # not token 7, of probability 0

    class Zero:  # Generator.random() returns k * 2**-53, k = 0 included
        def random(self, shape):
            return np.zeros(shape)

    logp = choosable(np.log(np.full((1, 6), 1 / 6)))  # <pad> and <s> at -inf
    assert _draw(logp, 1.0, 0, Zero())[0] == EOS_ID  # not <pad>: the first token of p > 0


@pytest.mark.parametrize(
    "top_p, allowed",
    [(0.49, {0}), (0.51, {0, 1}), (0.79, {0, 1}), (0.81, {0, 1, 2}), (0.95, {0, 1, 2, 3}),
     (1.0, {0, 1, 2, 3, 4})],
)  # fmt: skip
def test_top_p_draws_from_the_fewest_tokens_whose_mass_reaches_p(top_p, allowed):
    """p = [0.5, 0.3, 0.12, 0.05, 0.03] (a shuffled order): the nucleus of 0.49 is the first
    token alone, of 0.51 and of 0.79 the first two, of 0.81 the first three, and so on (p's
    sums themselves are left out: whether 0.5 + 0.3 reaches 0.8 is a matter of rounding).
    Drawn 2000 times, exactly the nucleus comes up, in proportion to p renormalised on it."""
    from minis2s.decode.sample import _draw

    p = np.array([0.5, 0.3, 0.12, 0.05, 0.03])
    order = np.array([3, 0, 4, 1, 2])  # token order[i] has probability p[i]
    logp = np.empty((1, 5))
    logp[0, order] = np.log(p)
    rng = np.random.default_rng(0)
    draws = np.array([_draw(logp, 1.0, 0, rng, top_p)[0] for _ in range(2000)])
    ranks = np.argsort(order)[draws]  # each draw's rank by probability
    assert set(ranks) == allowed
    want = np.where(np.isin(np.arange(5), list(allowed)), p, 0)
    want /= want.sum()
    got = np.bincount(ranks, minlength=5) / len(draws)
    assert np.all(np.abs(got - want) <= 5 * np.sqrt(want * (1 - want) / len(draws)) + 1e-9)


def test_top_p_keeps_the_lowest_ids_of_tied_tokens_and_comes_after_top_k():
    """Four tokens of 0.25: a nucleus of 0.45 is tokens 0 and 1 (the lowest ids of the tie).
    With top_k = 2 first, the nucleus is taken of the renormalised pair (0.5 each): 0.45 keeps
    one of the two, where the nucleus of the whole distribution keeps both."""
    from minis2s.decode.sample import _draw

    logp = np.log(np.full((1, 4), 0.25))
    rng = np.random.default_rng(0)
    assert {int(_draw(logp, 1.0, 0, rng, 0.45)[0]) for _ in range(300)} == {0, 1}
    assert {int(_draw(logp, 1.0, 2, rng, 0.45)[0]) for _ in range(300)} == {0}
    logp = np.log(np.array([[0.4, 0.3, 0.2, 0.1]]))  # temperature first: T = 0.5 sharpens it to
    # p^2 / sum p^2 = [0.533, 0.3, 0.133, 0.033], whose nucleus of 0.8 is two tokens, not three
    assert {int(_draw(logp, 0.5, 0, rng, 0.8)[0]) for _ in range(300)} == {0, 1}
    assert {int(_draw(logp, 1.0, 0, rng, 0.8)[0]) for _ in range(300)} == {0, 1, 2}


def test_top_p_stops_at_the_token_whose_mass_reaches_p_exactly():
    """Four tokens of exactly 0.25 (sums of quarters are exact in binary): a nucleus of 0.5 is
    two tokens, whose mass reaches 0.5 itself, not three; one of 0.75 is three."""
    from minis2s.decode.sample import _nucleus

    z = np.zeros((1, 4))  # log-weights whose largest is 0, as _draw hands them on
    assert np.isfinite(_nucleus(z, 0.5)).tolist() == [[True, True, False, False]]
    assert np.isfinite(_nucleus(z, 0.75)).tolist() == [[True, True, True, False]]


def test_top_p_takes_the_lowest_ids_of_a_tie_among_many_tokens():
    """32 tied tokens scattered among 64, the others ~1e-13 each: a nucleus of 0.26 is 9 of the
    tie (each ~1/32), the 9 lowest ids. An unstable sort may order a tie of this size otherwise
    (NumPy's quicksort does, where 4 tokens stay in order whichever sort is used)."""
    from minis2s.decode.sample import _nucleus

    tied = np.flatnonzero(np.arange(64) * 37 % 64 < 32)  # ids 0, 2, 5, 7, 9, ...: scattered
    z = np.full((1, 64), -30.0)
    z[0, tied] = 0.0
    assert np.flatnonzero(np.isfinite(_nucleus(z, 0.26)[0])).tolist() == tied[:9].tolist()


@given(models, sources, st.integers(0, 100))
def test_top_p_one_is_plain_sampling(m, srcs, seed):
    """top_p = 1 restricts nothing: the same draws as sampling without it, bit for bit."""
    model = model_for(*m)
    ids, mask = pad(srcs)
    plain = sample(model, ids, mask, rng=np.random.default_rng(seed))
    whole = sample(model, ids, mask, rng=np.random.default_rng(seed), top_p=1.0)
    assert [(h[0].ids, h[0].logprob) for h in plain] == [(h[0].ids, h[0].logprob) for h in whole]


def test_a_tiny_top_p_is_greedy():
    """A nucleus smaller than every probability is the most probable token alone."""
    model = model_for("gru", "general", 3)
    ids, mask = pad([[4, 5, 6], [7], [8, 8]])
    tiny = sample(model, ids, mask, rng=np.random.default_rng(0), top_p=1e-9)
    assert [h[0].ids for h in tiny] == [h[0].ids for h in greedy(model, ids, mask)]


def test_top_k_counts_the_tokens_above_the_kth_before_the_tied_ones():
    """[0.4, 0.2, 0.2, 0.2], k = 2: token 0 is above the 2nd value, so one of the three tied at
    it fits (the lowest id): the draws are 0 and 1, never 2 or 3."""
    from minis2s.decode.sample import _draw

    logp = np.log(np.array([[0.4, 0.2, 0.2, 0.2]]))
    rng = np.random.default_rng(0)
    assert {int(_draw(logp, 1.0, 2, rng)[0]) for _ in range(300)} == {0, 1}


def test_an_early_eos_in_the_top_k_leaves_room_for_k_live_hypotheses():
    """Step 0 offers </s> (-0.1), 4 (-0.2), 5 (-0.3): with K = 2, </s> ends and both 4 and 5
    must stay live (hence 2K candidates a step), so 5 </s> (-0.31) is the second best output."""
    model = Table({(): {EOS_ID: -0.1, 4: -0.2, 5: -0.3}, (4,): {EOS_ID: -5.0},
                   (5,): {EOS_ID: -0.01}})  # fmt: skip
    hyps = beam_search(model, *pad([[4]]), beam_size=2, nbest=2)[0]
    assert [h.ids for h in hyps] == [[], [5]]
    np.testing.assert_allclose([h.logprob for h in hyps], [-0.1, -0.31])


def test_average_penalty_keeps_searching_while_a_longer_output_could_still_win():
    """average: </s> first scores -0.4 / 1; 4 (-1.2) can still end at -1.2 / 6 = -0.2 by the
    length limit (6), so bounding it by its shortest end (-1.2 / 2 = -0.6) would stop too soon."""
    more = {(4,) * n: {4: -1e-3} for n in range(1, 5)}
    model = Table({(): {EOS_ID: -0.4, 4: -1.2}, **more, (4,) * 5: {EOS_ID: -1e-3}})
    [[h]] = beam_search(model, *pad([[4]]), beam_size=1, length_penalty="average",
                        max_len_a=0.0, max_len_b=6)  # fmt: skip
    assert h.ids == [4] * 5 and h.ended
    np.testing.assert_allclose(h.score, (-1.2 - 5e-3) / 6)


def test_the_search_stops_once_no_live_hypothesis_can_win():
    """gnmt with alpha = -1 favours shorter outputs: score = log p * (5 + |y|) / 6. Step 0 ends
    </s> at -1.0 * 6/6 = -1.0; the live 4 (-0.9) ends with 2 tokens at best, at -0.9 * 7/6 =
    -1.05, so the search is over after one step. Bounding it as if it could end with 1 token
    (-0.9) would run a step for nothing."""

    class Counted(Table):
        steps = 0

        def step(self, y, state, ids_checked=False):
            Counted.steps += 1
            return super().step(y, state, ids_checked)

    model = Counted({(): {EOS_ID: -1.0, 4: -0.9}})
    [[h]] = beam_search(model, *pad([[4]]), beam_size=2, length_penalty="gnmt", alpha=-1.0)
    assert h.ids == [] and h.ended and Counted.steps == 1
    np.testing.assert_allclose(h.score, -1.0)


def test_beam_attention_is_the_attention_of_each_hypothesis_own_tokens():
    """Each n-best hypothesis's attention rows are what model.step gives when fed its own tokens
    (and </s> when it ended), over its own source only."""
    model = model_for("lstm", "general", 3)
    srcs = [[4, 5, 6, 7], [8], [5, 5, 6]]
    out = beam_search(model, *pad(srcs), beam_size=4, nbest=4, length_penalty="average")
    for src, hyps in zip(srcs, out, strict=True):
        for h in hyps:
            state, y, rows = model.encode(*pad([src])), np.array([BOS_ID]), []
            for token in h.ids + ([EOS_ID] if h.ended else []):
                _, state, w = model.step(y, state)
                rows.append(w[0])
                y = np.array([token])
            np.testing.assert_allclose(h.attention, np.array(rows), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_a_model_gone_nan_is_an_error_for_every_decoder(method):
    """Greedy returned an empty output of log p NaN and sampling <pad> tokens of log p -inf where
    beam search named the sentence: each names it now. Sentence 0 ends before the NaN."""
    model = Table({(): {EOS_ID: -0.1}})
    real = model.step

    def step(y, state, **kw):
        logp, state, w = real(y, state, **kw)
        logp[1:] = np.nan  # every sentence but the first
        return logp, state, w

    model.step = step
    decode = {"greedy": greedy, "beam": beam_search,
              "sample": lambda *a: sample(*a, rng=np.random.default_rng(0))}[method]  # fmt: skip
    where = {"beam": "beam_search"}.get(method, method)
    with pytest.raises(ValueError, match=f"{where}: sentence 1 has no hypothesis with a finite"):
        decode(model, *pad([[4], [5], [6]]))


def test_a_max_length_beyond_any_output_is_refused():
    """a * |src| + b beyond 2^63 wrapped round to a negative limit: beam search returned nothing
    and greedy failed in NumPy."""
    model = model_for("gru", "general", 0)
    ids, mask = pad([[4, 5]])
    for kw in (dict(max_len_a=1e19), dict(max_len_b=2**63), dict(max_len_a=1e300)):
        for decode in (greedy, beam_search):
            with pytest.raises(ValueError, match="at most 1,000,000 decoding steps"):
                decode(model, ids, mask, **kw)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
@pytest.mark.parametrize("cell,att", [("lstm", "general"), ("gru", "additive"), ("rnn", "none")])
def test_the_numba_backend_decodes_as_numpy_does(cell, att, method):
    """Every decoder through the numba twins (the steps, attention, the output layer): the same
    outputs, and scores within float64's parity tolerance."""
    from minis2s import backend

    model = model_for(cell, att, 3)
    ids, mask = pad([[4, 5, 6, 7], [8], [5, 5]])
    decode = {
        "greedy": lambda: greedy(model, ids, mask),
        "beam": lambda: beam_search(model, ids, mask, beam_size=3, nbest=3, length_penalty="gnmt"),
        "sample": lambda: sample(model, ids, mask, rng=np.random.default_rng(2), top_k=4),
    }[method]
    want = decode()
    backend.use("numba")  # conftest restores numpy after the test
    got = decode()
    assert [[h.ids for h in hs] for hs in got] == [[h.ids for h in hs] for hs in want]
    np.testing.assert_allclose([h.score for hs in got for h in hs],
                               [h.score for hs in want for h in hs], rtol=1e-10)  # fmt: skip


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_a_hypothesis_says_whether_it_ended_or_the_limit_cut_it(method):
    """ended is True for an output that ended with EOS, False for one the maximum length cut."""
    model = model_for("lstm", "general", 1)
    ids, mask = pad([[4, 5, 6], [7]])
    decode = {
        "greedy": lambda **kw: greedy(model, ids, mask, **kw),
        "beam": lambda **kw: beam_search(model, ids, mask, beam_size=3, nbest=3, **kw),
        "sample": lambda **kw: sample(model, ids, mask, rng=np.random.default_rng(0), **kw),
    }[method]
    for hyps, limit in zip(decode(max_len_a=0.0, max_len_b=2), (2, 2), strict=True):
        for h in hyps:
            assert h.ended == (len(h.ids) < limit)  # fewer tokens than the limit: EOS came
    model.params["out.b"][EOS_ID] -= 100.0  # now EOS never wins: every output is cut
    for hyps in decode(max_len_a=0.0, max_len_b=3):
        assert all(not h.ended and len(h.ids) == 3 for h in hyps)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_the_length_limit_is_a_times_the_source_length_plus_b_rounded_down_and_at_least_one(
    method,
):
    """An output the limit cuts has max(1, floor(a * |src| + b)) tokens, |src| its own source's
    length, and one attention row per token (no </s> row), even while a longer sentence of the
    batch goes on."""
    model = model_for("lstm", "general", 1)
    model.params["out.b"][EOS_ID] -= 100.0  # EOS never wins: every output runs to its limit
    srcs = [[4], [5, 6], [7, 8, 4], [5, 6, 7, 8]]
    ids, mask = pad(srcs)
    decode = {
        "greedy": lambda **kw: greedy(model, ids, mask, **kw),
        "beam": lambda **kw: beam_search(model, ids, mask, beam_size=3, nbest=3, **kw),
        "sample": lambda **kw: sample(model, ids, mask, rng=np.random.default_rng(0), **kw),
    }[method]
    for a, b in ((1.5, 1), (0.5, 0)):  # 2.5, 4, 5.5, 7 and 0.5, 1, 1.5, 2 tokens
        limits = [max(1, int(np.floor(a * len(s) + b))) for s in srcs]
        for hyps, s, limit in zip(decode(max_len_a=a, max_len_b=b), srcs, limits, strict=True):
            for h in hyps:
                assert not h.ended and len(h.ids) == limit
                assert h.attention.shape == (limit, len(s))


def test_a_beam_wider_than_the_vocabulary_returns_only_real_outputs():
    """One token allowed: the outputs are </s> alone or one word cut by the limit, V - 2 of
    them. A beam of 8 returns exactly those, best first, with the model's log-probabilities;
    no hypothesis of <pad> or <s> at log p -inf fills the places left over."""
    model = model_for("gru", "general", 2)
    ids, mask = pad([[4, 5]])
    hyps = beam_search(model, ids, mask, beam_size=8, nbest=8, max_len_a=0.0, max_len_b=1)[0]
    logp = model.step(np.array([BOS_ID]), model.encode(ids, mask))[0][0]
    want = sorted(range(EOS_ID, V), key=lambda tok: -logp[tok])  # every token a target holds
    assert [h.ids for h in hyps] == [[] if tok == EOS_ID else [tok] for tok in want]
    np.testing.assert_allclose([h.logprob for h in hyps], logp[want], rtol=1e-12)

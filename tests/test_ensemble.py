"""Ensemble decoding: the step is the log of the mean of the members' probabilities, one member
(or M equal ones) is the model itself, every decoder takes an ensemble, and mismatched members
are refused."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data.batching import pad
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID
from minis2s.decode import beam_search, greedy, sample
from minis2s.models import Ensemble, ModelConfig, Seq2Seq
from minis2s.models.config import CELLS
from minis2s.models.ensemble import mean_of_probabilities

V = 9
ATTENTIONS = ["none", "general", "additive"]


def member(cell: str, att: str, hidden: int, seed: int) -> Seq2Seq:
    # init_scale 1.0: peaked, varied distributions, so a wrong mean shows in the outputs
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=4, hidden=hidden, attention=att,
                      init_scale=1.0, input_feed=att != "none")  # fmt: skip
    return Seq2Seq(cfg, seed=seed, dtype=np.float64)


members = st.lists(
    st.builds(member, st.sampled_from(CELLS), st.sampled_from(ATTENTIONS), st.integers(1, 6),
              st.integers(0, 1000)),
    min_size=1, max_size=3,
)  # fmt: skip
sources = st.lists(st.lists(st.integers(4, V - 1), min_size=1, max_size=5), min_size=1, max_size=3)


def softmax(logp: np.ndarray) -> np.ndarray:
    z = np.exp(logp - logp.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@given(members, sources, st.lists(st.integers(4, V - 1), min_size=1, max_size=3))
def test_a_step_is_the_log_of_the_mean_of_the_members_softmaxes(ms, srcs, ys):
    ens, (ids, mask) = Ensemble(ms), pad(srcs)
    state, alone = ens.encode(ids, mask), [m.encode(ids, mask) for m in ms]
    for y in [BOS_ID, *ys]:
        y = np.full(len(srcs), y)
        logp, state, w = ens.step(y, state)
        steps = [m.step(y, s) for m, s in zip(ms, alone, strict=True)]
        alone = [s for _, s, _ in steps]
        # each member's distribution from its own log-probabilities, renormalised here
        p = np.mean([softmax(lp) for lp, _, _ in steps], axis=0)
        np.testing.assert_allclose(logp, np.log(p), rtol=1e-12, atol=1e-12)
        if any(a is None for _, _, a in steps):
            assert w is None
        else:
            np.testing.assert_allclose(w, sum(a for _, _, a in steps) / len(ms), rtol=1e-12)
            np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)


def test_the_mean_is_stable_where_exp_would_underflow_or_meet_minus_infinity():
    inf = np.inf
    a = np.array([[-1000.0, -inf, -inf, 0.0, -1000.0, -800.0]])
    b = np.array([[-1001.0, -2.0, -inf, -inf, -inf, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, divide or invalid-value warning
        got = mean_of_probabilities([a, b])
    want = [
        -1000.0 + math.log((1 + math.exp(-1)) / 2),  # exp(-1000) underflows: naive gives -inf
        -2.0 - math.log(2),  # one member rules it out: half the other's probability
        -inf,  # every member rules it out
        -math.log(2),
        -1000.0 - math.log(2),  # shifted by the max, not the min: exp(-1000 - 0) underflows
        -math.log(2),  # shifted by the min, exp(800) would overflow
    ]
    np.testing.assert_allclose(got[0], want, rtol=1e-15)
    assert np.isnan(mean_of_probabilities([a, np.full_like(a, np.nan)])).all()


def test_a_float32_ensemble_stays_float32():
    ms = [member("gru", "general", 4, s) for s in (1, 2)]
    ms = [Seq2Seq(m.cfg, {k: v.astype(np.float32) for k, v in m.params.items()}, dtype=np.float32)
          for m in ms]  # fmt: skip
    ens = Ensemble(ms)
    logp, _, w = ens.step(np.array([BOS_ID]), ens.encode(*pad([[4, 5]])))
    assert logp.dtype == np.float32 and w.dtype == np.float32


def decoders() -> dict:
    return {
        "greedy": lambda model, ids, mask: greedy(model, ids, mask),
        "beam": lambda model, ids, mask: beam_search(model, ids, mask, beam_size=3, nbest=3),
        "beam-gnmt-coverage": lambda model, ids, mask: beam_search(
            model,
            ids,
            mask,
            beam_size=3,
            length_penalty="gnmt",
            alpha=0.8,
            beta=0.2 if model.cfg.attention != "none" else 0.0,
        ),  # fmt: skip
        "sample": lambda model, ids, mask: sample(
            model, ids, mask, rng=np.random.default_rng(5), temperature=1.5, top_k=4
        ),
    }


def assert_same(got: list, want: list, rtol: float = 0.0) -> None:
    """The same hypotheses: ids, log-probability and ended bit for bit, score and attention to
    `rtol` (0: bit for bit)."""
    for g_list, w_list in zip(got, want, strict=True):
        assert len(g_list) == len(w_list)
        for g, w in zip(g_list, w_list, strict=True):
            assert (g.ids, g.logprob, g.ended) == (w.ids, w.logprob, w.ended)
            np.testing.assert_allclose(g.score, w.score, rtol=rtol, atol=0)
            assert (g.attention is None) == (w.attention is None)
            if g.attention is not None:
                np.testing.assert_allclose(g.attention, w.attention, rtol=rtol, atol=0)


@settings(max_examples=30)
@given(members, sources, st.sampled_from(sorted(decoders())))
def test_one_member_decodes_as_the_model_itself(ms, srcs, method):
    decode, ids_mask = decoders()[method], pad(srcs)
    assert_same(decode(Ensemble(ms[:1]), *ids_mask), decode(ms[0], *ids_mask))


@settings(max_examples=30)
@given(members, sources, st.sampled_from(sorted(decoders())), st.integers(2, 3))
def test_equal_members_decode_as_one(ms, srcs, method, M):
    decode, ids_mask = decoders()[method], pad(srcs)
    # the log-probabilities are exact (their mean of exp(0) is 1); the attention (M a) / M may
    # round in its last bit, and the coverage penalty with it
    assert_same(decode(Ensemble(ms[:1] * M), *ids_mask), decode(ms[0], *ids_mask), rtol=1e-14)


def greedy_by_hand(ms: list, src: list[int], limit: int) -> list[int]:
    """Greedy decoding of one sentence, written out: each member's softmax at every step, their
    mean, its argmax over the tokens a decoder may choose."""
    ids, mask = pad([src])
    states, y, out = [m.encode(ids, mask) for m in ms], BOS_ID, []
    for _ in range(limit):
        steps = [m.step(np.array([y]), s) for m, s in zip(ms, states, strict=True)]
        states = [s for _, s, _ in steps]
        p = np.mean([softmax(lp[0]) for lp, _, _ in steps], axis=0)
        p[[PAD_ID, BOS_ID]] = -1.0
        y = int(p.argmax())
        if y == EOS_ID:
            break
        out.append(y)
    return out


@given(members, sources)
def test_greedy_decoding_of_an_ensemble_is_the_argmax_of_the_mean(ms, srcs):
    hyps = greedy(Ensemble(ms), *pad(srcs), max_len_a=1.0, max_len_b=3)
    for src, (h,) in zip(srcs, hyps, strict=True):
        assert h.ids == greedy_by_hand(ms, src, len(src) + 3)


@given(members, sources)
def test_every_decoder_takes_an_ensemble(ms, srcs):
    ens, (ids, mask) = Ensemble(ms), pad(srcs)
    g = greedy(ens, ids, mask)
    nbest = beam_search(ens, ids, mask, beam_size=4, nbest=4, length_penalty="average")
    for hyps in nbest:
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    top1 = sample(ens, ids, mask, rng=np.random.default_rng(0), top_k=1)
    assert [h[0].ids for h in top1] == [h[0].ids for h in g]
    assert [h[0].ids for h in beam_search(ens, ids, mask, beam_size=1)] == [h[0].ids for h in g]


def test_coverage_penalty_needs_every_member_to_attend():
    ens = Ensemble([member("lstm", "general", 4, 1), member("gru", "none", 4, 2)])
    assert ens.cfg.attention == "none" and ens.without_attention() == ["member 1"]
    with pytest.raises(ValueError, match="this model has no attention; leave beta at 0"):
        beam_search(ens, *pad([[4, 5]]), beta=0.2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tgt_vocab": V + 1}, r"Ensemble: a and b differ in target vocabulary size \(9 and 10\)"),
        ({"src_vocab": V + 1}, r"a and b differ in source vocabulary size \(9 and 10\)"),
    ],
)
def test_members_that_read_or_write_other_tokens_are_refused(change, message):
    a = member("lstm", "general", 4, 1)
    b = Seq2Seq(dataclasses.replace(a.cfg, **change), seed=2, dtype=np.float64)
    with pytest.raises(ValueError, match=message):
        Ensemble([a, b], ["a", "b"])


def test_a_bad_ensemble_is_refused():
    a = member("lstm", "general", 4, 1)
    b = Seq2Seq(a.cfg, seed=2, dtype=np.float32)
    with pytest.raises(ValueError, match="a is float64 and b float32; give the members in one"):
        Ensemble([a, b], ["a", "b"])
    m = b  # the widening that the message gives is taken
    assert Ensemble([a, Seq2Seq(m.cfg, {k: v.astype("float64") for k, v in m.params.items()},
                                dtype="float64")]).dtype == np.float64  # fmt: skip
    with pytest.raises(ValueError, match="no members"):
        Ensemble([])
    with pytest.raises(ValueError, match="1 names for 2 members"):
        Ensemble([a, a], ["a"])
    with pytest.raises(ValueError, match="member 1 is str, not a Seq2Seq model"):
        Ensemble([a, "runs/b"])


def test_feature_runs_with_other_vocabularies_are_told_a_way_that_exists():
    """A feature task cannot be written to files (tasks --write refuses it), so the advice for
    runs of one is Python's: its splits loaded once, each run trained on them."""
    from minis2s._ensemble_checks import check_members
    from minis2s.api import Translator
    from minis2s.data.vocab import Vocab

    cfg = ModelConfig(0, 12, src_features=3, emb=4, hidden=4)
    one, two = (Translator(Seq2Seq(cfg), None, Vocab(d)) for d in ("01234567", "10234567"))
    with pytest.raises(ValueError, match=r"different target vocabularies") as e:
        check_members(["a", "b"], [one, two])
    assert "tasks --write" not in str(e.value)
    assert "data = pipeline.load_data(task=" in str(e.value)


def test_runs_that_give_source_tokens_other_ids_are_refused():
    """The source vocabularies are compared as the target ones are: the same tokens in another
    order pass the Ensemble's size checks, but each member would read other tokens."""
    from minis2s._ensemble_checks import check_members
    from minis2s.api import Translator
    from minis2s.data.vocab import Vocab

    cfg = ModelConfig(8, 8, emb=4, hidden=4)  # 4 specials and 4 digits on each side
    one, two = (Translator(Seq2Seq(cfg), Vocab(d), Vocab("0123")) for d in ("0123", "1023"))
    with pytest.raises(ValueError, match=(
        r"a and b have different source vocabularies \(8 and 8 tokens; id 4 is '0' and '1'\)"
    )):  # fmt: skip
        check_members(["a", "b"], [one, two])


def test_a_vocabulary_that_extends_another_is_named_by_its_first_extra_token():
    from minis2s._ensemble_checks import vocab_difference
    from minis2s.data.vocab import Vocab

    want = "different target vocabularies (6 and 8 tokens; the longer goes on with '2')"
    assert vocab_difference("tgt", Vocab("01"), Vocab("0123")) == want
    assert vocab_difference("tgt", Vocab("0123"), Vocab("01")) == want.replace("6 and 8", "8 and 6")


def test_runs_whose_tokenizers_read_other_unicode_forms_are_refused():
    """A run saved before normalisation reads text as written (form None), an NFC run reads
    'e' + U+0301 as 'é': the same vocabularies would give one source two token sequences."""
    from minis2s._ensemble_checks import check_members
    from minis2s.api import Translator
    from minis2s.data.tokenize import get_tokenizer
    from minis2s.data.vocab import Vocab

    cfg = ModelConfig(8, 8, emb=4, hidden=4)
    nfc, raw = get_tokenizer("char"), get_tokenizer("char")._replace(form=None)
    one, two = (Translator(Seq2Seq(cfg), Vocab("0123"), Vocab("0123"), t) for t in (nfc, raw))
    with pytest.raises(ValueError, match=r"a and b have tokenizers that read text in different "
                       r"Unicode forms \(NFC and None\)"):  # fmt: skip
        check_members(["a", "b"], [one, two])

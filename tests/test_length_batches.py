"""translate decodes in batches of sources of similar length and returns the outputs in the
caller's order: the same outputs as each sentence decoded alone, errors named by the caller's
index."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.api import Translator
from minis2s.data.vocab import Vocab
from minis2s.length_batches import sorted_by_length
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.ensemble import Ensemble

DIGITS = Vocab("0123456789")


def _model(seed: int = 0, features: int = 0) -> Seq2Seq:
    """An untrained float64 attention model over digits (its outputs are noise, but fixed)."""
    cfg = ModelConfig(len(DIGITS), len(DIGITS), emb=4, hidden=5, src_features=features)
    return Seq2Seq(cfg, seed=seed, dtype=np.float64)


def _translator(ensemble: bool = False) -> Translator:
    model = Ensemble([_model(1), _model(2)]) if ensemble else _model()
    return Translator(model, DIGITS, DIGITS)


def _batch_lengths(tr: Translator, monkeypatch) -> list[list[int]]:
    """Record the source lengths of each batch that tr's model encodes."""
    seen: list[list[int]] = []
    real = tr.model.encode

    def encode(src, src_mask):
        seen.append(src_mask.sum(axis=1).astype(int).tolist())
        return real(src, src_mask)

    monkeypatch.setattr(tr.model, "encode", encode)
    return seen


def test_sorted_by_length_is_stable_and_cuts_batch_size():
    assert sorted_by_length([3, 1, 2, 1, 3], 2) == [[1, 3], [2, 0], [4]]
    assert sorted_by_length([5], 4) == [[0]]
    assert sorted_by_length([], 4) == []


@pytest.mark.parametrize("features", [False, True])
def test_a_batch_holds_sources_of_similar_length(monkeypatch, features):
    """The batches were the caller's chunks: lengths (1, 9), (2, 8), (3), each padded to its
    longest and decoded until its longest output ended."""
    lengths = [1, 9, 2, 8, 3]
    if features:
        tr = Translator(_model(features=3), None, DIGITS)
        sources = [np.full((S, 3), 0.1 * S) for S in lengths]
    else:
        tr = _translator()
        sources = ["7" * S for S in lengths]
    alone = [t.text for t in tr.translate(sources, batch_size=1)]
    seen = _batch_lengths(tr, monkeypatch)
    assert [t.text for t in tr.translate(sources, batch_size=2)] == alone
    assert seen == [[1, 2], [3, 8], [9]]
    assert [len(t.src_tokens) for t in tr.translate(sources, batch_size=2)] == lengths


@st.composite
def decodings(draw):
    """Mixed-length digit sources (some with the unknown "x"), a batch size, and translate's
    method options."""
    sources = draw(st.lists(st.text("0123x", min_size=1, max_size=9), min_size=1, max_size=6))
    method = draw(st.sampled_from(["greedy", "beam", "sample"]))
    kw = {"method": method, "batch_size": draw(st.integers(1, 4))}
    if method == "beam":
        kw["beam_size"] = draw(st.integers(1, 3))
        kw["nbest"] = draw(st.integers(1, kw["beam_size"]))
        kw["length_penalty"] = draw(st.sampled_from(["none", "average", "gnmt"]))
    if method == "sample":
        kw |= {"seed": draw(st.integers(0, 2**16)), "temperature": 2.0}
    else:
        kw["replace_unk"] = draw(st.booleans())
    return sources, kw, draw(st.booleans())


def _same(got, want) -> None:
    """Translations equal but for float rounding of the log-probabilities and weights."""
    assert (got.text, got.tokens, got.src_tokens, got.ended) == (
        want.text, want.tokens, want.src_tokens, want.ended)  # fmt: skip
    np.testing.assert_allclose([got.logprob, got.score], [want.logprob, want.score], rtol=1e-12)
    np.testing.assert_allclose(got.attention, want.attention, rtol=1e-12, atol=1e-15)


@given(decodings())
def test_each_output_is_the_one_its_sentence_gets_alone(case):
    """Sorted into batches of similar length, every source gets the output it gets in a batch
    of its own (batch_size=1; a sample: from its own stream, default_rng([seed, i])), in the
    caller's place; also for an ensemble, n-best lists and replace_unk."""
    sources, kw, ensemble = case
    tr = _translator(ensemble)
    got = tr.translate(sources, **kw)
    assert (tr.unknown, tr.source_tokens) == (sum(s.count("x") for s in sources),
                                              sum(map(len, sources)))  # fmt: skip
    want = tr.translate(sources, **(kw | {"batch_size": 1}))
    assert len(got) == len(want) == len(sources)
    for g, w in zip(got, want, strict=True):
        for a, b in zip(*((g, w) if kw.get("nbest", 1) > 1 else ([g], [w])), strict=True):
            _same(a, b)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_the_numba_backend_decodes_sorted_batches_as_sentences_alone(method):
    backend.use("numba")
    tr = _translator()
    sources = ["1", "3210321", "22", "012301230123", "3", "10"]
    got = tr.translate(sources, method=method, batch_size=4)
    for g, w in zip(got, tr.translate(sources, method=method, batch_size=1), strict=True):
        _same(g, w)


def test_an_error_names_the_callers_index_when_sorting_moves_the_sentence(monkeypatch):
    """ "" is the shortest source and sorts first; "123456", the longest, decodes in the second
    batch of sorted sources, as its second row: errors name each by its place in `sources`."""
    tr = _translator()
    with pytest.raises(ValueError, match=r"sources\[2\] \(sentence 3\) is empty"):
        tr.translate(["123456", "1", "", "12"], batch_size=2)
    lengths = _batch_lengths(tr, monkeypatch)
    real = tr.model.step

    def nan_step(y, state, **kw):  # NaN for the rows of 6-token sources (and their beams)
        logp, state, w = real(y, state, **kw)
        long = np.repeat(np.array(lengths[-1]) == 6, len(y) // len(lengths[-1]))
        logp[long] = np.nan
        return logp, state, w

    monkeypatch.setattr(tr.model, "step", nan_step)
    for method in ("greedy", "beam", "sample"):
        with pytest.raises(ValueError, match=r"sources\[0\] has no hypothesis with a finite"):
            tr.translate(["123456", "1", "12345", "2"], method=method, batch_size=2)
    assert lengths[-1] == [5, 6]  # it was the second row of the second batch

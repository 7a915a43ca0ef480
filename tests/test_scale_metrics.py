"""BLEU and chrF of a large test set, read in chunks: sacrebleu's corpus_bleu and corpus_chrf
hold every reference's n-grams at once (evaluate of 50k lines grew to 2.5 GB, 1.7 GB of it
theirs). The chunked scores must equal the whole-corpus ones (the reference)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import metrics

sacrebleu = pytest.importorskip("sacrebleu")

words = st.sampled_from(["the", "cat", "sat", "a", "mat", ".", "dog", "é", "on"])
line = st.lists(words, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(line, line), min_size=1, max_size=12), st.integers(1, 5))
def test_chunked_bleu_and_chrf_equal_the_whole_corpus_scores(pairs, chunk):
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    for level in ("13a", "char"):
        whole = sacrebleu.corpus_bleu(hyps, [refs], tokenize=level, force=True).score
        assert metrics.bleu(hyps, refs, level, chunk=chunk) == whole
    assert metrics.chrf(hyps, refs, chunk=chunk) == sacrebleu.corpus_chrf(hyps, [refs]).score


def test_references_are_read_a_chunk_at_a_time(monkeypatch):
    seen = []
    real = sacrebleu.metrics.CHRF._extract_corpus_statistics

    def watched(self, hypotheses, references):
        seen.append(len(hypotheses))
        return real(self, hypotheses, references)

    monkeypatch.setattr(sacrebleu.metrics.CHRF, "_extract_corpus_statistics", watched)
    metrics.chrf(["a b"] * 25, ["a c"] * 25, chunk=10)
    assert seen == [10, 10, 5]


def test_chunk_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        metrics.bleu(["a"], ["a"], chunk=0)

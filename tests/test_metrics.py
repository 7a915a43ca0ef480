"""Metrics: hand-computed exact match (overall and by source length) and token accuracy,
padding invariance, guarded perplexity, and BLEU / chrF wired to sacrebleu."""

import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import metrics
from tests.strategies import lengths

PAD, EOS = 0, 2

# -- exact match -----------------------------------------------------------------------------


def test_exact_match_by_hand():
    assert metrics.exact_match(["abc", "ab", "x y"], ["abc", "abd", "x  y"]) == 1 / 3
    assert metrics.exact_match([[4, 5, EOS], (4,)], [(4, 5, EOS), [4, 5]]) == 1 / 2
    assert metrics.exact_match(np.array([[4, 5], [6, 7]]), [[4, 5], [6, 8]]) == 1 / 2
    assert metrics.exact_match([["le", "chat"]], [["le", "chat"]]) == 1.0


@pytest.mark.parametrize("fn", [metrics.exact_match, metrics.token_accuracy])
def test_empty_or_mismatched_input_is_an_error(fn):
    with pytest.raises(ValueError, match="refs is empty"):
        fn([], [])
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        fn([[1], [2]], [[1]])


@pytest.mark.parametrize("fn", [metrics.exact_match, metrics.bleu, metrics.chrf])
def test_one_string_is_not_taken_for_a_list_of_sentences(fn):
    with pytest.raises(ValueError, match="hyps is one string; pass a list, one per sentence"):
        fn("the cat", ["the cat"])
    with pytest.raises(ValueError, match="refs is one string"):
        fn(["the cat"], "the cat")


# -- exact match by source length ------------------------------------------------------------


def test_exact_match_by_length_by_hand():
    lengths = [1, 3, 4, 4, 9, 10]
    hyps = ["a", "b", "c", "d", "e", "f"]
    refs = ["a", "x", "c", "d", "e", "y"]
    Band = metrics.Band
    # width 4: 1..4 holds four sentences (three right); 5..8 none (left out); 9..12 two (one)
    assert metrics.exact_match_by_length(lengths, hyps, refs, 4) == [
        Band(1, 4, 4, 0.75), Band(9, 12, 2, 0.5)
    ]  # fmt: skip
    assert metrics.exact_match_by_length(lengths, hyps, refs, 1) == [
        Band(1, 1, 1, 1.0), Band(3, 3, 1, 0.0), Band(4, 4, 2, 1.0), Band(9, 9, 1, 1.0),
        Band(10, 10, 1, 0.0),
    ]  # fmt: skip
    assert metrics.exact_match_by_length(lengths, hyps, refs, 10) == [Band(1, 10, 6, 4 / 6)]
    # the order of the sentences does not matter, and token sequences are compared as in
    # exact_match; lengths may be a NumPy array
    got = metrics.exact_match_by_length(np.array([12, 2]), [[4, 5], (6,)], [(4, 5), [7]], 10)
    assert got == [Band(1, 10, 1, 0.0), Band(11, 20, 1, 1.0)]
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        metrics.exact_match_by_length([1], ["a", "b"], ["a"], 5)


@given(st.lists(st.tuples(st.integers(1, 30), st.booleans()), min_size=1), st.integers(1, 12))
def test_bands_average_to_the_exact_match(sentences, width):
    lengths = [n for n, _ in sentences]
    hyps = ["x" if right else "y" for _, right in sentences]
    refs = ["x"] * len(sentences)
    bands = metrics.exact_match_by_length(lengths, hyps, refs, width)
    assert sum(b.n for b in bands) == len(sentences)
    total = sum(b.n * b.exact_match for b in bands) / len(sentences)
    assert total == pytest.approx(metrics.exact_match(hyps, refs))
    for b in bands:
        assert b.n > 0 and b.hi - b.lo + 1 == width and (b.lo - 1) % width == 0
        assert b.n == sum(b.lo <= n <= b.hi for n in lengths)


@pytest.mark.parametrize(
    "lengths, width, message",
    [
        ([1, 2], 0, r"width \(source tokens per band\) must be >= 1; got 0"),
        ([1, 2], -3, "must be >= 1; got -3"),
        ([1, 2], 2.5, "must be an integer >= 1; got 2.5"),
        ([1, 2], True, "must be an integer >= 1; got True"),
        ([1], 5, r"src_lengths has shape \(1,\), expected \(N,\) = \(2,\): one per reference"),
        ([1, 0], 5, "src_lengths holds 0; a source has at least one token"),
        ([1.0, 2.0], 5, "src_lengths must be integers"),
    ],
)
def test_exact_match_by_length_bad_input(lengths, width, message):
    with pytest.raises(ValueError, match=message):
        metrics.exact_match_by_length(lengths, ["a", "b"], ["a", "b"], width)


# -- token accuracy --------------------------------------------------------------------------


def test_token_accuracy_by_hand():
    # sentence 1: right, wrong, right EOS, and one extra token past the reference (not counted)
    # sentence 2: the hypothesis stops before the EOS, which counts as wrong
    hyps, refs = [[5, 7, EOS, 9], [5]], [[5, 6, EOS], [5, EOS]]
    assert metrics.token_accuracy(hyps, refs) == 3 / 5
    assert metrics.token_accuracy(hyps[:1], refs[:1]) == 2 / 3
    assert metrics.token_accuracy([[]], [[5, EOS]]) == 0.0


def test_token_accuracy_ignores_padding_in_a_batch():
    refs = np.array([[5, 6, EOS, PAD], [7, EOS, PAD, PAD]])
    hyps = np.array([[5, 6, 3, 4], [7, EOS, PAD, 9]])  # whatever it predicts at padding
    assert metrics.token_accuracy(hyps, refs, pad_id=PAD) == 4 / 5
    assert metrics.token_accuracy(hyps, refs) == 5 / 8  # pad_id None: every position counts
    with pytest.raises(ValueError, match="hold no tokens"):
        metrics.token_accuracy([[1, 2]], [[PAD, PAD]], pad_id=PAD)
    with pytest.raises(ValueError, match=r"hyp_ids\[0\] has shape \(1, 2\), expected \(T,\)"):
        metrics.token_accuracy([[[1, 2]]], [[1, 2]])


@given(st.integers(1, 4), st.integers(1, 5), st.integers(0, 3), st.data())
def test_token_accuracy_padded_equals_ragged(N, T, extra, data):
    """Padding the references (and any hypothesis tokens there) changes nothing."""
    L = data.draw(lengths(N, T))
    r = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    refs = [list(r.integers(3, 6, n)) + [EOS] for n in L]
    hyps = [list(r.integers(2, 6, data.draw(st.integers(0, T + 2)))) for _ in L]
    width = T + 1 + extra
    ref_pad = np.full((N, width), PAD)
    hyp_pad = r.integers(0, 6, (N, width))
    for n in range(N):
        ref_pad[n, : len(refs[n])] = refs[n]
        k = min(len(hyps[n]), len(refs[n]))
        hyp_pad[n, :k] = hyps[n][:k]
        hyp_pad[n, k : len(refs[n])] = PAD  # a too-short hypothesis, padded: still wrong there
    ragged = metrics.token_accuracy(hyps, refs, pad_id=PAD)
    assert metrics.token_accuracy(hyp_pad, ref_pad, pad_id=PAD) == ragged
    correct = sum(
        h[t] == ref[t]
        for h, ref in zip(hyps, refs, strict=True)
        for t in range(min(len(h), len(ref)))
    )
    assert ragged == correct / sum(len(ref) for ref in refs)


# -- perplexity ------------------------------------------------------------------------------


def test_perplexity_by_hand():
    assert metrics.perplexity(0.0, 5) == 1.0
    assert metrics.perplexity(10 * math.log(4.0), 10) == pytest.approx(4.0, rel=1e-14)
    assert metrics.perplexity(np.float64(3 * math.log(2.0)), np.int64(3)) == pytest.approx(2.0)


def test_perplexity_is_inf_only_when_it_must_be():
    big = metrics.perplexity(np.float32(900.0), 10)  # exp(90) overflows float32, not float64
    assert math.isfinite(big) and big == pytest.approx(math.exp(90.0), rel=1e-7)
    edge = math.log(np.finfo(np.float64).max)
    assert math.isfinite(metrics.perplexity(edge, 1))
    assert metrics.perplexity(1000.0, 1) == math.inf  # beyond float64: inf, not OverflowError
    assert metrics.perplexity(math.inf, 4) == math.inf
    assert math.isnan(metrics.perplexity(math.nan, 4))
    with pytest.raises(ValueError, match=r"n_tokens \(a count of tokens\) must be >= 1; got 0"):
        metrics.perplexity(1.0, 0)
    for count in (math.inf, 0.5, 2.0, True):  # 0.5 gave exp(2 nll), inf gave 1
        with pytest.raises(ValueError, match="n_tokens .* must be an integer >= 1"):
            metrics.perplexity(5.0, count)
    with pytest.raises(ValueError, match="total_nll is a sum of -log p >= 0"):
        metrics.perplexity(-1.0, 3)


# -- BLEU and chrF ---------------------------------------------------------------------------

HYPS = ["the cat sat on the mat .", "a dog barked loudly", "hello world"]
REFS = ["the cat sat on a mat .", "the dog barked loudly", "hello , world"]


def test_bleu_and_chrf_are_sacrebleu_corpus_scores():
    sacrebleu = pytest.importorskip("sacrebleu")
    assert metrics.bleu(HYPS, REFS) == sacrebleu.corpus_bleu(HYPS, [REFS]).score
    assert metrics.chrf(HYPS, REFS) == sacrebleu.corpus_chrf(HYPS, [REFS]).score
    assert 0 < metrics.bleu(HYPS, REFS) < 100


def test_bleu_does_not_warn_about_a_word_tasks_spaced_periods(caplog):
    """en-es writes "perro ." (its tokenizer's output): sacrebleu's "forgot to detokenize"
    warning, printed on every evaluation, would tell a learner to fix what is not broken."""
    pytest.importorskip("sacrebleu")
    lines = [f"el perro {i} ve un gato ." for i in range(120)]
    with caplog.at_level("WARNING", logger="sacrebleu"):
        assert metrics.bleu(lines, lines) == pytest.approx(100.0)
    assert caplog.records == []


def test_bleu_and_chrf_by_hand():
    pytest.importorskip("sacrebleu")
    assert metrics.bleu(REFS, REFS) == pytest.approx(100.0)
    assert metrics.chrf(REFS, REFS) == pytest.approx(100.0)
    assert metrics.bleu(["x y z w"], ["a b c d"]) == 0.0


@pytest.mark.parametrize("fn", [metrics.bleu, metrics.chrf])
def test_bleu_and_chrf_bad_input(fn):
    with pytest.raises(ValueError, match="refs is empty"):
        fn([], [])
    with pytest.raises(ValueError, match=r"hyps\[0\] is list; pass detokenized strings"):
        fn([["a", "b"]], ["a b"])


@pytest.mark.parametrize("fn", [metrics.bleu, metrics.chrf])
def test_missing_sacrebleu_says_how_to_install(fn, monkeypatch):
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # makes `import sacrebleu` fail
    with pytest.raises(ImportError, match=r"pip install 'minis2s\[eval\]'"):
        fn(HYPS, REFS)


def test_character_bleu_scores_one_word_outputs():
    """A character-level output is one "word": word BLEU is 0 even when exactly right."""
    hyps, refs = ["3901734", "5543"], ["3901734", "5534"]
    assert metrics.bleu(hyps, refs) == 0.0
    assert 0.0 < metrics.bleu(hyps, refs, tokenize="char") < 100.0
    assert metrics.bleu(refs, refs, tokenize="char") == pytest.approx(100.0)


def test_bleu_names_an_unknown_tokenizer():
    with pytest.raises(ValueError, match="bleu: unknown tokenize 'chars'; sacrebleu's are .*char"):
        metrics.bleu(["a b"], ["a b"], tokenize="chars")


def test_exact_match_of_a_flat_id_list_says_what_it_wants():
    with pytest.raises(ValueError, match="exact_match: an item is int"):
        metrics.exact_match([4, 5], [4, 6])
    with pytest.raises(ValueError, match="exact_match: an item is int64"):
        metrics.exact_match(np.array([4, 5]), np.array([4, 6]))

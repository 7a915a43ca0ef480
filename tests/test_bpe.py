"""Byte-pair encoding: the fast learner against a naive one, hand-worked merges, round trips."""

import doctest
import json
import pickle
import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data import bpe
from minis2s.data.bpe import MARK, bpe_tokenizer, learn_merges, learn_tokenizer, segment
from minis2s.data.tokenize import TOKENIZERS, Tokenizer, get_tokenizer
from minis2s.data.wordpunct import wordpunct_detokenize, wordpunct_tokenize


def naive_learn(word_counts, merges, min_count=2):
    """The reference learner: recount every pair of every word at each step, merge the best.
    Returns the merges and each word's segmentation at the end."""
    words = {w: list(w) for w, c in word_counts.items() if c > 0}
    learned = []
    while len(learned) < merges:
        total = Counter()
        for w, symbols in words.items():
            for a, b in zip(symbols, symbols[1:], strict=False):
                if "@" not in a + b:  # "@" is never merged
                    total[a, b] += word_counts[w]
        if not total:
            break
        best = min(total, key=lambda pair: (-total[pair], pair))  # highest count, then smallest
        if total[best] < min_count:
            break
        learned.append(best)
        words = {w: bpe.merge_pair(symbols, best) for w, symbols in words.items()}
    return learned, words


# Small alphabets, so that pairs repeat and counts tie; "@" now and then, which never merges.
corpora = st.dictionaries(st.text("abc", min_size=1, max_size=8), st.integers(1, 5), max_size=8)
corpora_with_at = st.dictionaries(st.text("aab@", min_size=1, max_size=6), st.integers(1, 5))
merge_limits = st.integers(0, 30)
# The property tests below run 200 examples (not the profile's 15): string work on tiny corpora,
# a fraction of a second each.
min_counts = st.integers(1, 3)
# Text with punctuation, spaces, non-ASCII letters, a combining mark and a joiner that stick to
# "@" ("@\u0301" is one wordpunct word), and the mark itself.
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from([*"aab @.,'-\"é日", "\u0301", "\u200d", "@@"]), max_size=30).map(
        "".join
    ),
)


@settings(max_examples=200)
@given(st.one_of(corpora, corpora_with_at), merge_limits, min_counts)
def test_fast_learner_matches_the_naive_one(word_counts, merges, min_count):
    assert (
        learn_merges(word_counts, merges, min_count)
        == naive_learn(word_counts, merges, min_count)[0]
    )


@settings(max_examples=200)
@given(st.data(), corpora, min_counts)
def test_learning_does_not_depend_on_dict_order(data, word_counts, min_count):
    shuffled = dict(data.draw(st.permutations(list(word_counts.items()))))
    assert learn_merges(shuffled, 30, min_count) == learn_merges(word_counts, 30, min_count)


def test_ties_go_to_the_smallest_pair():
    # "ba" x2 and "ab" x2: (b, a) and (a, b) both occur twice, and ("a", "b") < ("b", "a").
    # Then (b, a) is the only pair left ("ab" is one symbol), still twice.
    assert learn_merges({"ba": 2, "ab": 2}, 5) == [("a", "b"), ("b", "a")]
    # "xyz" x3: (x, y) and (y, z) both 3; (x, y) first, then (xy, z).
    assert learn_merges({"xyz": 3}, 5) == [("x", "y"), ("xy", "z")]
    # Counts weigh: "cd" x3 beats "ab" x2 though ("a", "b") is smaller.
    assert learn_merges({"ab": 2, "cd": 3}, 1) == [("c", "d")]


def test_a_merge_replaces_left_to_right_without_overlap():
    assert bpe.merge_pair(list("aaa"), ("a", "a")) == ["aa", "a"]
    assert bpe.merge_pair(list("aaaa"), ("a", "a")) == ["aa", "aa"]
    # "aaa" x1: (a, a) counts twice (overlaps count), -> "aa a" -> (aa, a) once -> "aaa".
    assert learn_merges({"aaa": 1}, 5, min_count=1) == [("a", "a"), ("aa", "a")]


# low x5, lower x2, newest x6, widest x3 (Sennrich et al.'s example). Pair counts by hand:
# (l,o) 5+2=7, (o,w) 7, (w,e) 2+6=8, (e,r) 2, (n,e) 6, (e,w) 6, (e,s) 6+3=9, (s,t) 9,
# (w,i) 3, (i,d) 3, (d,e) 3.
#  1. (e,s) 9 tied with (s,t) 9: "e" < "s".  newest = n e w es t, widest = w i d es t; now
#     (es,t) 9, (w,e) 8-6=2, (w,es) 6, (d,es) 3.
#  2. (es,t) 9.  (w,est) 6, (d,est) 3.
#  3. (l,o) 7 tied with (o,w) 7: "l" < "o".  low = lo w, lower = lo w e r; (lo,w) 7.
#  4. (lo,w) 7.  Left: (low,e) 2, (e,r) 2, (n,e) 6, (e,w) 6, (w,est) 6, (w,i) 3, (i,d) 3,
#     (d,est) 3.
#  5. (e,w) 6, tied with (n,e) and (w,est): "e" < "n" < "w".  newest = n ew est.
#  6. (ew,est) 6 tied with (n,ew) 6: "ew" < "n".  7. (n,ewest) 6.
#  8. (d,est) 3, tied with (i,d) and (w,i).  widest = w i dest.  9. (i,dest) 3 < (w,i) 3.
# 10. (w,idest) 3.  Left: (low,e) 2, (e,r) 2.  11. (e,r) 2: "e" < "low".  12. (low,er) 2.
SENNRICH = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
SENNRICH_MERGES = [
    ("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w"), ("e", "w"), ("ew", "est"),
    ("n", "ewest"), ("d", "est"), ("i", "dest"), ("w", "idest"), ("e", "r"), ("low", "er"),
]  # fmt: skip


def test_hand_worked_example():
    assert learn_merges(SENNRICH, 100) == SENNRICH_MERGES  # 12: then no pair is left
    texts = ["low"] * 5 + ["lower lower"] + ["newest"] * 6 + ["widest, widest, widest"]
    tok = learn_tokenizer(texts, 4)  # the same counts as sentences (and "," x3, alone)
    assert tok.merges == tuple(SENNRICH_MERGES[:4])
    assert tok.tokenize("lowest newer") == ["low@@", "est", "n@@", "e@@", "w@@", "e@@", "r"]


def test_early_stop_by_min_count():
    assert learn_merges(SENNRICH, 100, min_count=3) == SENNRICH_MERGES[:10]  # (e, r) is 2
    assert learn_merges(SENNRICH, 100, min_count=9) == SENNRICH_MERGES[:2]  # (l, o) is 7
    assert learn_merges(SENNRICH, 100, min_count=10) == []
    assert learn_merges({"ab": 1}, 5) == [] and learn_merges({"ab": 1}, 5, min_count=1) == [
        ("a", "b")
    ]


def test_zero_merges_split_words_into_characters():
    assert learn_merges(SENNRICH, 0, min_count=1) == []
    tok = learn_tokenizer(["low lower"] * 9, 0)
    assert tok.merges == ()
    assert tok.tokenize("Hi, lé!") == ["H@@", "i", ",", "l@@", "é", "!"]


@settings(max_examples=200)
@given(st.one_of(corpora, corpora_with_at), merge_limits, min_counts)
def test_segment_gives_each_training_word_the_learners_pieces(word_counts, merges, min_count):
    learned, segmentations = naive_learn(word_counts, merges, min_count)
    ranks = {pair: rank for rank, pair in enumerate(learned)}
    for word, pieces in segmentations.items():
        assert segment(word, ranks) == pieces


@settings(max_examples=200)
@given(texts, texts, merge_limits)
def test_segment_spells_the_word(corpus, text, merges):
    ranks = {pair: r for r, pair in enumerate(learn_tokenizer([corpus, text], merges, 1).merges)}
    for word in [*wordpunct_tokenize(text), text]:
        assert "".join(segment(word, ranks)) == word


def glue(tokens):
    """Each word of the tokens: the pieces up to one without the mark, marks removed."""
    words, word = [], ""
    for t in tokens:
        word += t.removesuffix(MARK)
        if not t.endswith(MARK):
            words.append(word)
            word = ""
    assert word == ""  # tokenize never ends on a marked piece
    return words


@settings(max_examples=200)
@given(texts, texts, st.integers(0, 30))
def test_tokenize_splits_wordpunct_words_into_pieces(corpus, text, merges):
    words = wordpunct_tokenize(unicodedata.normalize("NFC", text))  # as the tokenizer reads it
    for tok in (bpe_tokenizer([]), learn_tokenizer([corpus, text], merges, min_count=1)):
        tokens = tok.tokenize(text)
        assert all(t and t != MARK for t in tokens)
        assert glue(tokens) == words
        assert tok.detokenize(tokens) == wordpunct_detokenize(words)


def test_at_sign_is_never_merged():
    """wordpunct keeps a combining mark or a joiner with the "@" before it ("@\u0301" is one
    word); a merge with "@" would make the mark ambiguous, so the learner never makes one."""
    text = "@\u0301 x\u200d@ @\u0301@ a@@b"
    tok = learn_tokenizer([text] * 5, 50)
    assert tok.merges and all("@" not in a + b for a, b in tok.merges)
    assert tok.tokenize("@\u0301") == ["@@@", "\u0301"]  # "@" marked
    assert tok.detokenize(tok.tokenize(text)) == wordpunct_detokenize(wordpunct_tokenize(text))


pieces = st.sampled_from(["a", "a@@", MARK, "", "@", "@@@", ".", "(", '"', "'", "-", "\u0301"])


@settings(max_examples=200)
@given(st.lists(st.one_of(pieces, st.text(), st.text().map(lambda t: t + MARK))))
def test_detokenize_accepts_any_tokens(tokens):
    assert isinstance(bpe.bpe_detokenize(tokens), str)


def test_detokenize_edge_cases():
    tok = bpe_tokenizer([])
    assert tok.detokenize([]) == ""
    assert tok.detokenize(["lo@@"]) == "lo"  # a marked piece at the end ends its word
    assert tok.detokenize(["lo@@", "w", ",", "@@", "he@@", "@@", "y@@"]) == "low, hey"
    assert tok.detokenize(["a", "@@@", "b", "@"]) == "a @b @"


def test_tokenize_cache_hands_out_copies():
    tok = bpe_tokenizer([("l", "o")])
    first = tok.tokenize("low")
    first[0] = "changed"
    assert tok.tokenize("low low") == ["lo@@", "w", "lo@@", "w"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: learn_merges(SENNRICH, -1), "learn_merges: merges must be >= 0"),
        (lambda: learn_merges(SENNRICH, 2.0), "merges must be an integer >= 0"),
        (lambda: learn_merges(SENNRICH, True), "merges must be an integer >= 0"),
        (lambda: learn_merges(SENNRICH, 5, min_count=0), "min_count must be >= 1"),
        (lambda: learn_merges({"ab": -1}, 5), "the count of 'ab' must be >= 0"),
        (lambda: learn_merges({3: 1}, 5), "words must be strings"),
        (lambda: learn_tokenizer("low lower", 5), "a list of sentences, not one string"),
        (lambda: learn_tokenizer(["a"], "5"), "merges must be an integer"),
        (  # (source, target) pairs, as load_data gives them, rather than their sentences
            lambda: learn_tokenizer([("low", "lower")], 5),
            r"texts\[0\] is tuple \('low', 'lower'\); give sentences \(strings\): for pairs, ",
        ),
        (lambda: learn_tokenizer(["a", None], 5), r"texts\[1\] is NoneType None"),
        (lambda: bpe_tokenizer("ab"), "merges must be a list of pairs"),
        (lambda: bpe_tokenizer(None), "merges must be a list of pairs"),
        (lambda: bpe_tokenizer([("a",)]), r"merge 0 must be a pair of two non-empty strings"),
        (lambda: bpe_tokenizer([("a", "b", "c")]), "merge 0 must be a pair"),
        (lambda: bpe_tokenizer([("a", "b"), ("", "b")]), "merge 1 must be a pair"),
        (lambda: bpe_tokenizer([("a", 1)]), "merge 0 must be a pair"),
        (lambda: bpe_tokenizer(["ab"]), "merge 0 must be a pair"),
        (lambda: bpe_tokenizer([("lo@@", "w")]), r"merge 0 \('lo@@', 'w'\) contains '@'"),
        (lambda: bpe_tokenizer([("a", "b@@")]), "contains '@'"),
        (lambda: bpe_tokenizer([["x@", "y"]]), "contains '@'"),
    ],
)
def test_bad_arguments_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_list_pairs_are_accepted():
    tok = bpe_tokenizer([["l", "o"], ("lo", "w")])
    assert tok.merges == (("l", "o"), ("lo", "w"))
    assert tok.tokenize("lower") == ["low@@", "e@@", "r"]


def test_tokenizer_fields_and_json_round_trip():
    tok = learn_tokenizer(["low lower lowest newest widest, wider!"] * 3, 10)
    assert tok.name == "bpe"
    assert isinstance(tok.merges, tuple) and len(tok.merges) == 10
    assert all(type(m) is tuple and len(m) == 2 for m in tok.merges)
    again = bpe_tokenizer(json.loads(json.dumps(list(tok.merges))))
    assert again.merges == tok.merges
    text = "The lowest, newer widest lows!"
    assert again.tokenize(text) == tok.tokenize(text)


def test_a_tokenizer_pickles_and_compares_by_what_makes_it():
    """A learned tokenizer's functions are closures, which pickle refused (multiprocessing and
    joblib pickle what they are given); it pickles as its merges now, and two of the same merges
    are equal. Built-in tokenizers come back as themselves, and one a user made as its fields."""
    tok = learn_tokenizer(["low lower lowest newest widest, wider!"] * 3, 10)
    again = pickle.loads(pickle.dumps(tok))
    assert again == tok and hash(again) == hash(tok) and not again != tok
    text = "The lowest, newer widest lows!"
    assert again.tokenize(text) == tok.tokenize(text) and again.detokenize is tok.detokenize
    assert bpe_tokenizer(tok.merges) == tok and bpe_tokenizer(tok.merges[:-1]) != tok
    for name in TOKENIZERS:
        assert pickle.loads(pickle.dumps(get_tokenizer(name))) is get_tokenizer(name)
        assert get_tokenizer(name) != tok
    mine = Tokenizer("lower", str.split, " ".join)  # made by a user, of picklable functions
    assert pickle.loads(pickle.dumps(mine)) == mine
    # equal objects hash alike: the tuple of a bpe tokenizer's fields hashes as a tuple
    for a, b in ((tok, tuple(tok)), (tuple(tok), tok), (mine, tuple(mine))):
        assert (a == b) is (hash(a) == hash(b)) and (a != b) is not (a == b)


def test_the_module_examples_are_true():
    result = doctest.testmod(bpe)
    assert result.attempted >= 4 and result.failed == 0


def test_the_tokenize_cache_keeps_the_latest_words_only(monkeypatch):
    """A translate session reading many distinct words must not keep them all (bpe.CACHED)."""
    monkeypatch.setattr(bpe, "CACHED", 2)
    tok = bpe_tokenizer([("l", "o")])
    assert tok.tokenize("low lot lob low") == ["lo@@", "w", "lo@@", "t", "lo@@", "b", "lo@@", "w"]
    cells = [c.cell_contents for c in tok.split.__closure__]
    (marked_pieces,) = [f for f in cells if hasattr(f, "cache_info")]
    assert marked_pieces.cache_info().currsize == 2


def test_whole_words_is_the_share_of_words_left_in_one_piece():
    tok = bpe_tokenizer([("l", "o"), ("lo", "w")])
    assert bpe.whole_words(tok, ["low lower", "low ."]) == 3 / 4  # low, low and "." are whole
    assert bpe.whole_words(tok, []) == 0.0 and bpe.whole_words(tok, [" "]) == 0.0
    assert bpe.whole_words(bpe_tokenizer([]), ["a bc"]) == 1 / 2

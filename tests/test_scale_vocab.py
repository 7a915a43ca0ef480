"""Building vocabularies and encoding a large corpus: counted as a stream (no token list of the
whole corpus held at once), and results identical to the simple reference (Vocab.build over
the token lists, count_unknown per sentence)."""

import weakref
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data import loading
from minis2s.data import vocab as vocab_module
from minis2s.data.batching import encode_pairs
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import SPECIALS, UNK_ID, Vocab

# tokens that may repeat (a small alphabet) and specials spelled in the text
tokens = st.sampled_from(["a", "b", "c", "dd", "é", "<s>", "<unk>", "</s>", "<pad>", "x y"])
seqs = st.lists(st.lists(tokens, max_size=6), max_size=8)
sentence = st.lists(tokens, min_size=1, max_size=5)


@settings(max_examples=30, deadline=None)
@given(seqs, st.integers(1, 3), st.none() | st.integers(4, 8))
def test_from_counts_is_build_of_the_same_counts(token_seqs, min_freq, max_size):
    counts = Counter(t for seq in token_seqs for t in seq)
    fast = Vocab.from_counts(counts, min_freq, max_size)
    assert fast == Vocab.build(token_seqs, min_freq, max_size)


def test_from_counts_checks_its_options_as_build_does():
    with pytest.raises(ValueError, match="max_size must be >= 4"):
        Vocab.from_counts(Counter("ab"), 1, 3)
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.from_counts(Counter("ab"), 0, None)


@settings(max_examples=30, deadline=None)
@given(st.lists(tokens, max_size=12), st.lists(st.sampled_from(["a", "b", "zz"]), max_size=5))
def test_encode_and_its_unknowns_equal_the_reference(text_tokens, known):
    v = Vocab(dict.fromkeys(known))
    reference = [UNK_ID if t in SPECIALS else v.id_of(t) for t in text_tokens]
    assert v.encode(text_tokens) == reference
    assert v.encode(text_tokens).count(UNK_ID) == v.count_unknown(text_tokens)


def _pairs(n):
    words = ["the", "cat", "sat", "on", "mat", "<s>", "dog", "a"]
    return [
        (" ".join(words[(i + k) % 8] for k in range(1 + i % 5)),
         " ".join(words[(i * 3 + k) % 7] for k in range(2 + i % 3)))
        for i in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("share", [False, True])
@pytest.mark.parametrize("min_freq,max_vocab", [(1, None), (2, None), (1, 7)])
def test_vocabularies_equal_build_over_the_token_lists(share, min_freq, max_vocab):
    train = _pairs(40)
    tok = get_tokenizer("word")
    src = [tok.tokenize(s) for s, _ in train]
    tgt = [tok.tokenize(t) for _, t in train]
    got = loading._vocabularies(train, "word", 0, min_freq, max_vocab, share)
    if share:
        shared = Vocab.build(src + tgt, min_freq, max_vocab)
        assert got == (shared, shared)
    else:
        assert got == (Vocab.build(src, min_freq, max_vocab), Vocab.build(tgt, min_freq, max_vocab))


class _Tokens(list):
    """A token list that can be watched (weakref) to count how many are alive at once."""


def test_vocabularies_hold_a_few_token_lists_at_a_time_not_the_corpus():
    alive, most = [0], [0]

    def split(text):
        tokens = _Tokens(text.split())
        alive[0] += 1
        weakref.finalize(tokens, lambda: alive.__setitem__(0, alive[0] - 1))
        most[0] = max(most[0], alive[0])
        return tokens

    tok = Tokenizer("watched", split, " ".join)
    train = _pairs(200)
    src_vocab, tgt_vocab = loading._vocabularies(train, tok, 0, 1, None)
    assert most[0] <= 4  # the old code held all 400 (one per sentence) until the vocab was built
    assert "cat" in src_vocab and "cat" in tgt_vocab


def test_a_side_left_without_tokens_is_still_refused():
    train = [("a b", "c d"), ("a e", "c f")]
    with pytest.raises(ValueError, match="^min_freq=3 leaves the source vocabulary no token"):
        loading._vocabularies(train, "word", 0, 3, None)
    with pytest.raises(ValueError, match="keeps none of the (source|target) tokens"):
        loading._vocabularies([("a a a", "b")], "word", 0, 2, None, True)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(sentence, sentence), min_size=1, max_size=6))
def test_encode_pairs_counts_unknowns_as_count_unknown_does(token_pairs):
    pairs = [(" ".join(s), " ".join(t)) for s, t in token_pairs]
    tok = get_tokenizer("word")
    v = Vocab(["a", "b", "é"])
    examples, n_unknown = encode_pairs(pairs, v, v, "word")
    reference = sum(v.count_unknown(tok.tokenize(x)) for pair in pairs for x in pair)
    assert n_unknown == reference
    assert examples == [(v.encode(tok.tokenize(s)), v.encode(tok.tokenize(t))) for s, t in pairs]


def _outcome(f, *args):
    try:
        return f(*args)
    except ValueError as e:
        return ("ValueError", str(e))


ids_lists = st.lists(st.integers(-2, 9), max_size=10)


@settings(max_examples=30, deadline=None)
@given(ids_lists, st.booleans(), st.sampled_from(["list", "int64", "int32", "uint8"]))
def test_decode_equals_the_id_by_id_reference(ids, strip, kind):
    """decode's one-pass path for ints (a decoder's output) gives what the reference, which
    checks each id in turn, gives: the tokens, or the same error for the first bad id."""
    v = Vocab(["a", "b", "c"])  # ids 0..6: 7, 8, 9 and the negative ones are out of range
    given_ids = ids if kind == "list" else np.array([i % 256 for i in ids], dtype=kind)
    reference_ids = ids if kind == "list" else given_ids.tolist()
    assert _outcome(v.decode, given_ids, strip) == _outcome(v.decode_each, reference_ids, strip)


def test_decode_of_a_decoders_ids_checks_no_id_one_at_a_time(monkeypatch):
    """A translate of 50k lines decoded 3M ids, each checked twice by validate.integer: a fifth
    of its time beside a small model's. Ids that are all ints are checked as one list."""
    calls = []
    monkeypatch.setattr(vocab_module.validate, "integer", lambda *a: calls.append(a))
    v = Vocab(["a", "b"])
    assert v.decode([1, 4, 5, 4, 2, 5]) == ["a", "b", "a"]
    assert v.decode(np.array([4, 5])) == ["a", "b"]
    assert calls == []


def test_decode_still_refuses_what_is_not_an_id():
    v = Vocab(["a"])
    for ids in ([4, 1.5], [4, True], np.array([4.0])):
        with pytest.raises(ValueError, match="an id must be an integer"):
            v.decode(ids)
    with pytest.raises(ValueError, match="id 9 is out of range"):
        v.decode([4, 9, 2])
    assert v.decode([4, 2, 9]) == ["a"]  # after EOS nothing is read, as before

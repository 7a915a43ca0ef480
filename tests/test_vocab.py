"""Vocabulary and tokenizers: fixed specials, deterministic ids, round trips, safe save/load."""

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data import tokenize, vocab
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocab

# Tokens that are not special strings; text with any Unicode, including non-ASCII letters.
words = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=5).filter(
    lambda t: t not in vocab.SPECIALS
)
sentences = st.lists(st.lists(words, max_size=6), max_size=6)


def test_specials_have_fixed_ids():
    v = Vocab.build([["x"]])
    assert v.tokens[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (PAD_ID, BOS_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    assert [v.id_of(t) for t in ("<pad>", "<s>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert len(Vocab()) == 4


def test_build_orders_by_frequency_then_token():
    v = Vocab.build([["c", "b", "a", "b"], ["c", "d", "<s>"]])
    assert v.tokens[4:] == ["b", "c", "a", "d"]  # b, c twice; a, d once; "<s>" keeps id 1


def test_build_min_freq_and_max_size():
    seqs = [list("aaabbc")]
    assert Vocab.build(seqs, min_freq=2).tokens[4:] == ["a", "b"]
    assert Vocab.build(seqs, max_size=5).tokens == ["<pad>", "<s>", "</s>", "<unk>", "a"]
    assert len(Vocab.build(seqs, max_size=4)) == 4
    with pytest.raises(ValueError, match="max_size must be >= 4"):
        Vocab.build(seqs, max_size=3)
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(seqs, min_freq=0)


@given(sentences)
def test_build_does_not_depend_on_sentence_order(seqs):
    assert Vocab.build(seqs) == Vocab.build(seqs[::-1])


@given(sentences)
def test_encode_decode_round_trip(seqs):
    v = Vocab.build(seqs)
    for s in seqs:
        ids = v.encode(s)
        assert all(i >= 4 for i in ids)
        assert v.decode(ids) == s
        assert v.decode([BOS_ID] + ids + [EOS_ID, PAD_ID, PAD_ID]) == s
        assert v.count_unknown(s) == 0


def test_unknown_tokens():
    v = Vocab.build([["a", "b"]])
    assert v.encode(["a", "zz", "b", "q"]) == [v.id_of("a"), UNK_ID, v.id_of("b"), UNK_ID]
    assert v.count_unknown(["a", "zz", "b", "q"]) == 2
    assert "zz" not in v and "a" in v


def test_decode_stops_at_eos_and_drops_pad_bos():
    v = Vocab(["a", "b"])  # a = 4, b = 5
    assert v.decode([1, 4, 0, 5, 3, 2, 4, 5]) == ["a", "b", "<unk>"]
    assert v.decode([1, 4, 2, 5], strip_special=False) == ["<s>", "a", "</s>", "b"]
    assert v.decode([]) == []
    with pytest.raises(ValueError, match="id 6 is out of range.*0..5"):
        v.decode([4, 6])


def test_equality_and_constructor_checks():
    assert Vocab(["a", "b"]) == Vocab(["a", "b"])
    assert Vocab(["a", "b"]) != Vocab(["b", "a"])
    assert Vocab(["a"]) != ["<pad>", "<s>", "</s>", "<unk>", "a"]
    with pytest.raises(ValueError, match="appears twice"):
        Vocab(["a", "a"])
    with pytest.raises(ValueError, match="appears twice"):
        Vocab(["<unk>"])


@given(sentences)
def test_dict_round_trip(seqs):
    v = Vocab.build(seqs)
    d = json.loads(json.dumps(v.to_dict()))
    assert Vocab.from_dict(d) == v


def test_save_load_round_trip_utf8(tmp_path):
    v = Vocab.build([["é", "日本", "a b", "\t"]])
    path = tmp_path / "vocab.json"
    v.save(path)
    assert Vocab.load(path) == v
    assert "日本" in path.read_text(encoding="utf-8")  # real UTF-8, not \\u escapes
    assert os.listdir(tmp_path) == ["vocab.json"]  # no temp file left behind


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    Vocab(["old"]).save(path)

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(vocab.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        Vocab(["new"]).save(path)
    monkeypatch.undo()
    assert Vocab.load(path) == Vocab(["old"])
    assert os.listdir(tmp_path) == ["vocab.json"]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"format": "other", "version": 1, "tokens": []}',
        b'{"format": "minis2s.vocab", "version": 2, "tokens": ["<pad>", "<s>", "</s>", "<unk>"]}',
        b'{"format": "minis2s.vocab", "version": 1, "tokens": ["<s>", "<pad>", "</s>", "<unk>"]}',
        b'{"format": "minis2s.vocab", "version": 1, "tokens": ["<pad>", "<s>", "</s>", "<unk>", '
        b'"a", "a"]}',
        b'{"format": "minis2s.vocab", "version": 1, "tokens": ["<pad>", "<s>", "</s>", "<unk>", '
        b"7]}",
        b"[1, 2]",
        b"\xff\xfe",
    ],
)
def test_load_malformed_file_names_it(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.json: cannot read vocabulary"):
        Vocab.load(path)


# tokenizers ------------------------------------------------------------------------------


@given(st.text())
def test_char_tokenizer_round_trip(text):
    tok = get_tokenizer("char")
    tokens = tok.tokenize(text)
    assert len(tokens) == len(text)
    assert tok.detokenize(tokens) == text


def test_char_tokenizer_keeps_spaces():
    assert get_tokenizer("char").tokenize("a b") == ["a", " ", "b"]


@given(st.text())
def test_word_tokenizer_round_trip(text):
    tok = get_tokenizer("word")
    tokens = tok.tokenize(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert tok.detokenize(tokens) == " ".join(text.split())
    assert tok.tokenize(tok.detokenize(tokens)) == tokens


def test_word_tokenizer_splits_on_whitespace_runs():
    assert get_tokenizer("word").tokenize("  the  cat\tsat\n") == ["the", "cat", "sat"]


def test_unknown_tokenizer_lists_names():
    with pytest.raises(ValueError, match="unknown tokenizer 'bpe'; choose one of: char, word"):
        get_tokenizer("bpe")
    tok = tokenize.TOKENIZERS["word"]
    assert get_tokenizer(tok) is tok


def test_text_that_spells_a_special_token_is_unknown():
    """A word "</s>" in a sentence is not the end of it: encoded as its special id it stopped
    the target mid-sentence (EOS), padded a real position (PAD) or was dropped from the loss."""
    v = Vocab.build([["the", "<s>", "tag", "</s>", "<pad>", "<unk>"]])
    assert v.tokens == list(SPECIALS) + ["tag", "the"]
    assert v.encode(["the", "<pad>", "<s>", "</s>", "<unk>", "tag"]) == [5, 3, 3, 3, 3, 4]
    assert v.count_unknown(["the", "<pad>", "</s>", "x"]) == 3


@pytest.mark.parametrize("kw", [dict(min_freq=2.5), dict(max_size=5.5), dict(min_freq=True)])
def test_build_wants_integer_counts(kw):
    with pytest.raises(ValueError, match="Vocab.build: (min_freq|max_size) must be an integer"):
        Vocab.build([["a", "b"]], **kw)

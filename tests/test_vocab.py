"""Vocabulary and tokenizers: fixed specials, deterministic ids, round trips, safe save/load."""

import doctest
import json
import os
import unicodedata

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minis2s.data import tokenize, vocab, wordpunct
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
    """Up to Unicode normalisation: the text comes back in NFC (tests/test_normalization.py)."""
    tok = get_tokenizer("char")
    tokens = tok.tokenize(text)
    assert len(tokens) == len(unicodedata.normalize("NFC", text))
    assert tok.detokenize(tokens) == unicodedata.normalize("NFC", text)


def test_char_tokenizer_keeps_spaces():
    assert get_tokenizer("char").tokenize("a b") == ["a", " ", "b"]


@given(st.text())
def test_word_tokenizer_round_trip(text):
    tok = get_tokenizer("word")
    tokens = tok.tokenize(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert tok.detokenize(tokens) == " ".join(unicodedata.normalize("NFC", text).split())
    assert tok.tokenize(tok.detokenize(tokens)) == tokens


def test_word_tokenizer_splits_on_whitespace_runs():
    assert get_tokenizer("word").tokenize("  the  cat\tsat\n") == ["the", "cat", "sat"]


def test_unknown_tokenizer_lists_names():
    with pytest.raises(
        ValueError, match="unknown tokenizer 'sentencepiece'; choose one of: char, word, wordpunct"
    ):
        get_tokenizer("sentencepiece")
    with pytest.raises(ValueError, match="bpe tokenizer is learned from a corpus.*learn_tokenizer"):
        get_tokenizer("bpe")
    tok = tokenize.TOKENIZERS["word"]
    assert get_tokenizer(tok) is tok


def test_the_module_examples_are_true():
    """The examples in tokenize.py's and wordpunct.py's docstrings, run as doctests."""
    result = doctest.testmod(tokenize)
    assert result.attempted >= 6 and result.failed == 0
    result = doctest.testmod(wordpunct)
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Go.", ["Go", "."]),  # "Go.", "Go!" and "Go" share the word "Go"
        ("Go!", ["Go", "!"]),
        ("¿Dónde?", ["¿", "Dónde", "?"]),
        ("3.5 1,000 10:30", ["3.5", "1,000", "10:30"]),  # a number keeps its separators
        ("¿Dónde? It's 3.5 km.", "¿ Dónde ? It ' s 3.5 km .".split()),  # the README's
        ("in 3. Then 4.", ["in", "3", ".", "Then", "4", "."]),  # a full stop is not one
        ("Wait...?!", ["Wait", ".", ".", ".", "?", "!"]),  # one mark per token
        ("don't l'homme well-known", ["don", "'", "t", "l", "'", "homme", "well", "-", "known"]),
        ("e\u0301le\u0300ve", ["e\u0301le\u0300ve"]),  # decomposed accents stay in the word
        ("हिन्दी में", ["हिन्दी", "में"]),  # so do Hindi's vowel signs and virama
        ("I \u2764\ufe0f it", ["I", "\u2764\ufe0f", "it"]),  # an emoji and its variation selector
        ("1\ufe0f\u20e3 \u2764\ufe0fok", ["1\ufe0f\u20e3", "\u2764\ufe0f", "ok"]),  # keycap
        ("من می\u200cخواهم.", ["من", "می\u200cخواهم", "."]),  # Persian's ZWNJ inside a word
        ("\U0001f44d\U0001f3fd ok", ["\U0001f44d\U0001f3fd", "ok"]),  # an emoji's skin tone
        (
            "\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea\U0001f1ee!",  # two flags, and one letter left
            ["\U0001f1eb\U0001f1f7", "\U0001f1e9\U0001f1ea", "\U0001f1ee", "!"],
        ),
        ("\U0001f469\U0001f3fd\u200d\U0001f4bb!", ["\U0001f469\U0001f3fd\u200d\U0001f4bb", "!"]),
        (
            "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f.",
            ["\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "."],
        ),  # a tag flag
        (
            "\U0001f468\u200d\U0001f469\u200d\U0001f467!",
            ["\U0001f468\u200d\U0001f469\u200d\U0001f467", "!"],
        ),
        ("snake_case x2 \t\n", ["snake_case", "x2"]),
        (" \t\n", []),
    ],
)
def test_wordpunct_tokenize(text, tokens):
    """The rule on text as written (split); tokenize puts the text in NFC first."""
    tok = get_tokenizer("wordpunct")
    assert tok.split(text) == tokens
    assert tok.tokenize(text) == [unicodedata.normalize("NFC", t) for t in tokens]


@pytest.mark.parametrize(
    "text",
    [
        "Hello, world! Don't go.",
        "¿Dónde está? Está aquí.",
        "It costs 3.5 euros (roughly).",
        'He said, "Hi." Then he left.',
        "Wait... what?! [sic] 50% off: a well-known l'homme.",
        "«Va!», dit-il.",  # French words, English spacing
        "It costs $5, or €3.50 (5 € in France).",  # a currency sign opens before a number
        "I \u2764\ufe0f it.",
        "你好，世界。他说「你好」。",  # no spaces around full-width punctuation
        "मैं ठीक हूँ। तुम?",  # the danda closes
        "مرحبا، كيف حالك؟",  # so do Arabic's comma and question mark
        "من می\u200cخواهم بروم.",  # a ZWNJ stays inside its word
        "A family: \U0001f468\u200d\U0001f469\u200d\U0001f467.",  # ZWJs inside an emoji
        "Well done \U0001f44d\U0001f3fd!",  # a skin tone stays with its emoji
        "From \U0001f1eb\U0001f1f7 to \U0001f1e9\U0001f1ea.",  # flags
        "- Buy milk",  # a leading hyphen (a list item) is not between two words
    ],
)
def test_wordpunct_inverts_on_normally_spaced_english_text(text):
    tok = get_tokenizer("wordpunct")
    assert tok.detokenize(tok.tokenize(text)) == text


@pytest.mark.parametrize(
    "text, english",
    [
        ("Va !", "Va!"),  # French spaces before ! ? ; : and inside « »
        ("« Qu'est-ce que c'est ? »", "«Qu'est-ce que c'est?»"),
        ("the students' books", "the students'books"),  # an apostrophe between words joins
        ("a  b\tc\n", "a b c"),
    ],
)
def test_wordpunct_detokenize_follows_english_spacing(text, english):
    tok = get_tokenizer("wordpunct")
    assert tok.detokenize(tok.tokenize(text)) == english


# Text over the characters the rules name (the regex's number separators, CLOSING, OPENING,
# JOINERS, QUOTE, JOIN_CONTROLS, an emoji modifier, tags, regional indicators), word characters
# (accented, decomposed, Devanagari with its vowel sign), digits, spaces and other symbols; and
# over a few of them, so that numbers next to separators and marks or joiner controls next to
# punctuation come up often.
rule_chars = sorted(
    wordpunct.CLOSING
    | wordpunct.OPENING
    | wordpunct.UNSPACED
    | wordpunct.JOINERS
    | {wordpunct.QUOTE}
)
all_rules = st.text(st.sampled_from(
    [*"aZé_07 \t\n/&*$€", "\u0301", "ह", "ि", "्", "❤", "\ufe0f", "\u20e3", "\u200c", "\u200d",
     "\U0001f3fd", "\U000e0067", "\U000e007f", "\U0001f1eb", "\U0001f1f7", *rule_chars]
))  # fmt: skip
the_tricky_ones = st.lists(
    st.tuples(
        st.sampled_from(
            [*"a07.,:'-\"($，", "\u0301", "\ufe0f", "\u200c", "\u200d", "\U0001f3fd", "\U0001f1eb"]
        ),
        st.sampled_from(["", " "]),
    )
).map(lambda pieces: "".join(piece + space for piece, space in pieces))


@settings(max_examples=300)  # string work only: 300 examples take a fraction of a second
@given(st.one_of(all_rules, the_tricky_ones, st.text()))
@example("a\u0301")  # á decomposed: tokens are of the NFC text
def test_wordpunct_round_trip(text):
    """Tokenize drops whitespace only (of the text in NFC, which tokenize puts it in), and
    detokenize gives back a text of the same tokens."""
    tok = get_tokenizer("wordpunct")
    tokens = tok.tokenize(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert "".join(tokens) == "".join(tokenize.normalize("NFC", text).split())
    assert tok.tokenize(tok.detokenize(tokens)) == tokens


@pytest.mark.parametrize("text", ["0 .7", "0. 7", "1 ,000", "10: 30", "( \u0301", '" \u0301',
                                  "a ' \u0301", "\u0301 a", "x3.5", "3.5x", "ह ि", "$ \u0301",
                                  "\u2764\ufe0f a", "( \ufe0fa", "， \u0301", "$ 5", "a\u200d .",
                                  "( \u200da", "a \u200cb"])  # fmt: skip
def test_wordpunct_detokenize_does_not_glue_tokens_into_others(text):
    """The spaces it leaves out never make two tokens one (a number, a mark and its word)."""
    tok = get_tokenizer("wordpunct")
    tokens = tok.tokenize(text)
    assert tok.tokenize(tok.detokenize(tokens)) == tokens


def test_word_tokenizer_is_unchanged():
    """Old checkpoints record "word": it must keep splitting on whitespace alone."""
    assert get_tokenizer("word").tokenize("Go. Va !") == ["Go.", "Va", "!"]


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


def test_save_gives_the_file_the_usual_permissions(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permission bits")
    umask = os.umask(0o022)
    try:
        Vocab(["a"]).save(tmp_path / "v.json")
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "v.json").st_mode & 0o777 == 0o644


def test_encode_refuses_ids_and_decode_refuses_ids_that_are_not_integers():
    """encode([4, 5]) used to give [UNK, UNK], decode([1.5]) the token of int(1.5) = 1 (<s>,
    dropped: an empty output), and decode of a (1, T) batch a NumPy TypeError."""
    v = Vocab(["a", "b"])
    with pytest.raises(ValueError, match="Vocab.encode: tokens must be strings; got 4"):
        v.encode([4, 5])
    with pytest.raises(ValueError, match="got None"):
        v.encode(["a", None])
    for ids in ([1.5], [4.0], [True]):
        with pytest.raises(ValueError, match=r"Vocab.decode: an id must be an integer; got"):
            v.decode(ids)
    with pytest.raises(ValueError, match=r"ids must be one sequence \(T,\); got shape \(1, 2\)"):
        v.decode(np.array([[4, 5]]))
    with pytest.raises(ValueError, match="Vocab: an id must be an integer; got 4.5"):
        v.token_of(4.5)
    assert v.decode(np.array([4, 5, 2, 4])) == ["a", "b"]  # NumPy integers are ids
    assert v.encode(["a", "z"]) == [4, 3]  # an unknown string is <unk>, as before

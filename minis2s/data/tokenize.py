"""Tokenizers by name: split a string into tokens, and join tokens back into a string.

Text is put in Unicode normal form C (NFC) before it is split: "é" can be written as one code
point (U+00E9, NFC) or as "e" + U+0301 (NFD, as macOS file names and some PDFs and web pages
write it), and both must be the same tokens, or a model trained on one form reads every accented
word of the other as <unk>. NFC, not NFKC: NFKC would also fold "ﬁ" into "fi", "x²" into "x2"
and a full-width "Ａ" into "A", which changes what the text says. Runs saved before this read
text as written (a Tokenizer with form=None), so that they go on as they were trained.
In what follows, s is in NFC (each tokenizer's tokenize(s) == tokenize(NFC(s))).

"char"       every character is a token, spaces included:   "ab c" -> ["a", "b", " ", "c"]
             detokenize("".join) inverts it: detokenize(tokenize(s)) == s (for any text t,
             detokenize(tokenize(t)) == unicodedata.normalize("NFC", t)).
"word"       split on runs of whitespace:                   " ab  c " -> ["ab", "c"]
             detokenize joins with one space, so it inverts tokenize up to whitespace:
             detokenize(tokenize(s)) == " ".join(s.split()), and
             tokenize(detokenize(tokens)) == tokens for non-empty tokens without whitespace.
"wordpunct"  words, numbers and single punctuation marks:   "Go." -> ["Go", "."]
             so "Go", "Go." and "Go!" share the token "Go". detokenize puts spaces back by
             English rules ("Hello, world!"), so it inverts tokenize for normally spaced
             English text, and always up to spacing: tokenize(detokenize(tokenize(s))) ==
             tokenize(s) for every string s. Its rules (accents written as marks, emoji,
             flags included) are in data/wordpunct.py.

>>> tok = get_tokenizer("char")
>>> tok.tokenize("12 3")
['1', '2', ' ', '3']
>>> tok.tokenize("e\u0301") == tok.tokenize("\u00e9") == ["\u00e9"]  # é in NFD, and in NFC
True
>>> tok.detokenize(["3", " ", "2", "1"])
'3 21'
>>> tok = get_tokenizer("wordpunct")
>>> tok.tokenize("¿Dónde está? It's 3.5 km.")
['¿', 'Dónde', 'está', '?', 'It', "'", 's', '3.5', 'km', '.']
>>> tok.detokenize(["¿", "Dónde", "está", "?", "It", "'", "s", "3.5", "km", "."])
"¿Dónde está? It's 3.5 km."
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import NamedTuple

from minis2s.data.wordpunct import wordpunct_detokenize, wordpunct_tokenize

FORMS = ("NFC",)  # the Unicode normal forms a Tokenizer puts text in (None: as written)


def normalize(form: str | None, text: str) -> str:
    """`text` in Unicode normal `form` ("NFC"), or as it is for None; ValueError for another
    form."""
    if form is None:
        return text
    if form not in FORMS:
        raise ValueError(
            f"unknown Unicode normal form {form!r}; give {', '.join(map(repr, FORMS))}, or None "
            "(text as written, what runs saved before minis2s normalised text read)"
        )
    return unicodedata.normalize(form, text)


class Tokenizer(NamedTuple):
    """`tokenize(text)` splits `text` in normal form `form` with `split`; `detokenize` joins
    tokens back. A Tokenizer("mine", str.split, " ".join) of your own normalises as well."""

    name: str
    split: Callable[[str], list[str]]  # text, already in normal form `form` -> tokens
    detokenize: Callable[[Sequence[str]], str]  # tokens -> text
    merges: tuple[tuple[str, str], ...] = ()  # "bpe": what it learned (minis2s.data.bpe)
    form: str | None = "NFC"  # see the module docstring; None for runs saved before it

    def tokenize(self, text: str) -> list[str]:
        """The tokens of `text`, put in normal form `form` first."""
        return self.split(self.normalize(text))

    def normalize(self, text: str) -> str:
        """`text` in this tokenizer's normal form: how it reads text, phrase tables included."""
        return normalize(self.form, text)

    def __reduce__(self) -> tuple:
        """Pickled as what makes it: a "bpe" tokenizer as its merges and form (its functions are
        closures, which pickle refuses), a built-in one as its name; any other as its fields."""
        if self.name == "bpe":
            from minis2s.data.bpe import bpe_tokenizer

            return bpe_tokenizer, (self.merges, self.form)
        if TOKENIZERS.get(self.name) == self:
            return get_tokenizer, (self.name,)
        return Tokenizer, tuple(self)

    def __eq__(self, other: object) -> bool:
        """Two "bpe" tokenizers are equal when their merges and forms are (each has its own
        closures); a "bpe" tokenizer equals nothing else, not even the tuple of its fields (whose
        hash is another)."""
        if self.name == "bpe":
            return (
                isinstance(other, Tokenizer)
                and other.name == "bpe"
                and (self.merges, self.form) == (other.merges, other.form)
            )
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        if self.name == "bpe":
            return hash((self.name, self.merges, self.form))
        return tuple.__hash__(self)


def char_tokenize(text: str) -> list[str]:
    """One token per character (spaces are tokens too)."""
    return list(text)


def char_detokenize(tokens: Sequence[str]) -> str:
    """Concatenate the characters."""
    return "".join(tokens)


def word_tokenize(text: str) -> list[str]:
    """Split on runs of whitespace; leading and trailing whitespace give no tokens."""
    return text.split()


def word_detokenize(tokens: Sequence[str]) -> str:
    """Join with single spaces."""
    return " ".join(tokens)


TOKENIZERS: dict[str, Tokenizer] = {
    "char": Tokenizer("char", char_tokenize, char_detokenize),
    "word": Tokenizer("word", word_tokenize, word_detokenize),
    "wordpunct": Tokenizer("wordpunct", wordpunct_tokenize, wordpunct_detokenize),
}


BPE_MERGES = 4000  # the merges a "bpe" tokenizer learns unless told (minis2s.data.bpe)


def get_tokenizer(name: str | Tokenizer) -> Tokenizer:
    """The tokenizer called `name` (a Tokenizer passes through); ValueError listing the names."""
    if isinstance(name, Tokenizer):
        return name
    if name == "bpe":
        raise ValueError(
            "the bpe tokenizer is learned from a corpus, so it has no fixed form to look up by "
            "name: make one with minis2s.data.bpe.learn_tokenizer(texts, merges), or "
            "bpe_tokenizer(merges) from merges learned before"
        )
    try:
        return TOKENIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(  # bpe is named too: load_data and the command line take it
            f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}, bpe"
        ) from None

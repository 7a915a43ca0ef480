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
             tokenize(s) for every string s.

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

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import NamedTuple

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


# wordpunct ---------------------------------------------------------------------------------

# A number with inner separators (3.5, 1,000, 10:30), else a run of word characters (\w is
# Unicode's letters and digits, and "_"), else any other non-space character on its own. NLTK's
# wordpunct_tokenize is \w+|[^\w\s]+: it keeps "..." and "?!" whole and splits 3.5 in three.
WORDPUNCT = re.compile(r"\d+(?:[.,:]\d+)+|\w+|[^\w\s]")
_WORD_CHAR = re.compile(r"\w")

# How detokenize spaces punctuation, English style. A joiner between two words takes no space
# on either side (don't, l'homme, well-known); elsewhere ’ closes (‘so’) and ' and - are spaced.
# The straight double quotes (QUOTE) of a sentence open and close in turn: 1st, 3rd... open.
# Arabic's comma, semicolon and question mark, and Devanagari's danda, close as . and , do;
# Chinese and Japanese put no space around their full-width punctuation (nor between words).
# A currency sign (Unicode category Sc) opens before a number ($5, €3.50) and is spaced
# elsewhere (5 €).
CLOSING = frozenset(".,!?;:%)]}»›”’…،؛؟।॥")  # no space before
OPENING = frozenset("([{¿¡«‹“‘„")  # no space after
UNSPACED = frozenset("。，、！？；：（）「」『』【】《》〈〉・")  # no space on either side
JOINERS = frozenset("'’-")
QUOTE = '"'
# The zero-width non-joiner and joiner (U+200C, U+200D) are invisible and sit inside a token:
# Persian writes "می‌خواهم" (one word) with a ZWNJ, and the emoji family "👨‍👩‍👧" is three emoji
# joined by ZWJs. Unicode calls them formatting characters (Cf), not marks.
JOIN_CONTROLS = frozenset("\u200c\u200d")
# Neither are these, which belong to the emoji before them: the skin-tone modifiers (👍🏽) and
# the tag characters that spell a subdivision flag (🏴 + "gbsct" + cancel tag: Scotland's).
EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)  # code points U+1F3FB to U+1F3FF
EMOJI_TAGS = range(0xE0020, 0xE0080)
# A country's flag is two regional indicator letters (🇫 🇷 make 🇫🇷): they pair up from the left.
REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def _is_mark(c: str) -> bool:
    """A combining mark (Unicode category M): an accent written as its own code point, or a vowel
    sign of Hindi or another Indic script. Python's \\w does not match these."""
    return unicodedata.category(c).startswith("M")


def _in_word(c: str) -> bool:
    """A character that words are made of: \\w, or a combining mark."""
    return _WORD_CHAR.match(c) is not None or _is_mark(c)


def _attaches(c: str) -> bool:
    """A character that belongs to the token before it: a combining mark, a joiner control, an
    emoji modifier or tag."""
    return _is_mark(c) or c in JOIN_CONTROLS or ord(c) in EMOJI_MODIFIERS or ord(c) in EMOJI_TAGS


def _is_regional(c: str) -> bool:
    return ord(c) in REGIONAL_INDICATORS


def _pairs_with(before: str, c: str) -> bool:
    """Whether the regional indicator `c` completes a flag that `before` ends with: `before` ends
    with an odd number of them, the last one still unpaired."""
    if not _is_regional(c):
        return False
    run = 0  # regional indicators at the end of `before`
    while run < len(before) and _is_regional(before[-1 - run]):
        run += 1
    return run % 2 == 1


def _one_token(before: str, match: str) -> bool:
    """Whether `match`, a match of WORDPUNCT that touches the token `before`, belongs to it: a
    combining mark belongs to what it is written on (a letter, or a symbol: the emoji "❤️" is
    U+2764 and the variation selector U+FE0F), so do an emoji's modifiers and tags, a joiner
    control (JOIN_CONTROLS) joins what is on its two sides, two regional indicators make a flag,
    and a word goes on after a mark inside a word."""
    if _attaches(match[0]) or before[-1] in JOIN_CONTROLS or _pairs_with(before, match[0]):
        return True
    return _is_mark(before[-1]) and _in_word(before[0]) and _in_word(match[0])


def wordpunct_tokenize(text: str) -> list[str]:
    """The matches of WORDPUNCT, except that a combining mark stays with the character it is
    written on ("हिन्दी", and "élève" with decomposed accents, are one token each; so is "❤️"),
    an emoji with its skin tone ("👍🏽"), a flag ("🇫🇷"), and a zero-width joiner or non-joiner
    with the characters on its two sides ("می‌خواهم").
    Whitespace separates tokens and is dropped; apostrophes and hyphens are tokens of their own.

    >>> wordpunct_tokenize("Don't stop... at 10:30!")
    ['Don', "'", 't', 'stop', '.', '.', '.', 'at', '10:30', '!']
    """
    if text.isascii():  # ASCII has nothing that attaches (_attaches): the matches are the tokens
        return WORDPUNCT.findall(text)
    tokens: list[str] = []
    end = -1  # where the previous match ended
    for m in WORDPUNCT.finditer(text):
        t = m.group()
        if m.start() == end and _one_token(tokens[-1], t):
            tokens[-1] += t
        else:
            tokens.append(t)
        end = m.end()
    return tokens


def _roles(tokens: Sequence[str]) -> list[str]:
    """For each token: "join" (a joiner between two words), "open", "close", "unspaced" (no
    space on either side) or "" (a word, or a symbol spaced on both sides)."""
    roles, quotes = [], 0
    for i, t in enumerate(tokens):
        between_words = 0 < i < len(tokens) - 1 and (
            _in_word(tokens[i - 1][-1]) and _in_word(tokens[i + 1][0])
        )
        if t in JOINERS and between_words:
            roles.append("join")
        elif t == QUOTE:
            roles.append("open" if quotes % 2 == 0 else "close")
            quotes += 1
        elif t in UNSPACED:
            roles.append("unspaced")
        elif _is_currency(t) and i < len(tokens) - 1 and tokens[i + 1][0].isdigit():
            roles.append("open")
        else:
            roles.append("close" if t in CLOSING else "open" if t in OPENING else "")
    return roles


def _is_currency(t: str) -> bool:
    return len(t) == 1 and unicodedata.category(t) == "Sc"


def wordpunct_detokenize(tokens: Sequence[str]) -> str:
    """Join with single spaces, except none before closing punctuation (CLOSING), none after
    opening punctuation (OPENING) or a currency sign before a number, none around full-width
    punctuation (UNSPACED) or a joiner between two words (JOINERS). A token that starts with a
    combining mark, a joiner control or an emoji modifier or tag, or follows one that ends with a
    joiner control, is always spaced: glued, the two tokens would become one.

    English spacing, so French "Va !" comes back as "Va!". Tokenize drops the spaces, so some
    text cannot come back as written ("the students' books" -> "the students'books", "a - b"
    -> "a-b", "U.S." -> "U. S."); what holds for every string s is that the text has the same
    tokens: tokenize(detokenize(tokenize(s))) == tokenize(s). (Each space it leaves out has a
    punctuation token on one side, which tokenize splits off again; a number's separators .,:
    are CLOSING, so the next token is spaced and "3 . 5" does not come back as "3.5".)

    >>> wordpunct_detokenize(["«", "Va", "!", "»", ",", "dit", "-", "il", "."])
    '«Va!», dit-il.'
    """
    roles = _roles(tokens)
    pieces = []
    for i, t in enumerate(tokens):
        glued = i == 0 or (
            not _attaches(t[0])
            and tokens[i - 1][-1] not in JOIN_CONTROLS
            and (
                roles[i] in ("close", "join", "unspaced")
                or roles[i - 1] in ("open", "join", "unspaced")
            )
        )
        pieces.append(t if glued else " " + t)
    return "".join(pieces)


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

"""The "wordpunct" tokenizer's two halves (tokenize.py makes them a Tokenizer; data/bpe.py splits
its words into pieces): `wordpunct_tokenize` splits text into words, numbers and single
punctuation marks, keeping in one token what Unicode writes as several code points (a letter and
its combining accent, an emoji with its skin tone, a flag, a word joined by a zero-width joiner);
`wordpunct_detokenize` puts the spaces back by English rules. The text is in normal form already
(the Tokenizer puts it there).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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

"""Tokenizers by name: split a string into tokens, and join tokens back into a string.

"char"  every character is a token, spaces included:  "ab c" -> ["a", "b", " ", "c"]
        detokenize("".join) inverts it exactly: detokenize(tokenize(s)) == s.
"word"  split on runs of whitespace:                  " ab  c " -> ["ab", "c"]
        detokenize joins with one space, so it inverts tokenize up to whitespace:
        detokenize(tokenize(s)) == " ".join(s.split()), and
        tokenize(detokenize(tokens)) == tokens for non-empty tokens without whitespace.

>>> tok = get_tokenizer("char")
>>> tok.tokenize("12 3")
['1', '2', ' ', '3']
>>> tok.detokenize(["3", " ", "2", "1"])
'3 21'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple


class Tokenizer(NamedTuple):
    name: str
    tokenize: Callable[[str], list[str]]  # text -> tokens
    detokenize: Callable[[Sequence[str]], str]  # tokens -> text


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
}


def get_tokenizer(name: str | Tokenizer) -> Tokenizer:
    """The tokenizer called `name` (a Tokenizer passes through); ValueError listing the names."""
    if isinstance(name, Tokenizer):
        return name
    try:
        return TOKENIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}"
        ) from None

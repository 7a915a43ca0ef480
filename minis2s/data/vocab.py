"""A vocabulary: the two-way map between tokens and the integer ids a model embeds.

The four special tokens have fixed ids in every vocabulary, so a batch, a model and a decoder
agree on them without passing a vocabulary around:

    id 0  <pad>   padding; masked out of every loss and attention
    id 1  <s>     begin of sequence; the decoder's first input
    id 2  </s>    end of sequence; the decoder's last target, where decoding stops
    id 3  <unk>   any token that is not in the vocabulary

    >>> v = Vocab.build([["a", "b", "b"], ["c", "b"]])
    >>> v.tokens
    ['<pad>', '<s>', '</s>', '<unk>', 'b', 'a', 'c']
    >>> v.encode(["b", "z", "</s>"])
    [4, 3, 3]
    >>> v.decode([1, 4, 5, 2, 6])
    ['b', 'a']

Saved as UTF-8 JSON: `{"format": "minis2s.vocab", "version": 1, "tokens": [...]}` with the
tokens in id order (specials first).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.atomic import atomic_text_file

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
SPECIALS = (PAD, BOS, EOS, UNK)  # in id order

FORMAT, VERSION = "minis2s.vocab", 1


VOCAB_FILE = "the vocabulary file's path"  # what save's and load's `path` name


class Vocab:
    """Tokens in id order; ids 0..3 are always PAD, BOS, EOS, UNK.

    `Vocab(tokens)` takes the ordinary tokens (specials are added in front); most code calls
    `Vocab.build` on a corpus or `Vocab.load` on a file instead.
    """

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self._itos: list[str] = list(SPECIALS)
        self._stoi: dict[str, int] = {t: i for i, t in enumerate(SPECIALS)}
        for t in tokens:
            if not isinstance(t, str):
                raise ValueError(f"Vocab: tokens must be strings; got {t!r}")
            if t in self._stoi:
                raise ValueError(f"Vocab: token {t!r} appears twice (or is a special token)")
            self._stoi[t] = len(self._itos)
            self._itos.append(t)
        # the id each token of text encodes to: one dict lookup a token, a special spelled in
        # text included (encode)
        self._text_ids = self._stoi | dict.fromkeys(SPECIALS, UNK_ID)

    @classmethod
    def build(
        cls, token_seqs: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        """Count tokens and keep the frequent ones, most frequent first.

        Ties are broken by the token itself (string order), so the same corpus always gives the
        same ids. `min_freq`: drop tokens seen fewer times. `max_size`: the most entries the
        vocabulary may have, the 4 specials included (so `len(vocab) <= max_size`).
        Special tokens found in the data are not counted again; they keep their fixed ids.
        """
        return cls.from_counts(Counter(t for seq in token_seqs for t in seq), min_freq, max_size)

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        """`Vocab.build` of a corpus whose token counts are `counts` (token -> count): a large
        corpus is counted sentence by sentence, without holding every sentence's tokens."""
        validate.integer("Vocab.build", "min_freq", min_freq, 1)
        if max_size is not None:
            validate.integer("Vocab.build", "max_size", max_size, None)
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(
                f"Vocab.build: max_size must be >= {len(SPECIALS)} (the special tokens); "
                f"got {max_size}"
            )
        kept = [t for t, c in counts.items() if c >= min_freq and t not in SPECIALS]
        kept.sort(key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls(kept)

    # lookups -----------------------------------------------------------------------------

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy), specials first."""
        return list(self._itos)

    def id_of(self, token: str) -> int:
        """The id of `token`, UNK_ID if it is not in the vocabulary."""
        return self._stoi.get(token, UNK_ID)

    def token_of(self, i: int) -> str:
        """The token with id `i`; ValueError if there is none."""
        validate.integer("Vocab", "an id", i, None)  # int(1.5) would give the token of 1
        i = int(i)
        if not 0 <= i < len(self._itos):
            raise ValueError(
                f"Vocab: id {i} is out of range; the vocabulary has {len(self._itos)} entries "
                f"(valid ids 0..{len(self._itos) - 1})"
            )
        return self._itos[i]

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __len__(self) -> int:
        return len(self._itos)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self._itos == other._itos

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[len(SPECIALS) : len(SPECIALS) + 5])
        more = ", ..." if len(self) > len(SPECIALS) + 5 else ""
        return f"Vocab({len(self)} entries: specials + [{head}{more}])"

    # encoding ----------------------------------------------------------------------------

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Token ids of text, UNK_ID for tokens not in the vocabulary. Adds no BOS/EOS. Text that
        spells a special token ("<pad>", "</s>" ...) is a word like any other, so it encodes to
        UNK_ID: as its special id it would pad, end or begin a sentence where the text goes on."""
        ids = [self._text_ids.get(t, UNK_ID) for t in tokens]
        if UNK_ID in ids:  # only then: an id or None is never a known token, so it is an UNK
            bad = [t for t in tokens if not isinstance(t, str)]
            if bad:
                raise ValueError(
                    f"Vocab.encode: tokens must be strings; got {bad[0]!r} (decode turns ids "
                    "into tokens)"
                )
        return ids

    def count_unknown(self, tokens: Iterable[str]) -> int:
        """How many of `tokens` encode to UNK_ID (not in the vocabulary, or spelling a special)."""
        return sum(t in SPECIALS or t not in self._stoi for t in tokens)

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Tokens for `ids` (ints or a 1-D integer array).

        With `strip_special` (the default, for model output): stop at the first EOS and drop
        PAD and BOS; UNK stays as "<unk>". Without it every id maps to its token.
        """
        if getattr(ids, "ndim", 1) != 1:
            raise ValueError(
                f"Vocab.decode: ids must be one sequence (T,); got shape {ids.shape} (decode a "
                "batch row by row)"
            )
        if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
            ids = ids.tolist()
        if isinstance(ids, list) and all(type(i) is int for i in ids):  # not bool, not float
            return self._decode_ints(ids, strip_special)
        return self.decode_each(ids, strip_special)

    def _decode_ints(self, ids: list[int], strip_special: bool) -> list[str]:
        """`decode_each` of a list of Python ints (a decoder's output), checked as one list: a
        translate of 50k lines decodes millions of ids."""
        if strip_special:
            ids = ids[: ids.index(EOS_ID)] if EOS_ID in ids else ids
            ids = [i for i in ids if i != PAD_ID and i != BOS_ID]
        V = len(self._itos)
        if ids and not (0 <= min(ids) and max(ids) < V):
            self.token_of(next(i for i in ids if not 0 <= i < V))  # the first: its error
        return [self._itos[i] for i in ids]

    def decode_each(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """`decode`, an id at a time, each checked as it is read: the reference that decode's
        one-pass path for ints must equal (tests/test_scale_vocab.py), and its path for the
        rest (NumPy integer scalars, a CuPy array)."""
        out = []
        for i in ids:
            validate.integer("Vocab.decode", "an id", i, None)  # int(1.5) would decode as 1
            i = int(i)
            if strip_special:
                if i == EOS_ID:
                    break
                if i in (PAD_ID, BOS_ID):
                    continue
            out.append(self.token_of(i))
        return out

    # persistence -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `Vocab.from_dict` inverts it."""
        return {"format": FORMAT, "version": VERSION, "tokens": list(self._itos)}

    @classmethod
    def from_dict(cls, d: Any) -> Vocab:
        """The vocabulary a `to_dict` result describes; ValueError saying what is wrong."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f'not a minis2s vocabulary (expected {{"format": "{FORMAT}", ...}})')
        if d.get("version") != VERSION:
            raise ValueError(f"vocabulary version {d.get('version')!r}; this code reads {VERSION}")
        tokens = d.get("tokens")
        if not isinstance(tokens, list) or tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary tokens must be a list starting with {list(SPECIALS)}")
        return cls(tokens[len(SPECIALS) :])

    def check_tokenized(self, where: str = "") -> None:
        """ValueError naming the first token that no tokenizer of minis2s makes, so that no text
        read with one led to it: an empty token, or whitespace inside a token of more than one
        character (char makes every character a token, " " and "\\n" included; word, wordpunct
        and bpe make none holding whitespace). Where a run's saved vocabulary holds one, the file
        was edited; `where` starts the message."""
        for i, t in enumerate(self._itos[len(SPECIALS) :], len(SPECIALS)):
            if len(t) != 1 and t.split() != [t]:  # split: no whitespace in t, and t not empty
                what = "empty" if t == "" else f"{t!r:.40}, whitespace inside a longer token"
                raise ValueError(
                    f"{where}tokens[{i}] is {what}, which no tokenizer makes (char makes one "
                    "character a token; word, wordpunct and bpe none holding whitespace)"
                )

    def save(self, path: str | os.PathLike) -> None:
        """Write UTF-8 JSON atomically: a temp file in the same folder, then `os.replace`,
        so a crash never leaves a half-written vocabulary where a good one was."""
        validate.path("Vocab.save", "path", path, VOCAB_FILE)
        with atomic_text_file(path) as f:
            json.dump(self.to_dict(), f, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a file written by `save`; ValueError naming the file if it is malformed."""
        validate.path("Vocab.load", "path", path, VOCAB_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"{os.fspath(path)}: cannot read vocabulary: {e}") from e

"""A corpus's texts tokenized once, held as token ids: load_data checks, measures, counts and
encodes its pairs from these, where it tokenized each training pair 4 times before (to check it
as it was read, for `max_len`, to count the vocabularies, and to encode it as `train` starts).
The simple path this stands for, with a tokenizer `tok` (tests/test_load_once.py keeps it as the
reference that load_data must equal):

    pairs = read_corpus(path, tok)                        # refuses a text without tokens
    train, n_long = within(pairs, tok, max_len)           # the pairs no longer than max_len
    tgt_vocab = Vocab.build(tok.tokenize(t) for _, t in train)
    examples, n_unknown = encode_pairs(train, src_vocab, tgt_vocab, tok)

Here the reader gives each text's tokens, as it checks them, to `TextIds.add`, which numbers the
distinct tokens as first seen and keeps 4 bytes (an int32) a token; what the text's tokens are is
`tokens_of` a token id: the token itself, or, for BPE learned from the corpus, the pieces of the
wordpunct word that the reader's id stands for (each distinct word split once, not each pair).

The ids cost 4 bytes a token besides the examples made of them (8 bytes a token, as before), so
loading a whole corpus peaks about a quarter higher than tokenizing it again did, in about half
the time (README, "Large corpora"). With --train-size (not BPE) the reader keeps only each text's
length (TextIds(keep=False)) and the pairs kept are tokenized again (corpus_splits): numbering
every token of a large corpus costs more than tokenizing the part kept a second time.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import NamedTuple

import numpy as np

from minis2s.data.tokenize import Tokenizer
from minis2s.data.vocab import UNK_ID, Vocab

CHUNK = 1 << 16  # texts counted at a time
Tokens = Sequence[tuple[str, ...]]  # token id -> the tokens it stands for (tokens_of)


def new_index() -> defaultdict[str, int]:
    """token -> id, a token not seen before taking the next id (0, 1, 2, ...)."""
    index: defaultdict[str, int] = defaultdict()
    index.default_factory = index.__len__
    return index


class TextIds:
    """The token ids of texts read one after another: text k's are ids[ends[k]:ends[k+1]], ids of
    `index` (shared by a corpus's splits). A corpus's pair i is its texts 2i (source) and 2i+1
    (target)."""

    def __init__(self, index: defaultdict[str, int], keep: bool = True) -> None:
        self.index, self.keep = index, keep  # keep=False: lengths only (ends), no ids
        self.ids = array("i")  # (N,) int32: the tokens of all texts, end to end
        self.ends = array("q", [0])  # (T + 1,) int64

    def add(self, tokens: Sequence[str]) -> None:
        """The next text's tokens (read_corpus's `record`)."""
        if self.keep:
            self.ids.extend(map(self.index.__getitem__, tokens))
        self.ends.append(self.ends[-1] + len(tokens))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (N,) int32, ends (T + 1,) int64) as NumPy views, without a copy."""
        return np.frombuffer(self.ids, np.int32), np.frombuffer(self.ends, np.int64)


def tokenized(
    pairs: Iterable[tuple[str, str]], tok: Tokenizer, index: defaultdict[str, int]
) -> TextIds:
    """TextIds of `pairs` as `tok` tokenizes them."""
    texts = TextIds(index)
    for pair in pairs:
        for text in pair:
            texts.add(tok.tokenize(text))
    return texts


class Split(NamedTuple):
    """A split's pairs as `texts`' pair numbers (`rows`, each at most once), in the split's
    order."""

    texts: TextIds
    rows: Sequence[int]


def tokens_of(index: Iterable[str], pieces: Callable[[str], tuple[str, ...]] | None) -> Tokens:
    """Token id -> its tokens: (token,), or, with `pieces` (bpe.word_pieces), a word's pieces."""
    return [(t,) for t in index] if pieces is None else [pieces(w) for w in index]


def id_counts(split: Split, sides: Sequence[int]) -> np.ndarray:
    """(V,) how often each token id occurs in the `sides` (0 source, 1 target) of the split."""
    ids, ends = split.texts.arrays()
    rows = np.asarray(split.rows, np.int64)
    chosen = np.zeros(len(ends) - 1, bool)  # (T,): texts counted
    for side in sides:
        chosen[2 * rows + side] = True
    counts = np.zeros(len(split.texts.index), np.int64)
    for lo in range(0, len(chosen), CHUNK):  # a chunk at a time: a copy of all ids is 4 B a token
        hi = min(lo + CHUNK, len(chosen))
        taken = np.repeat(chosen[lo:hi], np.diff(ends[lo : hi + 1]))
        counts += np.bincount(ids[ends[lo] : ends[hi]][taken], minlength=len(counts))
    return counts


def side_counts(split: Split, side: int, tokens: Tokens) -> Counter[str]:
    """token -> how often it occurs on `side` (0 source, 1 target) of the split's pairs."""
    per_id = id_counts(split, (side,))
    counts: Counter[str] = Counter()
    for i in np.flatnonzero(per_id).tolist():
        for t in tokens[i]:
            counts[t] += int(per_id[i])
    return counts


def word_counts(split: Split) -> dict[str, int]:
    """word -> how often it occurs in the split's sources and targets together (what BPE learns
    its merges from)."""
    per_id = id_counts(split, (0, 1))
    words = list(split.texts.index)
    return {words[i]: int(per_id[i]) for i in np.flatnonzero(per_id).tolist()}


def pair_lengths(texts: TextIds, tokens: Tokens | None) -> np.ndarray:
    """(P,) the longer side's token count of each pair (a word counting its pieces; None: one
    token a token id)."""
    ids, ends = texts.arrays()
    if len(ends) == 1:
        return np.zeros(0, np.int64)
    per_id = np.array([len(t) for t in tokens or ()], np.int64)
    if tokens is None or (per_id == 1).all():
        lengths = np.diff(ends)
    else:  # every text has a token (read_corpus refuses one without), so no segment is empty
        lengths = np.add.reduceat(per_id[ids], ends[:-1])
    return np.maximum(lengths[0::2], lengths[1::2])


def encode(split: Split, tokens: Tokens, src_vocab: Vocab, tgt_vocab: Vocab) -> tuple[list, int]:
    """(the split's (source ids, target ids) examples, how many of their ids are UNK_ID), as
    batching.encode_pairs makes them."""
    ids, ends = split.texts.ids, split.texts.ends
    # token id -> its vocabulary ids: the vocabulary's own ints, shared by the examples
    flat = list(chain.from_iterable(tokens))
    tables = [vocab.encode(flat) for vocab in (src_vocab, tgt_vocab)]
    whole = len(flat) == len(tokens)  # one token a token id (a piece is never empty)
    if not whole:
        cuts = np.cumsum([0] + [len(t) for t in tokens]).tolist()
        tables = [[table[a:b] for a, b in itertools.pairwise(cuts)] for table in tables]
    examples, n_unknown = [], 0
    for r in split.rows:
        pair = []
        for k, table in ((2 * r, tables[0]), (2 * r + 1, tables[1])):
            found = map(table.__getitem__, ids[ends[k] : ends[k + 1]])
            x = list(found) if whole else list(chain.from_iterable(found))
            n_unknown += x.count(UNK_ID)
            pair.append(x)
        examples.append(tuple(pair))
    return examples, n_unknown

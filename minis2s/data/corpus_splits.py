"""A corpus's train / dev / test splits as load_data reads them: dev held out of the corpus
unless given, BPE learned on the training pairs, the pairs longer than max_len dropped; each text
tokenized once, as read_corpus checks it, and kept as token ids (minis2s.data.token_ids) from
which load_data counts its vocabularies and encodes the pairs."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s.data import bpe, token_ids
from minis2s.data.corpus import read_corpus
from minis2s.data.load_checks import Corpus, named
from minis2s.data.tokenize import Tokenizer, get_tokenizer


class CorpusIds(NamedTuple):
    """A corpus's train and dev pairs as the token ids read (token_ids), and the tokens of each
    id."""

    train: token_ids.Split
    dev: token_ids.Split
    tokens: token_ids.Tokens


def corpus_splits(
    data: Corpus, dev_data: Corpus | None, test_data: Corpus | None, tokenizer: str | Tokenizer,
    max_len: int | None, seed: int, bpe_merges: int | None, train_size: int | None,
    cli: bool = False,
) -> tuple[list, list, list, int, str | Tokenizer, CorpusIds]:  # fmt: skip
    """(train, dev, test, how many training pairs max_len dropped, the tokenizer, train and dev
    as ids) of a corpus: dev from `dev_data`, else 5% of the corpus's distinct pairs (at least
    one) held out by a seeded shuffle, with every copy of a held-out pair taken out of training
    so dev scores unseen pairs (training keeps its repeats of the other pairs). "bpe" learns its
    merges from the training pairs (the first `train_size` of them) here, after dev is held out
    and before max_len counts their pieces. Each text is tokenized once, as it is read; with
    `train_size` (not BPE), only its length is kept then, and the pairs kept are tokenized again
    (numbering every token of a corpus costs more than tokenizing a part of it twice). `cli`:
    a file's refusal names train's options (--dev-data), else load_data's keywords (dev_data)."""
    learn_bpe = tokenizer == "bpe"
    read_with = "wordpunct" if learn_bpe else tokenizer  # a text has BPE tokens iff it has these
    index = token_ids.new_index()  # the tokens read (words, for BPE), numbered
    lazy = train_size is not None and not learn_bpe
    texts = token_ids.TextIds(index, keep=not lazy)
    train = list(read_corpus(data, read_with, record=texts.add, **_words("data", cli)))
    if dev_data is not None:
        dev_texts = token_ids.TextIds(index)
        dev = list(
            read_corpus(dev_data, read_with, record=dev_texts.add, **_words("dev_data", cli))
        )
        rows, dev_ids = range(len(train)), token_ids.Split(dev_texts, range(len(dev)))
    else:
        rows, dev_rows = held_out(train, seed)
        train, dev = [train[i] for i in rows], [train[i] for i in dev_rows]
        dev_ids = token_ids.Split(texts, dev_rows)
    test = (
        []
        if test_data is None
        else list(read_corpus(test_data, read_with, **_words("test_data", cli)))
    )
    pieces = None
    if learn_bpe:  # joint BPE: one set of merges for both sides, learned as learn_tokenizer does
        counts = token_ids.word_counts(token_ids.Split(texts, rows[:train_size]))
        tokenizer = bpe.bpe_tokenizer(bpe.learn_merges(counts, bpe_merges))  # default given
        pieces = bpe.word_pieces(tokenizer.merges)
    tokens = None if lazy else token_ids.tokens_of(index, pieces)
    n_skipped = 0
    if max_len is not None:  # training pairs only: dev and test are scored whole
        long = token_ids.pair_lengths(texts, tokens) > max_len
        kept = [k for k, r in enumerate(rows) if not long[r]]
        n_skipped = len(rows) - len(kept)
        train, rows = [train[k] for k in kept], [rows[k] for k in kept]
    if lazy:  # the pairs kept, and a dev held out, tokenized again
        tok = get_tokenizer(tokenizer)
        texts = token_ids.tokenized(train[:train_size], tok, index)
        rows = range(min(train_size, len(train)))
        if dev_data is None:
            dev_ids = token_ids.Split(token_ids.tokenized(dev, tok, index), range(len(dev)))
        tokens = token_ids.tokens_of(index, None)
    ids = CorpusIds(token_ids.Split(texts, rows), dev_ids, tokens)
    return train, dev, test, n_skipped, tokenizer, ids


def held_out(pairs: list, seed: int) -> tuple[list[int], list[int]]:
    """(training rows, dev rows) of `pairs`: dev the first 5% (at least one) of the distinct
    pairs in a seeded shuffle, training the shuffled rest without their copies."""
    first: dict[Any, int] = {}  # pair -> its first row in shuffled order
    order = np.random.default_rng(seed).permutation(len(pairs)).tolist()
    for i in order:
        first.setdefault(pairs[i], i)
    dev_rows = list(first.values())[: max(1, len(first) // 20)]
    held_out = {pairs[i] for i in dev_rows}
    return [i for i in order if pairs[i] not in held_out], dev_rows


def _words(key: str, cli: bool) -> dict[str, str]:
    """read_corpus's `given_as` and `also` for load_data's corpus `key` (data, dev_data,
    test_data): a TSV corpus given as two files is refused naming `key` as its caller wrote it,
    and, for the training corpus, where a dev or test corpus goes instead."""
    if key != "data":
        return {"given_as": named(key, cli)}
    dev, test = named("dev_data", cli), named("test_data", cli)
    also = (
        f"and a dev or test corpus with {dev} or {test}"
        if cli
        else f"and a dev or test corpus as {dev}= or {test}="
    )
    return {"given_as": named(key, cli), "also": also}

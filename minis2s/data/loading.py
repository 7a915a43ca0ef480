"""A built-in task or a corpus as `Data`: its train / dev / test pairs, the held-out dev split,
BPE merges learned from the training pairs and the vocabularies built on them, with the checks
that refuse options which leave nothing to train on. `minis2s.pipeline` re-exports these and
trains a model on them. Beside it: data/encoded.py, a corpus's examples as load_data encodes
them (which pipeline.train takes), and data/provenance.py, what a run records of its data (its
name, where it was read, the fingerprints of its pairs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

from minis2s import _warn, validate
from minis2s.data import token_ids
from minis2s.data.corpus_splits import CorpusIds, corpus_splits
from minis2s.data.encoded import Encoded, encode_corpus
from minis2s.data.load_checks import (
    Corpus,
    check_bpe,
    check_choices,
    check_each_side_kept,
    check_vocab_options,
    check_vocabs,
    given,
    is_bpe,
    named,
)
from minis2s.data.provenance import run_name, source_of
from minis2s.data.tasks import get_task
from minis2s.data.tokenize import BPE_MERGES, Tokenizer, get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.wording import percent


class Data(NamedTuple):
    """Raw (source, target) pairs per split, the vocabularies built on train, and how to
    tokenize (a name, or the Tokenizer a corpus taught: "bpe"). `features` > 0: sources are
    (S, F) float arrays and src_vocab is None."""

    train: list
    dev: list
    test: list
    src_vocab: Vocab | None
    tgt_vocab: Vocab
    tokenizer: str | Tokenizer
    features: int
    name: str
    skipped: int = 0  # training pairs dropped for being longer than max_len
    options: dict[str, Any] | None = None  # the DATA_OPTIONS load_data used
    source: dict[str, Any] | None = None  # where load_data read it (source_of): --resume's too
    encoded: Encoded | None = None  # a corpus's train and dev pairs as load_data encoded them


# shape the training data
DATA_OPTIONS = ("train_size", "max_len", "min_freq", "max_vocab", "share_vocab")


def load_data(
    *,
    task: str | None = None,
    data: Corpus | None = None,
    dev_data: Corpus | None = None,
    test_data: Corpus | None = None,
    tokenizer: str | Tokenizer | None = None,
    min_freq: int | None = None,
    max_vocab: int | None = None,
    max_len: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
    bpe_merges: int | None = None,
    vocabs: tuple[Vocab | None, Vocab] | None = None,
    share_vocab: bool | None = None,
    cli: bool = False,
) -> Data:
    """A built-in task's splits, or a corpus (dev: `dev_data`, else 5% of its distinct pairs held
    out, unseen in training). A corpus is one TSV file or a (source, target) pair of files
    aligned line by line (read_corpus).

    `train_size` keeps only the first that many training pairs (quick experiments: the corpus's
    first lines with `dev_data`, else the first of the seeded shuffle dev is held out by); `max_len`
    drops training pairs with more tokens on either side (dev and test are kept whole). A corpus is
    tokenized by `tokenizer` ("char" unless given, "word", "wordpunct", or "bpe": wordpunct's
    words split into subword pieces by `bpe_merges` merges (default BPE_MERGES) learned from the
    training pairs, both sides together; a Tokenizer that `minis2s.data.bpe` made is used as it
    is). A task brings its own tokenizer, splits and lengths, so `dev_data`, `test_data`,
    `max_len`, `tokenizer` and `bpe_merges` are for corpora.

    `vocabs`: the (source, None for feature sources; target) vocabularies to encode with, in
    place of ones built on the training pairs, so `min_freq` and `max_vocab` do not apply (a
    fine-tuning's: the run it starts from, with that run's Tokenizer for a corpus's `tokenizer`;
    "bpe", which would learn new merges whose pieces they lack, is refused).

    `share_vocab`: one vocabulary for both sides (the same Vocab as src_vocab and tgt_vocab),
    built from the source and target tokens together, `min_freq` and `max_vocab` applied to
    their combined counts; what `share_embeddings` needs. (BPE's merges are learned from both
    sides together either way, so a word splits into the same pieces on either side.)

    `cli`: minis2s train calls it, and its refusals and warnings name train's options
    (--max-vocab 6), not these keywords (max_vocab=6).
    """
    validate.boolean("load_data", "cli", cli)  # "no" would be taken for True
    check_choices(task, data, dev_data, test_data, tokenizer, max_len, train_size, bpe_merges, seed,
                  cli=cli)  # fmt: skip
    check_bpe(tokenizer, bpe_merges)
    for key, value in (("min_freq", min_freq), ("max_vocab", max_vocab),
                       ("share_vocab", share_vocab or None)):  # fmt: skip
        if vocabs is not None and value is not None:
            raise ValueError(
                f"{named(key, cli)} shapes a vocabulary built on the training pairs; with the "
                "vocabularies given (vocabs), leave it out"
            )
    check_vocab_options(min_freq, max_vocab)
    check_vocabs(vocabs, tokenizer)
    if share_vocab is not None:  # "no" would be taken for True
        validate.boolean("load_data", "share_vocab", share_vocab)
    n_skipped, ids = 0, None
    if task is not None:
        t = get_task(task)
        splits = t.generate(seed=seed)
        train, dev, test = splits["train"], splits["dev"], splits["test"]
        tokenizer, features, name = t.tokenizer, t.features or 0, task
    else:
        tokenizer = tokenizer or "char"
        if tokenizer == "bpe" and bpe_merges is None:
            bpe_merges = BPE_MERGES
        train, dev, test, n_skipped, tokenizer, ids = corpus_splits(
            data, dev_data, test_data, tokenizer, max_len, seed, bpe_merges, train_size, cli
        )
        features, name = 0, run_name(None, data)
    if not train:
        raise ValueError(
            _why_no_training_pairs(len(dev), dev_data is not None, max_len, n_skipped, cli)
        )
    if train_size is not None:
        if train_size > len(train):
            _warn_of_train_size(
                train_size, len(train), n_skipped, task is None and dev_data is None, cli
            )
        train = train[:train_size]
        if ids is not None:
            ids = ids._replace(train=ids.train._replace(rows=ids.train.rows[:train_size]))
    if task is None:
        _warn_of_trained(train, {"dev_data": None if dev_data is None else dev,
                                 "test_data": test}, cli)  # fmt: skip
    options: dict[str, Any] = {"train_size": train_size, "max_len": max_len}
    if is_bpe(tokenizer):  # learned by _corpus_splits, or given
        options["bpe_merges"] = len(tokenizer.merges) if bpe_merges is None else bpe_merges
    if vocabs is None:
        min_freq = 1 if min_freq is None else min_freq
        options |= {"min_freq": min_freq, "max_vocab": max_vocab}
        if share_vocab:
            _check_shareable(features, name, cli)
            options["share_vocab"] = True  # only when asked: runs saved before it resume as run
        shape = (min_freq, max_vocab, bool(share_vocab))
        src_vocab, tgt_vocab = _vocabularies(train, tokenizer, features, *shape, ids=ids, cli=cli)
    else:
        src_vocab, tgt_vocab = vocabs
    source = source_of(task, data, dev_data, test_data)
    encoded = None
    if ids is not None and src_vocab is not None:
        encoded = encode_corpus(ids, train, dev, src_vocab, tgt_vocab, tokenizer)
    return Data(train, dev, test, src_vocab, tgt_vocab, tokenizer, features, name, n_skipped,
                options, source, encoded)  # fmt: skip


def _check_shareable(features: int, name: str, cli: bool) -> None:
    """ValueError for share_vocab on data whose sources are feature frames (no tokens)."""
    if features:
        share = named("share_vocab", cli)
        raise ValueError(
            f"{share} builds one vocabulary from the source and target tokens, but the "
            f"sources of {name} are (S, {features}) feature frames, which have none; leave "
            f"{share} out"
        )


def _side_counts(
    train: list, tokenizer: str | Tokenizer, features: int, ids: CorpusIds | None
) -> tuple[Counter[str], Counter[str]]:
    """(source, target) token -> count over the training pairs (no source tokens for features):
    from a corpus's token ids, else (a task's) tokenized a sentence at a time, since the token
    lists of a million pairs would take gigabytes."""
    if ids is not None:
        return tuple(token_ids.side_counts(ids.train, side, ids.tokens) for side in (0, 1))
    tok = get_tokenizer(tokenizer)
    sources = Counter() if features else _token_counts((s for s, _ in train), tok)
    return sources, _token_counts((t for _, t in train), tok)


def _vocabularies(
    train: list, tokenizer: str | Tokenizer, features: int, min_freq: int, max_vocab: int | None,
    share: bool = False, ids: CorpusIds | None = None, cli: bool = False,
) -> tuple[Vocab | None, Vocab]:  # fmt: skip
    """(source vocabulary, None for feature sources; target vocabulary) of the training pairs
    (counted from `ids` where given), refusing a min_freq or max_vocab that leaves a side no
    token (`cli`: named as train's options). `share`: one vocabulary, built on both sides'
    tokens counted together, as both."""
    sources, targets = _side_counts(train, tokenizer, features, ids)
    if share:
        shared = Vocab.from_counts(sources + targets, min_freq, max_vocab)
        src_vocab, tgt_vocab = shared, shared
    else:
        src_vocab = None if features else Vocab.from_counts(sources, min_freq, max_vocab)
        tgt_vocab = Vocab.from_counts(targets, min_freq, max_vocab)
    sides = {"source": (sources, src_vocab), "target": (targets, tgt_vocab)}
    if features:
        del sides["source"]
    check_each_side_kept(sides, len(train), min_freq, max_vocab, share, cli)
    return src_vocab, tgt_vocab


def _token_counts(texts: Iterable[str], tok: Tokenizer) -> Counter[str]:
    """token -> how often it occurs in `texts`, as `tok` splits them."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tok.tokenize(text))
    return counts


def _warn_of_train_size(
    train_size: int, n: int, n_long: int, held_out: bool, cli: bool = False
) -> None:
    """A warning that `train_size` asks for more than the `n` training pairs there are (after
    `n_long` longer than max_len were dropped and, `held_out`, dev was held out of the corpus):
    the run trains on all of them, which a user expecting the size asked for should know. In
    load_data's keywords (train_size=50), with `cli` in train's options (--train-size 50)."""
    after = ["5% of the corpus held out for dev"] * held_out
    after += [f"{n_long} longer than {named('max_len', cli)} dropped"] * (n_long > 0)
    why = f" ({' and '.join(after)})" if after else ""
    _warn.warn(
        f"{given('train_size', train_size, cli)} asks for more than the {n} training pairs there "
        f"are{why}; all {n} are used",
    )


def _warn_of_trained(train: list, splits: dict[str, list | None], cli: bool) -> None:
    """A warning for each given dev or test split ({"dev_data" | "test_data": its pairs, None:
    not given}) that holds training pairs: its figures (best/ and early stopping go by dev's)
    would score pairs the model learnt."""
    seen = set(train)
    for key, pairs in splits.items():
        k = sum(pair in seen for pair in pairs or ())
        if k == 0:
            continue
        n, split, data = len(pairs), named(key, cli), named("data", cli)
        if k == n:
            share = f"the {split} pair is" if n == 1 else f"all {n} {split} pairs are"
        else:
            share = f"{k} of the {n} {split} pairs ({percent(k, n)}) {'is' if k == 1 else 'are'}"
        held_out = f" (or leave {split} out: 5% of {data} is then held out)" * (key == "dev_data")
        _warn.warn(
            f"{share} also in the training pairs ({data}), so its figures score pairs the model "
            f"trained on: give a {split} corpus without them{held_out}",
        )


def _why_no_training_pairs(
    n_dev: int, dev_given: bool, max_len: int | None, n_long: int, cli: bool
) -> str:
    """The error for a corpus that leaves no training pair."""
    if n_long:
        return (
            f"{named('max_len', cli)} {max_len} drops all {n_long} training pairs (each has more "
            f"tokens on a side): raise {named('max_len', cli)}"
        )
    if dev_given:
        return f"the corpus ({named('data', cli)}) has no pairs to train on"
    return (
        f"the corpus has {n_dev} distinct pair{'s' * (n_dev != 1)}, all held out for dev (5%, "
        f"at least 1): give it more pairs, or pass {named('dev_data', cli)} so that all of it "
        "trains"
    )


def within(pairs: list, tok: Any, max_len: int) -> tuple[list, int]:
    """(the pairs with at most max_len tokens on each side, how many were longer)."""
    kept = [(s, t) for s, t in pairs if max(len(tok.tokenize(s)), len(tok.tokenize(t))) <= max_len]
    return kept, len(pairs) - len(kept)

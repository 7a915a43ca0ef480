"""load_data tokenizes each text of a corpus once, as it reads and checks it, and counts,
measures (--max-len) and encodes the pairs from the token ids it kept (minis2s.data.token_ids):
each training pair was tokenized 4 times before, and --train-size with --max-len measured every
pair of the corpus again. Its Data equals the simple path's (`reference` below: read, hold out,
learn BPE, drop the long pairs, count, encode), which is what a reader learns from."""

import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data import bpe, encoded, loading, provenance, token_ids
from minis2s.data.batching import encode_pairs
from minis2s.data.corpus import read_corpus
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import Vocab


def reference(path, dev_path, tokenizer, max_len, train_size, seed, merges, min_freq, share):
    """(train, dev, skipped, tokenizer, vocabularies, train examples, dev examples, the training
    pairs before train_size) as load_data made them before it tokenized each text once; None
    where no training pair is left."""
    read_with = "wordpunct" if tokenizer == "bpe" else tokenizer
    train = list(read_corpus(path, read_with))
    if dev_path is not None:
        dev = list(read_corpus(dev_path, read_with))
    else:
        order = np.random.default_rng(seed).permutation(len(train))
        shuffled = [train[i] for i in order]
        distinct = list(dict.fromkeys(shuffled))
        dev = distinct[: max(1, len(distinct) // 20)]
        train = [pair for pair in shuffled if pair not in set(dev)]
    if tokenizer == "bpe":
        tok = bpe.learn_tokenizer([t for pair in train[:train_size] for t in pair], merges)
    else:
        tok = get_tokenizer(tokenizer)
    skipped = 0
    if max_len is not None:
        train, skipped = loading.within(train, tok, max_len)
    if not train:
        return None
    n_kept, train = len(train), train[:train_size]
    src = Counter(t for s, _ in train for t in tok.tokenize(s))
    tgt = Counter(t for _, t in train for t in tok.tokenize(t))
    if share:
        vocabs = (Vocab.from_counts(src + tgt, min_freq),) * 2
    else:
        vocabs = (Vocab.from_counts(src, min_freq), Vocab.from_counts(tgt, min_freq))
    examples = [encode_pairs(pairs, *vocabs, tok) for pairs in (train, dev)]
    return train, dev, skipped, tok, vocabs, *examples, n_kept


word = st.sampled_from(["a", "b", "cat", "dog", "é", "e\u0301", "x.y", "<unk>", "!", "  "])
text = st.lists(word, min_size=1, max_size=6).map(" ".join)
corpus = st.lists(st.tuples(text, text), min_size=1, max_size=30)
options = st.fixed_dictionaries({
    "tokenizer": st.sampled_from(["char", "word", "wordpunct", "bpe"]),
    "max_len": st.none() | st.integers(1, 12),
    "train_size": st.none() | st.integers(1, 12),
    "seed": st.integers(0, 3),
    "merges": st.integers(0, 12),
    "min_freq": st.integers(1, 2),
    "share": st.booleans(),
})  # fmt: skip


def _write(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return str(path)


def _load(path, dev_path, o):
    merges = {"bpe_merges": o["merges"]} if o["tokenizer"] == "bpe" else {}
    return loading.load_data(data=path, dev_data=dev_path, tokenizer=o["tokenizer"],
                             max_len=o["max_len"], train_size=o["train_size"], seed=o["seed"],
                             min_freq=o["min_freq"], share_vocab=o["share"], **merges)  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(pairs=corpus, dev=st.none() | corpus, o=options, chunk=st.sampled_from([2, 4, 1 << 16]))
def test_data_equals_the_simple_paths(tmp_path_factory, pairs, dev, o, chunk):
    """Same pairs, skipped count, tokenizer, vocabularies, examples, unknowns, fingerprints and
    warnings as the simple path; the same error where the corpus has a text without tokens.
    `chunk`: the texts token_ids keeps ids of in one array (a few here, so pairs span many)."""
    token_ids.CHUNK, default = chunk, token_ids.CHUNK
    try:
        _check_as_the_simple_path(tmp_path_factory, pairs, dev, o)
    finally:
        token_ids.CHUNK = default


def _check_as_the_simple_path(tmp_path_factory, pairs, dev, o):
    where = tmp_path_factory.mktemp("c")
    path = _write(where / "train.tsv", pairs)
    dev_path = None if dev is None else _write(where / "dev.tsv", dev)
    args = (path, dev_path, o["tokenizer"], o["max_len"], o["train_size"], o["seed"])
    try:
        want = reference(*args, o["merges"], o["min_freq"], o["share"])
    except ValueError as e:  # a text without tokens: the same CorpusError, file:line
        with pytest.raises(ValueError) as got:
            _load(path, dev_path, o)
        assert str(got.value) == str(e)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = _load(path, dev_path, o)
        except ValueError as e:
            assert want is None or "--min-freq" in str(e), e
            return
    assert want is not None
    train, dev_pairs, skipped, tok, vocabs, train_ex, dev_ex, n_kept = want
    assert (data.train, data.dev, data.skipped) == (train, dev_pairs, skipped)
    assert get_tokenizer(data.tokenizer) == tok
    assert (data.src_vocab, data.tgt_vocab) == vocabs
    assert encoded.encoded_pairs(data, "train") == train_ex
    assert encoded.encoded_pairs(data, "dev") == dev_ex
    assert provenance.fingerprint(data.train) == provenance.fingerprint(train)
    given = None if dev is None else dev_pairs
    assert [str(w.message) for w in caught] == _warnings_of(train, given, skipped, n_kept, o)


def _warnings_of(train, dev, skipped, n_kept, o):
    """The warnings load_data gives, made of the simple path's figures (dev None: held out)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if o["train_size"] is not None and o["train_size"] > n_kept:
            loading._warn_of_train_size(o["train_size"], n_kept, skipped, dev is None)
        loading._warn_of_trained(train, {"dev_data": dev, "test_data": []}, cli=False)
    return [str(w.message) for w in caught]


class Counted:
    """Tokenizer.tokenize, counting the calls of each text by tokenizer name."""

    def __init__(self, monkeypatch):
        self.calls: Counter = Counter()
        tokenize = Tokenizer.tokenize

        def counted(tok, text):
            self.calls[tok.name, text] += 1
            return tokenize(tok, text)

        monkeypatch.setattr(Tokenizer, "tokenize", counted)


def _corpus(tmp_path, n, name="c.tsv"):
    """`n` pairs of texts all different (a corpus named otherwise has others), 1 to 7 words."""
    s, t = name[0], name[0].upper()
    pairs = [(f"{s}{i} " + "w " * (i % 7), f"{t}{i} " + "v " * (i % 5)) for i in range(n)]
    return _write(tmp_path / name, pairs), pairs


@pytest.mark.parametrize("tokenizer", ["word", "wordpunct", "bpe"])
def test_each_training_and_dev_text_is_tokenized_once(tmp_path, monkeypatch, tokenizer):
    """Reading (the check for a text without tokens), --max-len, the vocabularies and the ids
    that train encodes: one tokenize call a text (for BPE: one wordpunct call, its words split
    into pieces once each). Before: 4 calls a training text, 2 a dev text."""
    path, pairs = _corpus(tmp_path, 60)
    dev_path, dev = _corpus(tmp_path, 5, "dev.tsv")
    counted = Counted(monkeypatch)
    data = loading.load_data(data=path, dev_data=dev_path, tokenizer=tokenizer, max_len=5)
    for split in ("train", "dev"):
        encoded.encoded_pairs(data, split)  # what pipeline.train encodes with
    read_with = "wordpunct" if tokenizer == "bpe" else tokenizer
    texts = [t for pair in pairs + dev for t in pair]
    assert counted.calls == Counter((read_with, t) for t in texts)
    assert 0 < data.skipped < len(pairs) and len(data.train) == len(pairs) - data.skipped


@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
def test_train_size_tokenizes_no_pair_it_drops_again(tmp_path, monkeypatch, tokenizer):
    """--train-size 10 --max-len 5 of 200 pairs: each pair is tokenized once as it is read and
    checked (a file's errors are all found), and only the 10 kept again, for their ids (BPE: its
    words were numbered as read). The old code measured all 200 again for --max-len. The kept
    pairs, and the count of those longer than --max-len, are the simple path's."""
    path, pairs = _corpus(tmp_path, 200)
    dev_path, dev = _corpus(tmp_path, 3, "dev.tsv")
    want = reference(path, dev_path, tokenizer, 5, 10, 0, 4000, 1, False)
    counted = Counted(monkeypatch)
    data = loading.load_data(data=path, dev_data=dev_path, tokenizer=tokenizer, max_len=5,
                             train_size=10)  # fmt: skip
    encoded.encoded_pairs(data, "train")
    read_with, again = ("wordpunct", 1) if tokenizer == "bpe" else (tokenizer, 2)
    kept = {t for pair in data.train for t in pair}
    texts = [t for pair in pairs + dev for t in pair]
    assert counted.calls == Counter({(read_with, t): again if t in kept else 1 for t in texts})
    assert (data.train, data.skipped) == (want[0], want[2])
    assert provenance.fingerprint(data.train) == provenance.fingerprint(want[0])


def test_data_changed_after_loading_is_encoded_afresh(tmp_path):
    """encoded_pairs gives load_data's examples only for the pairs, vocabularies and tokenizer
    that made them: a fine-tuning's vocabularies (fine_tune.read_as_run) encode the pairs again."""
    path, _ = _corpus(tmp_path, 40)
    data = loading.load_data(data=path, tokenizer="word")
    other = Vocab(["s1", "w"])
    for changed in (data._replace(src_vocab=other), data._replace(train=data.train[:3]),
                    data._replace(tokenizer="char")):  # fmt: skip
        want = encode_pairs(changed.train, changed.src_vocab, changed.tgt_vocab, changed.tokenizer)
        assert encoded.encoded_pairs(changed, "train") == want


def test_train_encodes_no_training_text_again(tmp_path, monkeypatch):
    """pipeline.train takes load_data's examples (encoded.encoded_pairs): a training text is
    tokenized once from reading to the end of training (dev texts are translated, so read
    again)."""
    from minis2s import pipeline
    from minis2s.train.config import TrainConfig

    path, pairs = _corpus(tmp_path, 12)
    dev_path, _ = _corpus(tmp_path, 2, "dev.tsv")
    counted = Counted(monkeypatch)
    data = loading.load_data(data=path, dev_data=dev_path, tokenizer="word")
    cfg = TrainConfig(epochs=1, batch_size=4)
    pipeline.train(data, {"emb": 2, "hidden": 2}, cfg, str(tmp_path / "run"), progress=False)
    assert [counted.calls["word", t] for pair in pairs for t in pair] == [1] * 24


def test_pairs_changed_in_place_after_loading_are_encoded_afresh(tmp_path):
    """data.train is the user's list: one filtered, extended, reordered or edited in place is
    still the same list, and its examples must be of the pairs it holds now, not of the pairs
    load_data read (a silent wrong answer: training on pairs the user removed)."""
    path, _ = _corpus(tmp_path, 40)
    edits = (
        lambda pairs: pairs.__setitem__(slice(None), pairs[:5]),
        lambda pairs: pairs.append(pairs[0]),
        lambda pairs: pairs.reverse(),
        lambda pairs: pairs.__setitem__(0, (pairs[0][0], pairs[1][1])),
    )
    for edit in edits:
        data = loading.load_data(data=path, tokenizer="word")
        for pairs in (data.train, data.dev):
            edit(pairs)
        for split in ("train", "dev"):
            pairs = getattr(data, split)
            want = encode_pairs(pairs, data.src_vocab, data.tgt_vocab, data.tokenizer)
            assert encoded.encoded_pairs(data, split) == want

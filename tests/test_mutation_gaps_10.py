"""Mutation pass over the code whose mistakes give silently wrong data or models: data/tasks.py
(the built-in generators and their splits), data/loading.py, models/pretrained.py, fine_tune.py,
length_batches.py and long_sources.py. Each test kills a hand-made mutant that the suite let live,
named in its comment; every expected value is worked out by hand or by NumPy, never by the code
under test."""

from __future__ import annotations

import re
import types
import warnings

import numpy as np
import pytest

from minis2s import fine_tune, long_sources, pipeline
from minis2s.data import loading
from minis2s.data.batching import pad
from minis2s.data.bpe import learn_tokenizer
from minis2s.data.tasks import get_task
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import UNK_ID, Vocab
from minis2s.decode import sample
from minis2s.length_batches import decode
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.pretrained import load_vectors


@pytest.fixture(scope="module")
def dates():
    splits = get_task("dates").generate(seed=0)
    return [pair for split in splits.values() for pair in split]


# mutant: NOISE_STD = 0.3 (the docstring's 0.15)
def test_noisy_digits_noise_has_the_documented_std():
    pairs = get_task("noisy-digits").generate(seed=0)["train"]
    noise = []
    for frames, target in pairs:
        digits = [int(c) for c in target[::-1]]  # the source's digits
        noise.append(frames - np.eye(10)[digits])
    std = np.concatenate(noise).std()
    assert abs(std - 0.15) < 0.005  # over ~1e6 values the estimate is within ~1e-4


# mutant: fmts = rng.integers(0, len(DATE_FORMATS) - 1): the last format never written
def test_dates_are_also_written_compactly(dates):
    compact = [(s, t) for s, t in dates if re.fullmatch(r"\d{8}", s)]
    assert compact and all(s == t.replace("-", "") for s, t in compact)


# mutant: f"{d.day}-{_M(d)[:3]}-{d.year}" (the day not padded to two digits: 03-Mar-2021)
def test_dates_dashed_format_pads_the_day(dates):
    dashed = [re.fullmatch(r"(\d+)-[A-Z][a-z]{2}-\d{4}", s) for s, _ in dates]
    days = [m.group(1) for m in dashed if m]
    assert any(d.startswith("0") for d in days) and all(len(d) == 2 for d in days)


def _corpus(tmp_path, name, pairs):
    path = tmp_path / name
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return str(path)


MAX_LEN_PAIRS = [("abc", "cba"), ("ab", "abcdef"), ("abcdef", "ab"), ("a", "b")]
KEPT = [("abc", "cba"), ("a", "b")]  # at most 3 characters on each side


# mutants of loading.within, the simple path that tests/test_load_once.py holds load_data to:
# `< max_len` (a pair of exactly max_len tokens dropped) and `min(...)` (kept for a short side)
def test_within_keeps_exactly_max_len_and_drops_a_long_side():
    assert loading.within(MAX_LEN_PAIRS, get_tokenizer("char"), 3) == (KEPT, 2)


def test_load_data_max_len_keeps_exactly_max_len_and_drops_a_long_side(tmp_path):
    data = _corpus(tmp_path, "train.tsv", MAX_LEN_PAIRS)
    dev = _corpus(tmp_path, "dev.tsv", [("b", "a")])
    d = pipeline.load_data(data=data, dev_data=dev, max_len=3)
    assert d.train == KEPT and d.skipped == 2


# mutant: train, dev, test = splits["train"], splits["test"], splits["dev"]
def test_task_dev_and_test_are_the_generators_own():
    d = pipeline.load_data(task="copy", seed=3)
    splits = get_task("copy").generate(seed=3)
    assert d.dev == splits["dev"] and d.test == splits["test"]


# mutant: a task's tokenizer taken as "char" (en-es is a word task, its table says)
def test_en_es_task_is_read_in_words():
    d = pipeline.load_data(task="en-es")
    assert d.tokenizer == "word" and "perro" in d.tgt_vocab.tokens


# mutant: options["bpe_merges"] = bpe_merges (None for a Tokenizer given, not its merges)
def test_a_given_bpe_tokenizer_records_its_merges(tmp_path):
    pairs = [("low lower lowest", "new newer newest")] * 3 + [("a b", "c d")]
    tok = learn_tokenizer([s for p in pairs for s in p], 6)
    data = _corpus(tmp_path, "train.tsv", pairs)
    dev = _corpus(tmp_path, "dev.tsv", [("low", "new")])
    d = pipeline.load_data(data=data, dev_data=dev, tokenizer=tok)
    assert len(tok.merges) > 0 and d.options["bpe_merges"] == len(tok.merges)


def _model(vocab, emb=3, dtype="float32"):
    cfg = ModelConfig(src_vocab=len(vocab), tgt_vocab=len(vocab), emb=emb, hidden=4)
    return Seq2Seq(cfg, seed=0, dtype=dtype)


# mutant: `if coverage.exact == 0` refuses a file that holds the tokens only lowercased
def test_vectors_found_only_lowercased_are_loaded(tmp_path):
    vocab = Vocab(["Cat", "Dog"])
    path = tmp_path / "v.txt"
    path.write_text("cat 1 2 3\ndog 4 5 6\n", encoding="utf-8")
    model = _model(vocab)
    loaded = load_vectors(model, "src", vocab, path)
    W = np.asarray(model.params["enc.emb.W"])
    assert loaded.coverage.lowercase == 2
    np.testing.assert_array_equal(W[4:6], [[1, 2, 3], [4, 5, 6]])


# mutant: the overflow error names huge[-1], not the first such token
def test_overflow_error_names_the_first_token(tmp_path):
    vocab = Vocab(["x", "y"])
    path = tmp_path / "v.txt"
    path.write_text("x 1e39 0 0\ny 0 1e39 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vector of 'x'"):
        load_vectors(_model(vocab), "src", vocab, path)


# mutant: the repeated-word warning names repeated[-1], not the first repeat
def test_repeated_word_warning_names_the_first(tmp_path):
    vocab = Vocab(["x", "y"])
    path = tmp_path / "v.txt"
    path.write_text("x 1 0 0\ny 0 1 0\nx 2 0 0\ny 0 2 0\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_vectors(_model(vocab), "src", vocab, path)
    (message,) = [str(w.message) for w in caught if "listed again" in str(w.message)]
    assert "2 vocabulary words are" in message and "'x'" in message and "'y'" not in message


# mutant: rngs = [default_rng([seed, i]) ...]: a row's stream by its index, not its place
def test_sampling_draws_from_each_rows_place():
    vocab = Vocab([str(k) for k in range(8)])
    model = _model(vocab, emb=4, dtype="float64")
    rows = [np.array([4, 5, 6]), np.array([7, 8])]
    places, seed = [5, 9], 11
    got = decode(model, rows, method="sample", batch_size=1, nbest=1, seed=seed,
                 options={}, places=places)  # fmt: skip
    for row, place, hyps in zip(rows, places, got, strict=True):
        src, mask = pad([row])
        (want,) = sample(model, src, mask, rng=[np.random.default_rng([seed, place])])
        assert hyps[0].ids == want[0].ids


# mutant: record's default=1 (a run with no training pairs would record a longest source of 1)
def test_no_training_pairs_record_zero():
    assert long_sources.record([]) == 0


# mutant: `if k >= SHOWN` (exactly SHOWN sources would end "and 0 more")
def test_a_note_of_exactly_shown_sources_names_all_and_no_more():
    k = long_sources.SHOWN
    text = long_sources.note([f"line {i}" for i in range(k)], [9] * k, 5, "line", "tokens")
    assert f"line {k - 1} (9)" in text and "more" not in text


def _start(src_vocab, tgt_vocab, params=None):
    model = types.SimpleNamespace(params=params or {})
    tr = types.SimpleNamespace(src_vocab=src_vocab, tgt_vocab=tgt_vocab, model=model)
    return fine_tune.Start("runs/x/best", tr)


# mutant: unknown = sum(example[0].count(UNK_ID) ...) (the target's share counted on sources)
def test_unknown_share_counts_each_side_apart():
    start = _start(Vocab(["a"]), Vocab(["b"]))
    examples = [([4, UNK_ID, 4], [UNK_ID, UNK_ID, 4, 4]), ([4], [UNK_ID, 4])]
    assert fine_tune.unknown_share(examples, start) == {"src": 1 / 4, "tgt": 3 / 6}


# mutants: `for name in params` (order-dependent) and the dtype left out of the hash
def test_params_fingerprint_is_of_names_and_dtypes_not_order():
    a, b = np.zeros(2, np.float32), np.ones(3)
    fp = fine_tune.params_fingerprint
    assert fp({"a": a, "b": b}) == fp({"b": b, "a": a})
    assert fp({"a": a}) != fp({"a": np.zeros(2, np.int32)})  # the same 8 bytes


# mutant: `if set(own) < set(model.params)` lets RUN's extra parameters pass
def test_copy_weights_refuses_a_run_with_other_parameters():
    start = _start(None, Vocab(), params={"a": np.zeros(2), "b": np.zeros(2)})
    model = types.SimpleNamespace(params={"a": np.ones(2)})
    with pytest.raises(ValueError, match="not the model's"):
        fine_tune.copy_weights(model, start)


# mutant: the fix named only when all(unknown.values()), not any
def test_describe_names_the_fix_when_one_side_has_unknowns():
    entry = {"path": "runs/x/best", "params": "2 arrays", "unknown": {"src": 0.0, "tgt": 0.25}}
    assert "to learn them" in fine_tune.describe(entry)


# mutant: LETTERS + " " * 3 (a space 3x, not 4x, as likely as each letter: weight w = 4). Of
# the reverse-string sources of L characters, those with one space (at one of the L - 2 inner
# places, a letter on either side) are w (L - 2) / 26 times as many as those with none, whatever
# the rejection of other strings (it keeps each string's odds against another): so
# w ~ sum_L n1(L) / sum_L n0(L) (L - 2) / 26, L >= 4 (shorter ones are so few that repeats,
# dropped, thin them). Its sampling error is under 0.1, against a gap of 1 to 3 or 5.
def test_reverse_string_draws_a_space_four_times_as_often_as_a_letter():
    splits = get_task("reverse-string").generate(seed=0)
    lengths_spaces = [(len(s), s.count(" ")) for split in splits.values() for s, _ in split]
    n1 = sum(k == 1 for L, k in lengths_spaces if L >= 4)
    n0 = sum((L - 2) / 26 for L, k in lengths_spaces if L >= 4 and k == 0)
    assert abs(n1 / n0 - 4) < 0.4, n1 / n0


# mutant: read_as_run records len(tok.merges) - 1 as the data's bpe_merges
def test_read_as_run_records_the_runs_bpe_merges(tmp_path):
    pairs = [("low lower lowest", "new newer newest")] * 3 + [("a b", "c d")]
    tok = learn_tokenizer([s for p in pairs for s in p], 6)
    data = pipeline.load_data(
        data=_corpus(tmp_path, "train.tsv", pairs), dev_data=_corpus(tmp_path, "dev.tsv", pairs)
    )
    start = _start(data.src_vocab, data.tgt_vocab)
    start.translator.tokenizer = tok
    start.translator.model.cfg = ModelConfig(src_vocab=5, tgt_vocab=5)  # src_features 0: text
    read = fine_tune.read_as_run(data, start)
    assert read.tokenizer is tok and read.options["bpe_merges"] == len(tok.merges) > 0


# mutant: beam_search(..., nbest=1) in length_batches.decode: nbest asked, one given
def test_beam_decode_gives_nbest_hypotheses_per_row():
    model = _model(Vocab([str(k) for k in range(8)]), emb=4)
    rows = [np.array([4, 5, 6]), np.array([7])]
    got = decode(model, rows, method="beam", batch_size=2, nbest=3, seed=0,
                 options={"beam_size": 4})  # fmt: skip
    assert [len(h) for h in got] == [3, 3]
    assert all(len({tuple(x.ids) for x in h}) == 3 for h in got)  # three distinct outputs


# mutant: describe's names swapped ("source" for the target side's share)
def test_describe_puts_each_share_on_its_side():
    entry = {"path": "runs/x/best", "params": "2 arrays", "unknown": {"src": 0.5, "tgt": 0.25}}
    text = fine_tune.describe(entry)
    assert "25.0% of the target tokens" in text and "50.0% of the source tokens" in text

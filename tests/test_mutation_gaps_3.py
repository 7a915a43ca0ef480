"""Behaviours of the newest code (_warn, the token ids load_data reads a corpus into, the option
types and size checks of the command line, checkpoints read whole) that a mutation test found
untested: each test here failed on a one-line mutant of the library (named in its comment) that
every other test passed."""

import argparse
import os
import subprocess
import sys
import warnings

import pytest

from minis2s import _warn, cli_options, cli_types
from minis2s.cli import build_parser
from minis2s.data import bpe, loading
from minis2s.data.batching import encode_pairs
from minis2s.data.corpus import CorpusError, read_corpus
from minis2s.data.corpus_splits import corpus_splits
from minis2s.data.encoded import encoded_pairs
from minis2s.data.vocab import Vocab

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- _warn: where a warning is placed, and how often it is shown ------------------------------


def _too_few_pairs() -> None:
    """A warning from inside minis2s (load_data's: a --train-size above the pairs there are)."""
    loading._warn_of_train_size(5, 3, 0, False)


def test_warn_called_directly_is_placed_at_its_callers_line():
    """warn starts at the frame that called it: called from outside the package, that frame is
    the caller's own. Mutant: caller_frame(sys._getframe(2)), which placed it a frame further out
    (pytest's)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        _warn.warn("x")
        line = sys._getframe().f_lineno - 1
    assert (w[0].filename, w[0].lineno) == (__file__, line)


def test_a_warning_under_the_default_filter_is_shown_once_at_its_line():
    """Python's "default" action shows a warning once a place, as warnings.warn does, by the
    caller module's __warningregistry__: a loop over translate must not repeat it each time.
    Mutant: warn_explicit(registry=None), which showed it at every call."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("default")
        for _ in range(3):
            _too_few_pairs()
    assert len(w) == 1, [str(r.message) for r in w]


def test_a_file_beside_the_package_whose_name_starts_like_it_is_the_callers():
    """A script next to the package directory, `minis2s_demo.py`, is not minis2s's file: the
    warning is placed in it. Mutant: PACKAGE_DIR without its trailing separator, which took
    every path that starts with '.../minis2s' for the package's."""
    package = os.path.dirname(os.path.abspath(_warn.__file__))
    script = package + "_demo.py"
    source = (
        "import sys\n\nwarn_of_train_size(5, 3, 0, False)\nline = sys._getframe().f_lineno - 1\n"
    )
    names = {"warn_of_train_size": loading._warn_of_train_size}  # a function of minis2s
    code = compile(source, script, "exec")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        exec(code, names)
    assert (w[0].filename, w[0].lineno) == (script, names["line"])


def test_a_warning_under_python_c_is_shown_not_raised():
    """`python -c` and the interactive interpreter run __main__ with the built-in importer as its
    loader, whose get_source raises ImportError: warn_explicit(module_globals=__main__'s) raised
    that in place of each minis2s warning, on every Python from 3.10 (warnings.warn reads no
    source line there)."""
    code = "from minis2s.data import loading; loading._warn_of_train_size(5, 3, 0, False)"
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "<string>:1: UserWarning: train_size=5 asks for more" in done.stderr


# --- load_data: the token ids it reads a corpus into ------------------------------------------


def _pairs(n: int, long_every: int = 0) -> list[tuple[str, str]]:
    """`n` distinct pairs of 1 or 2 words a side; with `long_every`, every that many a pair of 4
    words a side."""
    pairs = []
    for i in range(n):
        k = 4 if long_every and i % long_every == 0 else 1 + i % 2
        pairs.append(
            (" ".join(f"s{i}x{j}" for j in range(k)), " ".join(f"t{i}y{j}" for j in range(k)))
        )
    return pairs


def _tsv(path, pairs) -> str:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return str(path)


def test_max_len_drops_the_long_pairs_of_a_shuffled_training_split(tmp_path):
    """With dev held out, training is the corpus in shuffled order: a pair's length is looked up
    by its row in the corpus, not by its place in training. Mutant: `long[k]` for `long[r]`,
    which dropped the pairs at the places of the long ones."""
    pairs = _pairs(60, long_every=3)
    data = loading.load_data(data=_tsv(tmp_path / "c.tsv", pairs), tokenizer="word", max_len=2)
    assert all(len(s.split()) <= 2 and len(t.split()) <= 2 for s, t in data.train)
    short = {p for p in pairs if len(p[0].split()) <= 2}
    assert set(data.train) == short - set(data.dev)
    assert data.skipped == len(pairs) - len(short) - len(set(data.dev) - short)


def test_a_held_out_dev_split_is_encoded_in_its_own_order(tmp_path):
    """load_data's dev examples are those of data.dev, pair for pair, with 3 pairs held out of 60
    (in the order of the seeded shuffle, not the corpus's). Mutant: the dev rows sorted."""
    data = loading.load_data(data=_tsv(tmp_path / "c.tsv", _pairs(60)), tokenizer="word", seed=1)
    assert len(data.dev) == 3
    want = encode_pairs(data.dev, data.src_vocab, data.tgt_vocab, data.tokenizer)
    assert encoded_pairs(data, "dev") == want


def test_another_target_vocabulary_encodes_the_pairs_afresh(tmp_path):
    """encoded_pairs gives load_data's examples only for the target vocabulary that made them.
    Mutant: the check of tgt_vocab dropped (the source one and the tokenizer's were tested)."""
    data = loading.load_data(data=_tsv(tmp_path / "c.tsv", _pairs(40)), tokenizer="word")
    changed = data._replace(tgt_vocab=Vocab(["t1y0", "t2y1"]))
    want = encode_pairs(changed.train, changed.src_vocab, changed.tgt_vocab, "word")
    assert encoded_pairs(changed, "train") == want


def test_a_test_text_without_tokens_is_refused_naming_its_file_and_line(tmp_path):
    """The test corpus is read with the tokenizer as the others are: a text that has no tokens
    (a source of spaces, for "word") is a CorpusError at its file and line. Mutant: the test
    corpus read without a tokenizer, which let it through."""
    data = _tsv(tmp_path / "c.tsv", _pairs(40))
    test = _tsv(tmp_path / "test.tsv", [("a", "b"), ("   ", "c")])
    with pytest.raises(CorpusError, match=r"test\.tsv:2: the source has no word tokens"):
        loading.load_data(data=data, test_data=test, tokenizer="word")


@pytest.mark.parametrize("dev", [False, True])
def test_train_size_numbers_the_tokens_of_the_pairs_kept_only(tmp_path, dev):
    """With --train-size (not BPE) the reader keeps each text's length only, and the pairs kept
    (and dev) are tokenized again for their ids: the tokens numbered are theirs, not every token
    of the corpus (what --train-size on a large corpus saves). Mutant: TextIds(index) for
    TextIds(index, keep=not lazy), which numbered the whole corpus."""
    path = _tsv(tmp_path / "c.tsv", _pairs(60))
    dev_path = _tsv(tmp_path / "dev.tsv", _pairs(3)[::-1]) if dev else None
    train, dev_pairs, *_, ids = corpus_splits(path, dev_path, None, "word", None, 0, None, 5)
    kept = [text for pair in train[:5] + dev_pairs for text in pair]
    assert sorted(t for (t,) in ids.tokens) == sorted({t for text in kept for t in text.split()})


def test_bpe_with_train_size_encodes_the_pairs_kept_only(tmp_path):
    """--tokenizer bpe --train-size 5: BPE numbers every word as read (no second tokenization),
    so load_data cuts the training rows it encodes to the 5 kept. Mutant: the rows left whole,
    which gave all 40 pairs' examples for data.train's 5."""
    path = _tsv(tmp_path / "c.tsv", _pairs(40))
    dev = _tsv(tmp_path / "dev.tsv", _pairs(3))
    data = loading.load_data(data=path, dev_data=dev, tokenizer="bpe", bpe_merges=20, train_size=5)
    want = encode_pairs(data.train, data.src_vocab, data.tgt_vocab, data.tokenizer)
    assert len(data.train) == 5 and encoded_pairs(data, "train") == want


def test_a_train_size_of_exactly_the_pairs_there_are_is_not_warned_of(tmp_path):
    """--train-size 40 of 40 training pairs takes them all, as asked: no warning. Mutant:
    `train_size >= len(train)`, which warned that it asked for more than there are."""
    path = _tsv(tmp_path / "c.tsv", _pairs(40))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        data = loading.load_data(data=path, dev_data=path, tokenizer="word", train_size=40)
    assert len(data.train) == 40
    assert not [str(r.message) for r in w if "--train-size" in str(r.message)]


def test_a_corpus_with_no_source_vocabulary_given_is_refused_by_its_encoding(tmp_path):
    """vocabs=(None, tgt_vocab) is for feature sources: for a corpus load_data encodes nothing
    ahead, and encoding its pairs says what is missing. Mutant: load_data encoding the ids with
    None as the source vocabulary, an AttributeError that named nothing."""
    path = _tsv(tmp_path / "c.tsv", _pairs(40))
    data = loading.load_data(data=path, tokenizer="word")
    with pytest.raises(ValueError, match="src_vocab"):
        given = loading.load_data(data=path, tokenizer="word", vocabs=(None, data.tgt_vocab))
        encoded_pairs(given, "train")


def test_with_the_vocabularies_given_each_training_text_is_tokenized_once(tmp_path, monkeypatch):
    """A fine-tuning's load_data (vocabs given) encodes the pairs from the ids it read, as a new
    run's does: one tokenize call a text. Mutant: load_data encoding only where it built the
    vocabularies, so encoded_pairs tokenized every pair again."""
    from collections import Counter

    from minis2s.data.tokenize import Tokenizer

    pairs = _pairs(40)
    path = _tsv(tmp_path / "c.tsv", pairs)
    first = loading.load_data(data=path, dev_data=path, tokenizer="word")
    calls: Counter = Counter()
    tokenize = Tokenizer.tokenize
    monkeypatch.setattr(Tokenizer, "tokenize", lambda tok, t: calls.update([t]) or tokenize(tok, t))
    data = loading.load_data(data=path, dev_data=path, tokenizer="word",
                             vocabs=(first.src_vocab, first.tgt_vocab))  # fmt: skip
    encoded_pairs(data, "train")
    assert calls == Counter(text for pair in pairs * 2 for text in pair)  # as train, as dev


@pytest.mark.parametrize("files", [1, 2])
def test_read_corpus_refuses_record_without_a_tokenizer(tmp_path, files):
    """`record` is given each kept text's tokens, which only a tokenizer makes: without one,
    read_corpus called it never, and the caller's ids came back empty (max_len without a
    tokenizer is refused the same way)."""
    path = _tsv(tmp_path / "c.tsv", _pairs(4))
    if files == 2:
        for side, name in enumerate(("c.src", "c.tgt")):
            (tmp_path / name).write_text("".join(p[side] + "\n" for p in _pairs(4)))
        path = [str(tmp_path / "c.src"), str(tmp_path / "c.tgt")]
    recorded: list = []
    with pytest.raises(ValueError, match="record needs a tokenizer"):
        read_corpus(path, record=recorded.append)
    assert read_corpus(path, "word", record=recorded.append) == _pairs(4)
    assert recorded == [text.split() for pair in _pairs(4) for text in pair]


# --- bpe.word_pieces: the ranks of the merges --------------------------------------------------


def test_of_two_overlapping_merges_the_earlier_goes_first_and_a_repeat_keeps_its_first_place():
    """ "abc" with (b, c) learned before (a, b) is a + bc; the other way round, ab + c; a rule
    learned again later keeps its first place. Mutants: word_pieces ranking the merges in
    reverse, and a repeated rule taking its last rank (ranks[pair] = rank)."""
    assert bpe.bpe_tokenizer([("b", "c"), ("a", "b")]).tokenize("abc") == ["a@@", "bc"]
    assert bpe.bpe_tokenizer([("a", "b"), ("b", "c")]).tokenize("abc") == ["ab@@", "c"]
    again = bpe.bpe_tokenizer([("a", "b"), ("b", "c"), ("a", "b")])
    assert again.tokenize("abc abcbc") == ["ab@@", "c", "ab@@", "c@@", "bc"]


# --- the command line's option types and size checks --------------------------------------------


def test_an_empty_path_and_a_blank_one_are_refused_each_in_its_words():
    """'' is named as an unset shell variable, any text of whitespace only (not just one space)
    as a blank path. Mutants: the '' check dropped (it fell to the blank one's words), and the
    blank check as `text == " "`, which let two spaces or a TAB make a directory."""
    with pytest.raises(argparse.ArgumentTypeError, match="an empty path .an unset shell var"):
        cli_types.path("")
    for blank in ("  ", "\t", " \n"):
        with pytest.raises(argparse.ArgumentTypeError, match="a blank path"):
            cli_types.path(blank)
    assert cli_types.path(" a ") == " a "  # a name with spaces is a name


def test_minus_zero_is_read_as_zero():
    """`--max-len-a -0` is 0, and translate's note of outputs cut at the maximum length says
    "--max-len-a 0.0", not "-0.0". Mutant: non_negative_float returning the value as parsed."""
    for option in ("--max-len-a", "--coverage-penalty"):
        args = build_parser().parse_args(["translate", "--checkpoint", "RUN", f"{option}=-0"])
        value = getattr(args, option[2:].replace("-", "_"))
        assert (value, str(value)) == (0.0, "0.0")


def test_a_hidden_size_too_large_for_memory_is_refused_naming_it():
    """--hidden 10**6 on one layer a side: an H x H matrix a layer is 8 TB of float32, refused by
    check_model_fits, naming --hidden. Mutant: the least size counted as layers * H * 4 bytes
    (8 MB), which let it through to an allocation that failed."""
    with pytest.raises(ValueError, match="--hidden 1000000 need.*more than this machine's"):
        cli_options.check_model_fits({"enc_layers": 1, "dec_layers": 1, "hidden": 10**6})


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="no memory size to check (Windows)")
def test_a_model_is_refused_by_this_machines_memory_in_bytes():
    """Recurrent weights of an eighth of the machine's memory pass check_model_fits; twice its
    memory is refused. Mutants: the memory counted in pages (SC_PHYS_PAGES alone, 4096 times too
    small), refused only beyond 1024 times the memory, and any stack of over 1000 layers
    refused, however small."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cli_options.check_model_fits({"enc_layers": 5000, "dec_layers": 1, "hidden": 2})  # 80 kB
    for share, refused in ((1 / 8, False), (2, True)):
        H = round((share * memory / (2 * 4)) ** 0.5)  # 2 layers of H x H float32
        model = {"enc_layers": 1, "dec_layers": 1, "hidden": H}
        if refused:
            with pytest.raises(ValueError, match="more than this machine's"):
                cli_options.check_model_fits(model)
        else:
            cli_options.check_model_fits(model)


def test_one_of_max_len_a_and_max_len_b_at_zero_is_a_length_still():
    """--max-len-b 0 (the length a x |source| alone) and --max-len-a 0 (b alone) are lengths;
    only both at 0 allow no output token. Mutant: _check_sizes refusing --max-len-b 0 whatever
    --max-len-a is."""
    from minis2s.cli_decoding import decode_kwargs

    for a, b in (("2", "0"), ("0", "3")):
        argv = ["translate", "--checkpoint", "RUN", "--max-len-a", a, "--max-len-b", b]
        kwargs = decode_kwargs(build_parser().parse_args(argv))
        assert (kwargs["max_len_a"], kwargs["max_len_b"]) == (float(a), int(b))


def test_gradcheck_only_takes_any_text_but_the_empty_one():
    """--only is a substring of the cases' names, some of which hold spaces ("stack.rnn (2
    layers, bi, dropout)"): " " is a filter, '' (an unset variable) is refused. Mutant: text()
    refusing whitespace as path() does."""
    assert build_parser().parse_args(["gradcheck", "--only", " "]).only == " "
    with pytest.raises(argparse.ArgumentTypeError, match="empty"):
        cli_types.text("")


def test_a_number_option_names_what_it_wants_for_text_that_is_no_number():
    """--alpha abc: "must be a finite number", as for nan; not argparse's "invalid finite_float
    value", which names a Python function. Mutant: finite_float calling float() unguarded."""
    with pytest.raises(argparse.ArgumentTypeError, match="must be a finite number; got 'abc'"):
        cli_types.finite_float("abc")


# --- checkpoint_read.Folder: the directory opened, not what its name holds now ----------------


def test_with_openat_has_answers_for_the_directory_opened(tmp_path):
    """A save that replaces the checkpoint after the load opened it puts other files under its
    name: `has` looks in the directory opened, as `open` reads from it, so a load never mixes
    the two. Mutant: `has` looking by path (what the name holds now)."""
    from minis2s.train import checkpoint_read

    assert checkpoint_read._DIR_FD  # POSIX systems have it
    path = tmp_path / "last"
    path.mkdir()
    (path / "model.npz").write_bytes(b"old")
    folder = checkpoint_read.Folder(path)
    try:
        path.rename(tmp_path / ".last.old")  # a save's two renames
        path.mkdir()
        (path / "optimizer.npz").write_bytes(b"new")
        assert (folder.has("model.npz"), folder.has("optimizer.npz")) == (True, False)
        assert folder.found_missing
    finally:
        folder.close()

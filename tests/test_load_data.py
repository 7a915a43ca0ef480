"""pipeline.load_data's arguments, checked before any file is read: a corpus path that is empty
or not a path, and counts that are not integers, are refused with a message naming the option;
none is taken for "not given"."""

import warnings

import pytest

from minis2s import pipeline

PAIRS = "".join(f"w{i} x{i}\ty{i} z{i}\n" for i in range(40))


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(PAIRS)
    return str(path)


@pytest.mark.parametrize("option", ["dev_data", "test_data"])
@pytest.mark.parametrize("empty", ["", [], ()])
def test_an_empty_dev_or_test_path_is_refused_not_ignored(corpus, option, empty):
    """An empty --dev-data (an unset variable: dev_data=os.environ.get("DEV", "")) is no dev
    set: read as "not given", the run held out 5% of --data, and recorded the working directory
    as its dev data, where --resume then found a directory."""
    with pytest.raises(ValueError, match=f"load_data: {option} .*empty"):
        pipeline.load_data(data=corpus, **{option: empty})


@pytest.mark.parametrize("empty", ["", [], ["", ""]])
def test_an_empty_data_path_is_named(corpus, empty):
    with pytest.raises(ValueError, match="load_data: data .*empty"):
        pipeline.load_data(data=empty)


def test_a_path_that_is_not_text_is_named(corpus):
    with pytest.raises(ValueError, match=r"load_data: data: .*str or pathlib\.Path.*bytes"):
        pipeline.load_data(data=corpus.encode())
    with pytest.raises(ValueError, match=r"load_data: dev_data: .*str or pathlib\.Path.*int"):
        pipeline.load_data(data=corpus, dev_data=[corpus, 3])


@pytest.mark.parametrize(
    ("option", "value"),
    [("train_size", 2.5), ("max_len", 2.5), ("max_len", True), ("train_size", "10")],
)
def test_a_count_that_is_not_an_integer_is_named(corpus, option, value):
    """train_size=2.5 failed in a list slice; max_len=2.5 and max_len=True were used as 2.5 and
    1."""
    with pytest.raises(
        ValueError, match=f"^load_data: {option} must be an integer >= 1.*got {value!r}"
    ):
        pipeline.load_data(data=corpus, tokenizer="word", **{option: value})


def test_a_negative_or_fractional_seed_is_named(corpus):
    for seed in (-1, 0.5):
        with pytest.raises(ValueError, match=f"seed must be an integer >= 0; got {seed}"):
            pipeline.load_data(data=corpus, seed=seed)


@pytest.mark.parametrize("max_vocab", [0, 3, 4])
def test_a_max_vocab_of_the_specials_or_less_names_the_keyword(corpus, max_vocab):
    """max_vocab=0 (which some tools read as "no limit") was refused in Vocab.build's words."""
    with pytest.raises(ValueError, match=f"max_vocab={max_vocab} .*leave it out for no limit"):
        pipeline.load_data(data=corpus, tokenizer="word", max_vocab=max_vocab)


@pytest.mark.parametrize("min_freq", [0, -1, 1.5])
def test_a_min_freq_below_one_names_the_keyword(corpus, min_freq):
    with pytest.raises(ValueError, match=f"min_freq must be an integer >= 1; got {min_freq}"):
        pipeline.load_data(data=corpus, tokenizer="word", min_freq=min_freq)


def test_paths_given_as_path_objects_and_tuples_still_read(corpus, tmp_path):
    from pathlib import Path

    src, tgt = tmp_path / "c.src", tmp_path / "c.tgt"
    src.write_text("".join(line.split("\t")[0] + "\n" for line in PAIRS.splitlines()))
    tgt.write_text("".join(line.split("\t")[1] + "\n" for line in PAIRS.splitlines()))
    a = pipeline.load_data(data=Path(corpus), dev_data=(src, str(tgt)), tokenizer="word")
    b = pipeline.load_data(data=[src, tgt], dev_data=corpus, tokenizer="word")
    assert a.train == b.dev and len(a.train) == 40


def test_dev_and_test_pairs_that_are_training_pairs_are_warned_of(corpus, tmp_path):
    """--dev-data the same file as --data trained on its dev pairs without a word: its dev
    figures (best/, early stopping) and test figures scored pairs the model had learnt."""
    dev = tmp_path / "dev.tsv"
    dev.write_text("w1 x1\ty1 z1\nnew pair\tnouvelle paire\n")
    with pytest.warns(UserWarning) as caught:
        pipeline.load_data(data=corpus, dev_data=corpus, test_data=str(dev))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert messages[0].startswith("all 40 dev_data pairs are also in the training pairs")
    assert messages[1].startswith("1 of the 2 test_data pairs (50%) is also in the training")
    other = tmp_path / "other.tsv"
    other.write_text("a b\tc d\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a held-out dev split, which never is one
        pipeline.load_data(data=corpus, test_data=str(other))

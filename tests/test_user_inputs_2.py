"""More of what a user gives by habit or by mistake: a string where a bool belongs, a train size
past the corpus, a text holding a tab or a backslash, a line far longer than any the model
learnt from. Each gets what was meant, or a message (or note) that names the problem and the
fix, not a silent wrong answer."""

import io
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from minis2s import pipeline, scoring
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.long_sources import LongSourceWarning
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig
from tests.tiny_run import TINY, train_tiny

FORMAT1 = Path(__file__).parent / "data" / "format1"  # a run saved before the figure
PAIRS = [("12", "21"), ("345", "543")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("user2") / "run")


@pytest.fixture(scope="module")
def tr(run):
    return Translator.load(run)


# 1. A bool parameter of the API refuses what is not a bool: "no" is a true string.


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None, [False]])
def test_evaluate_bleu_takes_a_bool_only(tr, value):
    """bleu="no" computed BLEU (a non-empty string is true), and bleu=0 skipped it."""
    for call in (
        lambda: tr.evaluate(PAIRS, bleu=value),
        lambda: tr.evaluate_translations(PAIRS, tr.translate([s for s, _ in PAIRS]), bleu=value),
    ):
        with pytest.raises(ValueError, match=re.escape(f"evaluate: bleu={value!r}; give True")):
            call()


def test_a_numpy_bool_is_a_bool(tr):
    """np.bool_ (what a comparison of arrays gives) is taken as the bool it is."""
    assert "bleu" not in tr.evaluate(PAIRS, bleu=np.False_)


def test_score_and_encode_count_take_a_bool_only(tr):
    with pytest.raises(ValueError, match=r"score: count_sources='no'.*give True or False"):
        scoring.score(tr, PAIRS, count_sources="no")
    with pytest.raises(ValueError, match=r"translate: count='no'.*give True or False"):
        tr.encode_sources(["12"], count="no")


@pytest.mark.parametrize("name", ["resume", "progress", "cli"])
def test_train_flags_take_a_bool_only(tmp_path, name):
    """pipeline.train(resume="yes") resumed (or, with no run there, refused with 'no checkpoint
    to resume from'), and resume="no" resumed too."""
    data = pipeline.load_data(task="reverse-digits", train_size=8)
    with pytest.raises(ValueError, match=rf"train: {name}='no'.*give True or False"):
        pipeline.train(data, {"hidden": 4, "emb": 4}, TrainConfig(epochs=1), str(tmp_path / "r"),
                       **{name: "no"})  # fmt: skip
    assert not (tmp_path / "r").exists()


# 2. --train-size past the corpus: all of it trains, and the user is told so.


@pytest.fixture
def corpus(tmp_path):
    """A corpus of 10 training pairs and a dev file of 2."""
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train.write_text("".join(f"a{i} b\tc d{i}\n" for i in range(10)))
    dev.write_text("x y\tz w\nu v\tp q\n")
    return train, dev


def test_load_data_warns_of_a_train_size_past_the_pairs(corpus):
    """train_size=50 of a corpus of 10 training pairs silently took the 10."""
    train, dev = corpus
    with pytest.warns(UserWarning, match=r"^train_size=50 asks .*10 training pairs"):
        data = pipeline.load_data(data=str(train), dev_data=str(dev), train_size=50)
    assert len(data.train) == 10
    with pytest.warns(UserWarning, match=r"the 9 training pairs there are \(5% of the corpus held"):
        pipeline.load_data(data=str(train), train_size=50)  # one of 10 held out for dev
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a train size the corpus has, or all of it: no note
        pipeline.load_data(data=str(train), dev_data=str(dev), train_size=10)
        pipeline.load_data(data=str(train), dev_data=str(dev), train_size=3)


def test_train_notes_a_train_size_past_the_pairs(corpus, tmp_path, capsys):
    train, dev = corpus
    args = ["train", "--data", str(train), "--dev-data", str(dev), "--train-size", "50",
            "--epochs", "1", "--hidden", "4", "--emb", "4", "--show", "0", "--quiet"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "minis2s train: note: --train-size 50 asks for more than the 10" in err
    assert "all 10 are used" in err


# 3. score --with-text writes each text so that it reads back as it was.

UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def unescaped(column: str) -> str:
    """A --with-text column read back, as README's score section says."""
    return re.sub(r"\\[\\tnr]", lambda m: UNESCAPE[m.group(0)], column)


def test_score_with_text_tells_a_backslash_t_from_a_tab(run, tmp_path, capsys):
    """A TAB inside a text was written as backslash-t, and so was a text's own backslash-t: the
    two lines below came out the same. Now a backslash is written as two, and each column
    reads back as the text it was."""
    src, tgt = tmp_path / "src.txt", tmp_path / "tgt.txt"
    sources = ["1\\t2", "1\t2", "3\\\\t4\\"]  # a backslash and t; a tab; backslashes
    src.write_text("".join(s + "\n" for s in sources), encoding="utf-8")
    tgt.write_text("21\n2\t1\n4\\t3\n", encoding="utf-8")
    assert main(["score", "--checkpoint", str(run), "--data", str(src), str(tgt),
                 "--with-text"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()[:3]
    columns = [line.split("\t")[3:] for line in lines]
    assert all(len(c) == 2 for c in columns)  # a tab inside a text splits no column
    assert columns[0][0] != columns[1][0]
    assert [tuple(map(unescaped, c)) for c in columns] == list(
        zip(sources, ["21", "2\t1", "4\\t3"], strict=True)
    )


# 4. A source longer than any the model trained on is named, with what to expect of it.

LONG = "1234567890" * 4  # 40 tokens (characters); reverse-digits' sources have at most 10


def trained_longest(train_size: int = 64, seed: int = 0) -> int:
    """The longest source, in tokens, of TINY's training pairs."""
    data = pipeline.load_data(task="reverse-digits", train_size=train_size, seed=seed)
    return max(len(list(s)) for s, _ in data.train)  # the char tokenizer: one token a digit


def test_a_run_records_its_longest_training_source(run, tr):
    longest = trained_longest()
    for which in ("best", "last"):
        assert checkpoint.load_config(run / which)["data"]["longest_source"] == longest
    assert tr.longest_source == longest


def test_translate_warns_of_a_source_longer_than_any_trained_on(tr):
    longest = tr.longest_source
    with pytest.warns(UserWarning) as caught:
        tr.translate(["12", LONG])
    assert [str(w.message) for w in caught] == [
        f"sources[1] has 40 tokens, longer than any training source (at most {longest}): its "
        "translation is likely poor"
    ]
    with pytest.warns(
        LongSourceWarning,
        match=r"2 sources are longer than any training source "
        rf"\(at most {longest} tokens\): sources\[0\] \(40\), sources\[2\] \(41\)",
    ):
        tr.translate([LONG, "1", LONG + "1"])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr.translate(["1" * longest, "12"])  # as long as the longest: no warning


def test_translate_notes_the_lines_longer_than_any_trained_on(run, tr, capsys, monkeypatch):
    """The note names lines as the output has them (a blank line keeps its place), once: the
    API's warning, which names sources[i], is not printed beside it."""
    longest = tr.longest_source
    monkeypatch.setattr("sys.stdin", io.StringIO(f"12\n\n{LONG}\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    err = capsys.readouterr().err
    assert (
        f"note: line 3 has 40 tokens, longer than any training source (at most {longest}): "
        "its translation is likely poor\n"
    ) in err
    assert "sources[" not in err
    assert main(["translate", "--checkpoint", str(run), LONG, "1", LONG]) == 0
    err = capsys.readouterr().err
    assert "note: 2 sentences are longer than any training source (at most " in err
    assert ": sentence 1 (40), sentence 3 (40); their translations are likely poor" in err
    assert main(["translate", "--checkpoint", str(run), "12"]) == 0
    assert "training source" not in capsys.readouterr().err


def test_an_old_checkpoint_has_no_figure_and_gives_no_note(capsys):
    """A run saved before minis2s recorded the figure loads, and translates without a word."""
    tr = Translator.load(FORMAT1 / "last")
    assert tr.longest_source is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr.translate([LONG])
    assert main(["translate", "--checkpoint", str(FORMAT1 / "last"), LONG]) == 0
    assert "training source" not in capsys.readouterr().err


def test_a_resumed_old_run_records_the_figure_of_its_data(tmp_path):
    """Resuming a run saved before the figure is not refused as other data, and its new
    checkpoints hold the figure of the same data."""
    run = tmp_path / "run"
    shutil.copytree(FORMAT1 / "last", run / "last")
    assert main(["train", "--task", "reverse-digits", "--train-size", "3000", "--out", str(run),
                 "--resume", "--epochs", "4", "--quiet"]) == 0  # fmt: skip
    assert checkpoint.load_config(run / "last")["data"]["longest_source"] == trained_longest(3000)


def test_resume_and_init_from_keep_the_figure_of_their_data(run, tmp_path):
    """A resumed run goes on with the same data, so the same figure; a run started from another
    (--init-from) has the figure of its own training pairs, not the other run's."""
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    assert main(["train", *TINY, "--out", str(resumed), "--resume", "--epochs", "2"]) == 0
    assert Translator.load(resumed).longest_source == trained_longest()
    corpus = tmp_path / "short.tsv"
    corpus.write_text("".join(f"{i}{i + 1}\t{i + 1}{i}\n" for i in range(8)))  # 2 tokens each
    tuned = tmp_path / "tuned"
    assert main(["train", "--init-from", str(run), "--data", str(corpus), "--dev-data",
                 str(corpus), "--epochs", "1", "--quiet", "--show", "0",
                 "--out", str(tuned)]) == 0  # fmt: skip
    assert Translator.load(tuned).longest_source == 2


def test_evaluate_notes_the_pairs_longer_than_any_trained_on(run, tr, tmp_path, capsys):
    """`minis2s evaluate` names a long source by its pair, numbered from 1 as the corpus has
    them; the API's warning, which names sources[i] of a list the user never wrote, is not
    printed beside it."""
    corpus = tmp_path / "long.tsv"
    corpus.write_text(f"12\t21\n{LONG}\t{LONG[::-1]}\n345\t543\n{LONG}1\t1{LONG[::-1]}\n")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(corpus)]) == 0
    err = capsys.readouterr().err
    assert (
        f"note: 2 pairs are longer than any training source (at most {tr.longest_source} "
        "tokens): pair 2 (40), pair 4 (41); their translations are likely poor\n"
    ) in err
    assert "sources[" not in err


def _train_on_four_token_pairs(tmp_path, capsys, *split_options: str) -> str:
    """`minis2s train` on pairs of 4 tokens with `split_options` (--dev-data, --test-data...);
    what it wrote on stderr."""
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{i}{i + 1}\t{i + 1}{i}\n" for i in range(10, 30)))  # 4 tokens
    assert main(["train", "--data", str(train), *split_options, "--hidden", "8", "--emb", "8",
                 "--quiet", "--show", "0", "--out", str(tmp_path / "run")]) == 0  # fmt: skip
    return capsys.readouterr().err


def test_trains_final_figures_note_the_test_pairs_longer_than_any_trained_on(tmp_path, capsys):
    """The test figures at the end of `minis2s train` name a long test source by its pair."""
    test = tmp_path / "test.tsv"
    test.write_text(f"12\t21\n{LONG}\t{LONG[::-1]}\n")
    train = str(tmp_path / "train.tsv")
    err = _train_on_four_token_pairs(tmp_path, capsys, "--dev-data", train, "--test-data",
                                     str(test), "--epochs", "1")  # fmt: skip
    assert (
        "note: test pair 2 has 40 tokens, longer than any training source (at most 4): its "
        "translation is likely poor\n"
    ) in err
    assert "sources[" not in err


def test_train_notes_the_dev_pairs_longer_than_any_trained_on_once(tmp_path, capsys):
    """The dev evaluation names a long dev source by its pair once, not at each evaluation."""
    dev = tmp_path / "dev.tsv"
    dev.write_text(f"12\t21\n345\t543\n{LONG}\t{LONG[::-1]}\n")
    err = _train_on_four_token_pairs(tmp_path, capsys, "--dev-data", str(dev), "--epochs", "3")
    said = (
        "note: dev pair 3 has 40 tokens, longer than any training source (at most 4): its "
        "translation is likely poor\n"
    )
    assert err.count(said) == 1
    assert "sources[" not in err

"""More of what a user gives by habit or by mistake: a string where a bool belongs, a train size
past the corpus, a text holding a tab or a backslash, a line far longer than any the model
learnt from. Each gets what was meant, or a message (or note) that names the problem and the
fix, not a silent wrong answer."""

import re

import numpy as np
import pytest

from minis2s import pipeline, scoring
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.train.config import TrainConfig

TINY = [
    "--task", "reverse-digits", "--train-size", "64", "--epochs", "1", "--hidden", "8",
    "--emb", "8", "--dev-size", "16", "--batch-size", "32", "--show", "0", "--quiet",
]  # fmt: skip
PAIRS = [("12", "21"), ("345", "543")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("user2") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


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

"""Boundaries of today's checks that a mutation test found untested: each test here failed on a
one-line mutant of the library (a `>` made `>=`, a limit doubled, a figure taken of the wrong
side or member) that every other test passed."""

import io
import os
import warnings

import numpy as np
import pytest

from minis2s import long_sources
from minis2s._ensemble_checks import check_distinct
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.train.config import TrainConfig
from minis2s.train.divergence import NonFiniteLoss, check_update
from minis2s.train.optim import Adagrad
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("gaps") / "run")


def test_adagrad_takes_float32s_largest_accumulator_and_refuses_just_past_it():
    """float32's largest number is finite there (its square root, the first step's divisor, is
    too); 3.5e38 is past it and rounds to inf."""
    p = {"W": np.ones(3, np.float32)}
    Adagrad(p, initial_accumulator_value=float(np.finfo(np.float32).max))
    with pytest.raises(ValueError, match=r"initial_accumulator_value=3.5e\+38 is beyond float32"):
        Adagrad(p, initial_accumulator_value=3.5e38)


@pytest.mark.parametrize("optimizer", ["adamw", "AdamW"])
def test_train_config_refuses_an_adamw_decay_factor_of_exactly_one(optimizer):
    """lr * weight_decay = 1 multiplies every weight by 0 at each update (the optimizer's name is
    taken in any case, as everywhere in TrainConfig)."""
    with pytest.raises(ValueError, match=r"lr \* weight_decay = 0.5 \* 2 = 1 >= 1"):
        TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=2.0)
    TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=1.99)


def test_a_loss_just_past_float64s_perplexity_stops_the_update():
    """709.78 nats a token is where exp overflows float64; 710 is past it."""
    with pytest.raises(NonFiniteLoss, match=r"step 3: loss 710 nats a token"):
        check_update(3, 710.0, 1.0, 0.0, np.float32, lambda: "")


def test_the_longest_source_is_the_sources_not_the_targets():
    assert long_sources.record([([1, 2, 3], [1]), ([1], [1, 2, 3, 4, 5])]) == 3


@pytest.mark.parametrize("config", [None, [], {"data": {"longest_source": True}}, {"data": 5}])
def test_a_config_without_an_integer_figure_records_none(config):
    """True is an int to isinstance, but no length; a model built by hand has no config."""
    assert long_sources.recorded(config) is None


def test_a_note_of_more_long_sources_than_it_shows_counts_the_rest():
    names = [f"line {i}" for i in range(1, 13)]
    text = long_sources.note(names, list(range(20, 32)), 9, "line", "tokens")
    assert text.startswith("12 lines are longer than any training source (at most 9 tokens)")
    assert "line 10 (29) and 2 more;" in text and "line 11" not in text


def test_an_ensembles_longest_source_is_its_members_largest_or_none(run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same run twice
        ens = Translator.load_ensemble([run, run])
    longest = ens.longest_source
    assert isinstance(longest, int)
    second = ens.members[1]
    second.config = {**second.config, "data": {**second.config["data"], "longest_source": 10**6}}
    assert ens.longest_source == 10**6
    second.config = {**second.config, "data": {}}  # a member saved before the figure
    assert ens.longest_source is None


def test_a_checkpoint_named_twice_is_noted_however_its_path_is_spelled(tmp_path):
    """runs/d1/best and runs/d1/./best are one directory; the note names both as given."""
    d = tmp_path / "best"
    d.mkdir()
    with pytest.warns(UserWarning, match=r"^first and second are the same checkpoint twice"):
        check_distinct(["first", "second"], [str(d), os.path.join(str(tmp_path), ".", "best")])


def test_a_byte_order_mark_on_a_text_stdin_is_dropped_too(run, capsys, monkeypatch):
    """A text stream in stdin's place (a notebook's, a test's) has no .buffer: its lines lose a
    BOM as the bytes' do, and translate as without it."""
    assert main(["translate", "--checkpoint", str(run), "12", "345"]) == 0
    plain = capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("\ufeff12\n\ufeff345\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    result = capsys.readouterr()
    assert result.out == plain.out and "not in the vocabulary" not in result.err


def test_the_note_of_many_blank_lines_names_ten_then_elides(run, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" * 12))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    err = capsys.readouterr().err
    assert "12 of the 12 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...) have no token" in err

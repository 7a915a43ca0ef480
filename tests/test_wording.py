"""Shares and counts in messages: a part never reads as none or all of the whole."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.train.config import TrainConfig
from minis2s.train.console import eval_every_note, no_better
from minis2s.wording import percent


@pytest.mark.parametrize(
    "part,whole,text",
    [(0, 20000, "0%"), (82, 20000, "<1%"), (100, 20000, "<1%"), (101, 20000, "1%"), (1, 3, "33%"),
     (19990, 20000, ">99%"), (19899, 20000, "99%"), (20000, 20000, "100%")],
)  # fmt: skip
def test_percent_writes_a_part_neither_as_none_nor_as_all(part, whole, text):
    assert percent(part, whole) == text


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_percent_is_0_and_100_only_for_none_and_all(part, whole):
    part = min(part, whole)
    text = percent(part, whole)
    assert (text == "0%") == (part == 0)
    assert (text == "100%") == (part == whole)


def test_percent_refuses_an_empty_whole():
    with pytest.raises(ValueError, match="whole must be > 0"):
        percent(0, 0)


@pytest.mark.parametrize(
    "patience,eval_every,count",
    [(1, 0, "in 1 epoch"), (2, 0, "in 2 epochs"), (1, 5, "in 1 evaluation"),
     (3, 5, "in 3 evaluations")],
)  # fmt: skip
def test_early_stopping_counts_its_patience_in_the_right_number(patience, eval_every, count):
    assert no_better(TrainConfig(patience=patience, eval_every=eval_every)).endswith(count)


def test_a_one_dimensional_shape_is_written_as_python_writes_it():
    from minis2s import validate

    with pytest.raises(ValueError, match=r"has shape \(3,\), expected \(4H,\) = \(8,\)$"):
        validate.shape("lstm.forward", "b_ih", np.zeros(3), [8], "4H")


@pytest.mark.parametrize("max_steps,count", [(1, "makes 1 update "), (2, "makes 2 updates ")])
def test_the_eval_every_note_counts_updates_in_the_right_number(max_steps, count):
    note = eval_every_note(TrainConfig(epochs=1, eval_every=5, max_steps=max_steps), 4)
    assert count in note

"""The README's "Decoding, evaluating and ensembles" and "The Python API", walked as a new user
would, with the bad input such a user gives: each refusal names the problem and its fix, and
none blames what the user did not do."""

import pytest

from minis2s.api import Translator
from tests.tiny_run import TINY, train_tiny


def test_an_ensemble_of_runs_on_other_data_is_not_blamed_on_their_train_size(tmp_path):
    """Runs of two tasks (other data, so other vocabularies) that also differ in --train-size:
    the refusal says their data differ, not that --train-size made their vocabularies differ,
    nor that --init-from (fine-tuning one task's run on the other) would mend it."""
    digits = train_tiny(tmp_path / "digits")  # TINY: reverse-digits, --train-size 64
    i = TINY.index("--task")
    other = TINY[:i] + ["--task", "sort"] + TINY[i + 2 :]
    i = other.index("--train-size")
    other = other[:i] + ["--train-size", "48"] + other[i + 2 :]
    from minis2s.cli import main

    assert main(["train", *other, "--out", str(tmp_path / "sort")]) == 0
    with pytest.raises(ValueError) as refusal:
        Translator.load_ensemble([str(digits), str(tmp_path / "sort")])
    message = str(refusal.value)
    assert "different source vocabularies" in message
    assert "--train-size" not in message and "--init-from" not in message, message
    assert "task reverse-digits" in message and "task sort" in message, message

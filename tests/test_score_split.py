"""`score --split train` and `evaluate --split train` of a run trained on the task with
--train-size N: the training pairs are the first N of the task's train split, the ones the run
trained on, and so are the pairs these commands read (the rest of the split the run never saw:
scored with them, the "training" figures would mostly be of unseen pairs). A note on stderr says
that the pairs are N of the split's, so a count that differs from the split's size surprises no
one."""

import pytest

from minis2s.cli import main
from minis2s.data.tasks import get_task
from tests.tiny_run import train_tiny

TASK = "reverse-digits"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """TINY: reverse-digits, --train-size 64, --seed 0 (its default)."""
    return train_tiny(tmp_path_factory.mktemp("score_split") / "run")


def _totals(out: str) -> dict[str, str]:
    """score's last line, `total: pairs=..  tokens=..  ...`, as a dict."""
    last = out.splitlines()[-1].removeprefix("total: ")
    return dict(kv.split("=") for kv in last.split("  "))


def test_score_split_train_scores_the_pairs_the_run_trained_on(run, capsys):
    argv = ["score", "--checkpoint", str(run), "--task", TASK, "--split", "train"]
    assert main([*argv, "--with-text"]) == 0
    out, err = capsys.readouterr()
    trained_on = get_task(TASK).generate(seed=0)["train"][:64]  # load_data's first train_size
    pairs = [tuple(line.split("\t")[3:]) for line in out.splitlines()[:-1]]
    assert pairs == trained_on
    assert _totals(out)["pairs"] == "64"
    assert "--train-size 64" in err and "64 of the task's 20000 training pairs" in err


def test_evaluate_split_train_reads_the_pairs_the_run_trained_on(run, capsys):
    assert main(["evaluate", "--checkpoint", str(run), "--task", TASK, "--split", "train"]) == 0
    out, err = capsys.readouterr()
    lines = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
    assert lines["n"] == "64"
    assert "--train-size 64" in err


@pytest.mark.parametrize("split, n", [("dev", 1000), ("test", 1000)])
def test_dev_and_test_stay_whole_without_a_note(run, capsys, split, n):
    """--train-size cuts the training pairs only: the run's dev loss read every dev pair."""
    assert main(["score", "--checkpoint", str(run), "--task", TASK, "--split", split]) == 0
    out, err = capsys.readouterr()
    assert _totals(out)["pairs"] == str(n)
    assert "--train-size" not in err


def test_another_tasks_train_split_is_scored_whole(run, capsys):
    """A run trained on reverse-digits saw none of copy's pairs: its --train-size says nothing
    of copy's split, which is scored whole (with the note that the run was trained elsewhere)."""
    assert main(["score", "--checkpoint", str(run), "--task", "copy", "--split", "train"]) == 0
    out, err = capsys.readouterr()
    assert _totals(out)["pairs"] == "20000"
    assert "--train-size" not in err and "not on task 'copy'" in err

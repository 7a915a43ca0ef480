"""The README's Built-in tasks and quality and Things to try walked as a new user walks them:
what the commands they show (average of kept checkpoints, ensembles, fine-tuning from a run)
say when given the input a user plausibly types wrong."""

import pytest

from minis2s.cli import main
from tests.refusals import refusal
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """TINY's run (2 updates), scored after each update with both points kept in steps/."""
    out = tmp_path_factory.mktemp("try") / "rl"
    return train_tiny(out, "--eval-every", "1", "--keep-checkpoints", "2")


@pytest.mark.parametrize("inside", ["best", "last", "steps/step-0000002", "steps"])
def test_average_run_given_a_checkpoint_names_its_run(run, tmp_path, capsys, inside):
    """Things to try 14: `minis2s average --run runs/rl/best --last 2` said that runs/rl/best
    keeps no checkpoints in runs/rl/best/steps and to train it with --keep-checkpoints, which
    runs/rl was: the run to give is the one that holds the checkpoint."""
    given = run / inside
    out = tmp_path / "avg"
    line = refusal(capsys, ["average", "--run", str(given), "--last", "2", "--out", str(out)])
    assert f"--run {given}" in line and f"give --run {run}" in line, line
    assert "train it with" not in line
    assert not out.exists()


def test_average_run_given_an_average_says_it_is_one(run, tmp_path, capsys):
    """An average (`minis2s average --out runs/rl-avg2`) given as --run was told to train it with
    --keep-checkpoints: it is a checkpoint, not a run, and no training makes it one."""
    avg = tmp_path / "avg"
    assert main(["average", "--run", str(run), "--last", "2", "--out", str(avg)]) == 0
    capsys.readouterr()
    line = refusal(
        capsys, ["average", "--run", str(avg), "--last", "2", "--out", str(tmp_path / "b")]
    )
    assert f"--run {avg} is a checkpoint, not a run" in line, line
    assert "train it with" not in line

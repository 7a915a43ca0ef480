"""Items left alone by earlier passes (helper-190): `average` of one checkpoint refused in the
words of the interface used (Python's `paths`, the command line's --last / --checkpoint). Each
test fails on the code before its change."""

import pytest

from minis2s.cli import main
from minis2s.train.average import average
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run keeping its one scored checkpoint in steps/ (step-0000002)."""
    return train_tiny(tmp_path_factory.mktemp("left-alone-190") / "r", "--keep-checkpoints", "2")


def test_average_of_one_checkpoint_is_refused_in_python_words(run, tmp_path):
    """It said `(--last K of 2 or more)` and `cp -r`, words of a command not run."""
    one, out = str(run / "best"), str(tmp_path / "avg")
    with pytest.raises(ValueError) as e:
        average([one], out)
    said = str(e.value)
    assert said.startswith(f"average: paths holds one checkpoint ({one}); a mean needs two"), said
    assert f"shutil.copytree({one!r}, {out!r})" in said, said
    assert "--" not in said and "cp -r" not in said, said


def test_last_1_is_refused_by_the_command_in_its_words(run, tmp_path, capsys):
    """--run R --last 1 went through to the Python refusal; now the command's own: --last 2."""
    out = tmp_path / "avg"
    assert main(["average", "--run", str(run), "--last", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    newest = run / "steps" / "step-0000002"
    assert "error: --last 1: a mean needs two or more checkpoints; give --last 2 or more" in err
    assert f"`cp -r {newest} {out}`" in err and "paths" not in err, err
    assert not out.exists()


def test_last_1_of_no_run_says_so_first(tmp_path, capsys):
    """The run's own refusal comes before --last 1's: there is nothing to copy."""
    nope = tmp_path / "nope"
    assert main(["average", "--run", str(nope), "--last", "1", "--out", "x"]) == 2
    assert f"error: --run {nope}: no such directory" in capsys.readouterr().err


def test_one_checkpoint_option_is_refused_by_the_command_in_its_words(run, tmp_path, capsys):
    one, out = run / "best", tmp_path / "avg"
    assert main(["average", "--checkpoint", str(one), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"error: --checkpoint {one} given once: a mean needs two or more; give --checkpoint "
        "again for each" in err
    ), err
    assert f"`cp -r {one} {out}`" in err and "paths" not in err, err

"""The README's training sections walked as a new user walks them (Training and translating,
Training options, Stopping and resuming a run, Word vectors and shared embeddings): what a
command given bad input says, and that nothing a user wrote is lost."""

import pytest

from minis2s.cli import main
from minis2s.train.trainer import Trainer

TINY = [
    "--task", "reverse-digits", "--train-size", "40", "--dev-size", "10", "--epochs", "1",
    "--hidden", "8", "--emb", "8", "--quiet", "--show", "0",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("walkthrough") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


def refusal(capsys, argv: list[str]) -> str:
    """The one line of stderr with which `minis2s` refused `argv` (exit status 2)."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, f"{argv} was not refused (exit {status}); stderr: {err[-300:]}"
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.fixture
def no_training(monkeypatch):
    """Trainer.fit made to fail the test: a refusal must come before any training."""
    monkeypatch.setattr(Trainer, "fit", lambda self: pytest.fail("training started"))


@pytest.mark.parametrize("which", ["best", "last"])
def test_an_out_inside_a_checkpoint_is_refused(run, capsys, no_training, which):
    """`--out runs/x/best/new` trained a whole run inside runs/x's checkpoint, which the next
    save of runs/x (its --resume) replaces whole, the new run with it."""
    inside = run / which / "new"
    line = refusal(capsys, ["train", *TINY, "--out", str(inside)])
    assert f"--out {inside} is inside the checkpoint {run / which}" in line
    assert "choose another --out" in line
    assert not inside.exists()


def test_an_out_below_a_file_names_the_file_and_the_option(tmp_path, capsys, no_training):
    """It said only `[Errno 20] Not a directory: 'notes/run'`: neither --out nor which part of
    the path is the file."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "run"
    line = refusal(capsys, ["train", *TINY, "--out", str(out)])
    assert f"--out {out}: {tmp_path / 'notes'} is a file, not a directory" in line
    assert "choose another --out" in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


def test_vectors_out_below_a_file_says_it_is_a_file(run, tmp_path, capsys):
    """`minis2s vectors --out notes/en.vec` said the directory notes does not exist, and that
    it should be created, where notes is a file that exists."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "en.vec"
    argv = ["vectors", "--checkpoint", str(run), "--side", "src", "--out", str(out)]
    line = refusal(capsys, argv)
    assert f"--out {out}: {tmp_path / 'notes'} is a file, not a directory" in line
    assert "does not exist" not in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


def test_tasks_write_below_a_file_names_the_option_and_the_file(tmp_path, capsys):
    """`minis2s tasks --write sort notes/sort` said only `[Errno 20] Not a directory`."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "sort"
    line = refusal(capsys, ["tasks", "--write", "sort", str(out)])
    assert f"--write: {tmp_path / 'notes'} is a file, not a directory" in line
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"

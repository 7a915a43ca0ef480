"""A full disk (ENOSPC) or a refused write (EACCES) at each point where a run writes: an error that
names the file and says what was kept, and never a checkpoint half replaced or a temporary file
left where a later listing could take it for a checkpoint."""

import errno
import os
import pathlib

import numpy as np
import pytest

from minis2s.atomic import atomic_text_file
from minis2s.cli import main
from minis2s.train import checkpoint, runlog

FULL = OSError(errno.ENOSPC, "No space left on device")
DENIED = PermissionError(errno.EACCES, "Permission denied")


def _save(path, i):
    return checkpoint.save(path, {"w": np.full(3, i)}, {"i": i}, optimizer_state={"step": i})


def _fail_writes(monkeypatch, error, point):
    """Make `point` of a checkpoint save raise `error`."""
    if point in ("_write_npz", "_write_json"):

        def fail(file, data):
            raise type(error)(error.errno, error.strerror)

        monkeypatch.setattr(checkpoint, point, fail)
    elif point == "mkdir":
        real = pathlib.Path.mkdir

        def fail(self, *a, **k):
            if self.name.endswith(".tmp"):
                raise type(error)(error.errno, error.strerror, str(self))
            return real(self, *a, **k)

        monkeypatch.setattr(pathlib.Path, "mkdir", fail)
    else:  # the rename of the new checkpoint into place, after the old one was moved aside
        real, calls = os.replace, []

        def fail(src, dst):
            calls.append(dst)
            if len(calls) == 2:
                raise type(error)(error.errno, error.strerror, src)
            real(src, dst)

        monkeypatch.setattr(checkpoint.os, "replace", fail)


@pytest.mark.parametrize("point", ["_write_npz", "_write_json", "mkdir", "rename"])
@pytest.mark.parametrize("error", [FULL, DENIED], ids=["ENOSPC", "EACCES"])
def test_a_failed_save_names_the_checkpoint_and_keeps_the_old_one(
    tmp_path, monkeypatch, point, error
):
    last = tmp_path / "run" / "last"
    _save(last, 1)
    _fail_writes(monkeypatch, error, point)
    with pytest.raises(type(error)) as e:
        _save(last, 2)
    monkeypatch.undo()
    assert e.value.errno == error.errno
    msg = str(e.value)
    assert msg.startswith(f"could not save the checkpoint {last} ({error.strerror}")
    assert f"{last} is as it was before this save (nothing of it was replaced)" in msg
    fix = "free some disk space" if error is FULL else f"make {last.parent} writable"
    assert f"{fix}, then resume the run: it goes on from its last checkpoint" in msg
    assert sorted(os.listdir(last.parent)) == ["last"]  # no .last.tmp, no .last.old
    c = checkpoint.load(last)
    assert c.config == {"i": 1} and c.optimizer_state == {"step": 1}


def test_a_first_save_that_fails_leaves_nothing(tmp_path, monkeypatch):
    _fail_writes(monkeypatch, FULL, "_write_npz")
    with pytest.raises(OSError, match=r"nothing was written at .*avg; free some disk space$"):
        _save(tmp_path / "avg", 1)
    assert os.listdir(tmp_path) == []


def test_a_full_disk_stops_training_with_a_message_and_the_run_resumes(
    tmp_path, monkeypatch, capsys
):
    """Through the command line: the error, the run's last/ whole, and a resume that goes on."""
    run = tmp_path / "run"
    tiny = ["train", "--task", "reverse-digits", "--train-size", "32", "--dev-size", "8",
            "--hidden", "4", "--emb", "4", "--quiet", "--show", "0", "--out", str(run)]  # fmt: skip
    assert main([*tiny, "--epochs", "1"]) == 0
    _fail_writes(monkeypatch, FULL, "_write_npz")
    assert main([*tiny, "--epochs", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"minis2s train: error: could not save the checkpoint {run}/" in err
    assert "No space left on device" in err and "nothing of it was replaced" in err
    monkeypatch.undo()
    assert checkpoint.load(run / "last").trainer_state["epoch"] == 1
    assert main([*tiny, "--epochs", "2", "--resume"]) == 0
    assert checkpoint.load(run / "last").trainer_state["epoch"] == 2


@pytest.mark.parametrize("name", ["best", "last"])
def test_a_runs_first_save_that_fails_says_to_train_it_again_not_resume(
    tmp_path, monkeypatch, name
):
    """With no last/ yet there is nothing for --resume to go on from (it says 'no checkpoint at
    RUN/last'): the advice is to train the run again."""
    _fail_writes(monkeypatch, FULL, "_write_npz")
    with pytest.raises(OSError) as e:
        _save(tmp_path / "run" / name, 1)
    msg = str(e.value)
    assert "resume" not in msg.replace("to resume from", "")
    assert msg.endswith("free some disk space, then train the run again: it saved no checkpoint "
                        "yet, so there is none to resume from")  # fmt: skip


def test_a_run_directory_named_steps_is_told_to_resume_from_its_last(tmp_path, monkeypatch):
    _save(tmp_path / "steps" / "last", 1)  # --out steps: its best/ and last/ are its own
    _fail_writes(monkeypatch, FULL, "_write_npz")
    with pytest.raises(OSError, match="then resume the run: it goes on from its last checkpoint$"):
        _save(tmp_path / "steps" / "best", 1)


def test_a_full_disk_at_a_runs_first_save_stops_it_and_the_same_command_trains_it(
    tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"
    tiny = ["train", "--task", "reverse-digits", "--train-size", "32", "--dev-size", "8",
            "--hidden", "4", "--emb", "4", "--quiet", "--show", "0", "--epochs", "1",
            "--out", str(run)]  # fmt: skip
    _fail_writes(monkeypatch, FULL, "_write_npz")
    assert main(tiny) == 2
    err = capsys.readouterr().err
    assert f"could not save the checkpoint {run}/best (No space left on device)" in err
    assert "then train the run again" in err
    monkeypatch.undo()
    assert main(tiny) == 0  # the advice holds: no --resume, and nothing in the way
    assert checkpoint.load(run / "last").trainer_state["epoch"] == 1


@pytest.mark.parametrize("error", [FULL, DENIED], ids=["ENOSPC", "EACCES"])
def test_a_log_line_that_cannot_be_written_says_the_checkpoints_are_saved(
    tmp_path, monkeypatch, error
):
    runlog.append(str(tmp_path), {"epoch": 1, "step": 4})
    real_open = open

    def failing_open(file, mode="r", *a, **k):
        if "a" in mode or "w" in mode or "x" in mode:
            raise type(error)(error.errno, error.strerror, file)
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr("builtins.open", failing_open)
    log = tmp_path / runlog.NAME
    with pytest.raises(type(error), match=rf"^could not add this evaluation's line to {log} "):
        runlog.append(str(tmp_path), {"epoch": 2, "step": 8})
    with pytest.raises(type(error), match=rf"could not rewrite {log} .*it is as it was"):
        runlog.repair(str(tmp_path), 8, {"epoch": 2, "step": 8})
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == [runlog.NAME]
    assert log.read_text() == '{"epoch": 1, "step": 4}\n'


def test_an_atomic_file_that_cannot_be_written_is_named_and_kept(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text("old")
    with pytest.raises(OSError, match=rf"^could not write {path} \(No space left on device\); "):
        with atomic_text_file(path) as f:
            f.write("new")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert os.listdir(tmp_path) == ["vocab.json"] and path.read_text() == "old"
    with pytest.raises(ValueError, match="^mine$"):  # the block's own errors pass as they are
        with atomic_text_file(path) as f:
            raise ValueError("mine")

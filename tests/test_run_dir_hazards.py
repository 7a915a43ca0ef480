"""The run directory itself under hazards: removed or moved while it trains, reached through a
symlink (live or dangling)."""

import os
import shutil

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.train import checkpoint, run_lock, runlog
from minis2s.train.config import TrainConfig

pytestmark = pytest.mark.skipif(run_lock.fcntl is None, reason="no fcntl, no lock (Windows)")
TINY = ["train", "--task", "reverse-digits", "--train-size", "32", "--dev-size", "8",
        "--hidden", "4", "--emb", "4", "--quiet", "--show", "0", "--epochs", "1"]  # fmt: skip


def _save(path):
    checkpoint.save(path, {"w": np.ones(2)}, {"i": 1})


@pytest.mark.parametrize("how", ["removed", "moved"])
def test_a_run_directory_gone_while_it_trains_stops_the_run(tmp_path, how):
    """The trainer's next save (or log line) would make a new, partial run at the old path,
    beside the one moved away; it stops and says where the run went."""
    run, moved = tmp_path / "run", tmp_path / "moved"
    with run_lock.hold(run):
        _save(run / "last")
        shutil.rmtree(run) if how == "removed" else os.rename(run, moved)
        for write in (lambda: _save(run / "last"), lambda: _save(run / "steps" / "step-0000001"),
                      lambda: runlog.append(str(run), {"epoch": 1, "step": 1})):  # fmt: skip
            with pytest.raises(FileNotFoundError) as e:
                write()
            assert f"the run directory {run} was moved or removed while this process" in str(
                e.value
            )
    assert not run.exists()
    if how == "moved":
        assert checkpoint.load(moved / "last").config == {"i": 1}
        with run_lock.hold(moved):  # let go of: resuming it where it went is the fix
            _save(moved / "last")


def test_pipeline_train_stops_when_its_run_directory_is_removed(tmp_path, monkeypatch):
    data_file = tmp_path / "c.tsv"
    data_file.write_text("abc\tcba\nabcd\tdcba\nbca\tacb\n")
    data = pipeline.load_data(data=str(data_file), dev_data=str(data_file))
    out, fit = tmp_path / "run", pipeline.Trainer.fit

    def fit_after_rm(self):
        shutil.rmtree(out)
        return fit(self)

    monkeypatch.setattr(pipeline.Trainer, "fit", fit_after_rm)
    with pytest.raises(FileNotFoundError, match="was moved or removed while this process"):
        pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1), str(out))
    assert not out.exists()


def test_a_run_directory_reached_by_a_symlink_trains_resumes_and_translates(tmp_path):
    real, link = tmp_path / "disk" / "run", tmp_path / "run"
    real.mkdir(parents=True)
    link.symlink_to(real)
    assert main([*TINY, "--out", str(link)]) == 0
    assert main([*TINY[:-1], "2", "--out", str(link), "--resume"]) == 0
    assert checkpoint.load(real / "last").trainer_state["epoch"] == 2
    assert Translator.load(link).translate(["123"])
    assert link.is_symlink()


def test_a_dangling_symlink_as_out_is_named(tmp_path, capsys):
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "unmounted" / "run")
    assert main([*TINY, "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert f"--out {link} is a symlink to {tmp_path / 'unmounted' / 'run'}, which does not" in err
    assert not (tmp_path / "unmounted").exists()

"""--keep-checkpoints K (TrainConfig.keep_checkpoints, train/keep.py): each scoring point's
checkpoint also goes to steps/step-NNNNNNN, and the newest K stay. The trainer tests' 80 examples
are 5 updates an epoch; eval_every 3 over 2 epochs scores steps 3, 5 (epoch 1's end), 6, 9, 10."""

import os
import shutil

import numpy as np
import pytest

from minis2s.train import checkpoint, keep
from minis2s.train.trainer import Trainer
from tests.test_eval_every import log_lines, untimed
from tests.test_trainer import assert_same_run, make_trainer
from tests.test_trainer import data as _data_fixture
from tests.test_trainer import no_fsync as _no_fsync

data = _data_fixture
no_fsync = _no_fsync  # checkpoints saved without fsync (test_trainer.py says why)
pytestmark = pytest.mark.usefixtures("no_fsync")
POINTS = [3, 5, 6, 9, 10]


def kept_steps(out) -> list[int]:
    return [step for step, _ in keep.kept(out)]


def recording(monkeypatch) -> dict[int, tuple[dict, list[int]]]:
    """After each scoring point: what last/ holds then, read back from disk, and the steps kept
    then, by the point's update."""
    seen, close = {}, Trainer._close_point

    def spy(self, dev, end):
        out = close(self, dev, end)
        seen[self.state["step"]] = (
            checkpoint.load(f"{self.out_dir}/last"),
            kept_steps(self.out_dir),
        )
        return out

    monkeypatch.setattr(Trainer, "_close_point", spy)
    return seen


def test_keep_0_writes_no_steps_and_keeping_changes_nothing_else(data, tmp_path):
    """The same parameters, log lines and best/ and last/, bit for bit, with K = 0 and K = 2."""
    runs = {k: make_trainer(data, tmp_path / str(k), epochs=2, eval_every=3, keep_checkpoints=k)
            for k in (0, 2)}  # fmt: skip
    for run in runs.values():
        run.fit()
    assert_same_run(runs[0], runs[2])
    assert sorted(os.listdir(tmp_path / "0")) == ["best", "last", "log.jsonl"]
    assert log_lines(tmp_path / "0") == log_lines(tmp_path / "2")
    for which in ("best", "last"):
        a, b = (checkpoint.load(tmp_path / str(k) / which) for k in (0, 2))
        assert untimed(a.trainer_state) == untimed(b.trainer_state)
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)


def test_keep_2_keeps_the_last_2_points_each_as_last_held_it(data, tmp_path, monkeypatch):
    seen = recording(monkeypatch)
    make_trainer(data, tmp_path / "r", epochs=2, eval_every=3, keep_checkpoints=2).fit()
    assert [r["step"] for r in log_lines(tmp_path / "r")] == POINTS == sorted(seen)
    assert {step: kept for step, (_, kept) in seen.items()} == {
        3: [3], 5: [3, 5], 6: [5, 6], 9: [6, 9], 10: [9, 10]
    }  # fmt: skip
    assert sorted(os.listdir(tmp_path / "r" / "steps")) == ["step-0000009", "step-0000010"]
    for step, path in keep.kept(tmp_path / "r"):
        ckpt, last = checkpoint.load(path), seen[step][0]
        assert ckpt.trainer_state["step"] == step
        assert untimed(ckpt.trainer_state) == untimed(last.trainer_state)
        for name, p in last.params.items():
            np.testing.assert_array_equal(ckpt.params[name], p, err_msg=name)
        for name, v in last.optimizer_state.items():
            np.testing.assert_array_equal(ckpt.optimizer_state[name], v, err_msg=name)


@pytest.mark.parametrize("where", ["update", "evaluation"])
def test_ctrl_c_and_resume_keep_the_same_checkpoints(data, tmp_path, monkeypatch, where):
    """Ctrl-C at update 8, or during the evaluation of update 9 (which the resumed run scores
    first): resumed, the run keeps steps 9 and 10 with the uninterrupted run's parameters."""
    full = make_trainer(data, tmp_path / "full", epochs=2, eval_every=3, keep_checkpoints=2)
    full.fit()
    run = make_trainer(data, tmp_path / "cut", epochs=2, eval_every=3, keep_checkpoints=2)
    real_step, real_evaluate = Trainer.step, run.evaluate

    def step_then_interrupt(self, *group):
        if self.state["step"] == 8:
            raise KeyboardInterrupt
        return real_step(self, *group)

    def interrupt_at_9(model):
        if run.state["step"] == 9:
            raise KeyboardInterrupt
        return real_evaluate(model)

    if where == "update":
        monkeypatch.setattr(Trainer, "step", step_then_interrupt)
    else:
        run.evaluate = interrupt_at_9
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    monkeypatch.setattr(Trainer, "step", real_step)
    assert kept_steps(tmp_path / "cut") == [5, 6]
    resumed = make_trainer(data, tmp_path / "cut", epochs=2, eval_every=3, keep_checkpoints=2)
    assert resumed.resume()
    resumed.fit()
    assert_same_run(full, resumed)
    assert_same_kept(tmp_path / "full", tmp_path / "cut")


def assert_same_kept(a, b):
    assert kept_steps(a) == kept_steps(b)
    for (_, pa), (_, pb) in zip(keep.kept(a), keep.kept(b), strict=True):
        x, y = checkpoint.load(pa), checkpoint.load(pb)
        for name in x.params:
            np.testing.assert_array_equal(x.params[name], y.params[name], err_msg=name)


def test_a_crash_before_the_trim_leaves_k_plus_1_which_the_next_save_trims(
    data, tmp_path, monkeypatch
):
    run = make_trainer(data, tmp_path / "r", epochs=2, eval_every=3, keep_checkpoints=2)
    trim = keep.trim

    def crash_at_6(out_dir, k):
        if run.state["step"] == 6:
            raise RuntimeError("the machine went down")
        trim(out_dir, k)

    monkeypatch.setattr(keep, "trim", crash_at_6)
    with pytest.raises(RuntimeError, match="went down"):
        run.fit()
    assert kept_steps(tmp_path / "r") == [3, 5, 6]
    monkeypatch.setattr(keep, "trim", trim)
    resumed = make_trainer(data, tmp_path / "r", epochs=2, eval_every=3, keep_checkpoints=2)
    assert resumed.resume() and resumed.state["step"] == 6  # last/ was written before the crash
    resumed.fit()
    assert kept_steps(tmp_path / "r") == [9, 10]


def test_a_resumed_run_may_change_k(data, tmp_path):
    """K 3 to update 6; resumed with K 1, the next save keeps one; resumed with K 0 (off), the
    kept one stays."""
    out = tmp_path / "r"
    make_trainer(data, out, epochs=2, eval_every=3, keep_checkpoints=3, max_steps=6).fit()
    assert kept_steps(out) == [3, 5, 6]
    run = make_trainer(data, out, epochs=2, eval_every=3, keep_checkpoints=1, max_steps=9)
    assert run.resume()
    run.fit()
    assert kept_steps(out) == [9]
    run = make_trainer(data, out, epochs=2, eval_every=3, keep_checkpoints=0)
    assert run.resume()
    run.fit()
    assert kept_steps(out) == [9]


def test_trimming_deletes_only_the_oldest_kept_checkpoints(tmp_path):
    """Not best/ or last/, nor what only looks like a kept one; a crash's leftovers go (the
    .deleting of a cut removal, the .tmp of a cut save). Steps sort as numbers: 10,000,000 (8
    digits) is newer than 9,999,999."""
    steps = tmp_path / "steps"
    for step in (9_999_999, 10_000_000, 40):
        checkpoint.save(tmp_path / keep.step_name(step), {"W": np.zeros(2)}, {})
    others = ["step-00000040", "step-12", "notes", ".step-12.tmp"]
    for name in ["best", "last"]:
        (tmp_path / name).mkdir()
    for name in others:
        (steps / name).mkdir()
    (steps / ".step-0000002.deleting" / "x").mkdir(parents=True)
    (steps / ".step-0000001.tmp" / "params.npz").mkdir(parents=True)
    assert kept_steps(tmp_path) == [40, 9_999_999, 10_000_000]
    keep.trim(str(tmp_path), 1)
    assert sorted(os.listdir(steps)) == sorted(["step-10000000", *others])
    assert (tmp_path / "best").is_dir() and (tmp_path / "last").is_dir()


def test_trimming_leaves_a_symlink_in_steps_alone(tmp_path):
    """A symlink named as a kept checkpoint is someone else's (the trainer writes directories):
    not kept, so neither averaged nor trimmed. It was renamed to .step-N.deleting, which rmtree
    refuses (a symlink) and the error was ignored, so it stayed there under a hidden name."""
    elsewhere = tmp_path / "elsewhere"
    checkpoint.save(elsewhere, {"W": np.zeros(2)}, {})
    for step in (10, 20):
        checkpoint.save(tmp_path / keep.step_name(step), {"W": np.zeros(2)}, {})
    link = tmp_path / keep.step_name(5)
    link.symlink_to(elsewhere, target_is_directory=True)
    assert kept_steps(tmp_path) == [10, 20]
    keep.trim(str(tmp_path), 1)
    assert sorted(os.listdir(tmp_path / "steps")) == ["step-0000005", "step-0000020"]
    assert link.is_symlink() and checkpoint.load(link).params["W"].shape == (2,)


def test_an_average_does_not_resume(data, tmp_path):
    """A run whose last/ holds an average (no optimizer or trainer state) is refused by name."""
    from minis2s.train.average import average

    make_trainer(data, tmp_path / "r", eval_every=3, keep_checkpoints=2).fit()
    shutil.rmtree(tmp_path / "r" / "last")
    average([path for _, path in keep.kept(tmp_path / "r")], tmp_path / "r" / "last")
    with pytest.raises(ValueError, match="last holds no optimizer or trainer state .*average"):
        make_trainer(data, tmp_path / "r", eval_every=3).resume()


def test_a_new_run_is_refused_a_directory_that_keeps_an_earlier_runs_checkpoints(data, tmp_path):
    """Its steps/ would mix two runs: the earlier run's later steps sort as the newest, so the
    new run's trims deleted each of its own kept checkpoints as soon as it was written."""
    from minis2s import pipeline

    out = tmp_path / "r"
    make_trainer(data, out, eval_every=3, keep_checkpoints=2).fit()
    for name in ("best", "last", "log.jsonl"):
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    with pytest.raises(FileExistsError, match=r"r/steps holds 2 checkpoints kept by an earlier"):
        pipeline.check_out_dir(str(out))
    pipeline.check_out_dir(str(out), resume=True)  # a resume's own, which it trims

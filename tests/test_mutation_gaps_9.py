"""Mutation pass over the code whose mistakes lose a user's work or resume a run wrongly:
train/resume.py, checkpoint.py, checkpoint_files.py, run_lock.py and atomic.py (keep.py,
checkpoint_read.py and interrupts.py let no mutant live). Each test kills a hand-made mutant that
the suite let live, named in its comment; every expected value is worked out by hand, never by the
code under test."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import warnings

import numpy as np
import pytest

from minis2s.atomic import atomic_text_file
from minis2s.train import checkpoint, run_lock
from minis2s.train.config import TrainConfig
from minis2s.train.resume import load_last

VOCABS = {"src": {"tokens": ["<pad>", "a"]}, "tgt": {"tokens": ["<pad>", "b"]}}


def _meta(**train) -> dict:
    return {"backend": "numpy", "train": TrainConfig(**train).to_dict(), "data": {}}


def _run(tmp_path, meta=None, vocabs=VOCABS, **states) -> str:
    """A run directory whose last/ was saved with `meta`, `vocabs` and the optimizer and trainer
    states given (both {"step": 1} unless given)."""
    out = tmp_path / "run"
    states = {"optimizer_state": {"step": 1}, "trainer_state": {"step": 1}} | states
    checkpoint.save(out / "last", {"w": np.zeros(2)}, meta or _meta(), vocabs=vocabs, **states)
    return str(out)


# --- train/resume.py ----------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["optimizer_state", "trainer_state"])
def test_a_checkpoint_without_one_of_the_states_does_not_resume(tmp_path, missing):
    # kills `trainer_state is None and optimizer_state is None`: a checkpoint holding one state
    # but not the other went on, with a fresh optimizer (Adam's moments and step 0) or trainer
    out = _run(tmp_path, **{missing: None})
    with pytest.raises(ValueError, match="holds no optimizer or trainer state"):
        load_last(out, _meta(), VOCABS)


def test_a_run_resumes_where_the_trainer_knows_no_backend_without_a_warning(tmp_path):
    # kills `was is not None and was != now` (the check that the run names a backend dropped):
    # a meta without one said the run changed backend, from numpy to None
    out = _run(tmp_path)
    meta = {k: v for k, v in _meta().items() if k != "backend"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_last(out, meta, VOCABS) is not None


def test_a_trainer_holding_no_vocabularies_resumes_a_run_that_saved_them(tmp_path):
    # kills `ckpt.vocabs is not None and ckpt.vocabs != vocabs`: a Trainer given no vocabs (the
    # Python API's default) was told the run's vocabularies differ from its None
    out = _run(tmp_path)
    assert load_last(out, _meta(), None).vocabs == VOCABS


def test_a_run_saved_before_data_options_were_recorded_resumes(tmp_path):
    # kills `DATA_CHECKS[1:]` ("options" compared even where the run never saved it): a run
    # saved before data.options refused every resume, naming options it could not have
    out = _run(tmp_path, meta=_meta() | {"data": {"name": "c"}})
    now = _meta() | {"data": {"name": "c", "options": {"max_len": 50}}}
    assert load_last(out, now, VOCABS) is not None


def test_a_resume_with_another_seed_is_refused(tmp_path):
    # kills `ignore = ("backend", "train.seed", ...)`: the seed orders the batches and draws the
    # dropout masks, so a run resumed with another one does not go on as it would have
    out = _run(tmp_path, meta=_meta(seed=0))
    with pytest.raises(ValueError, match="seed"):
        load_last(out, _meta(seed=1), VOCABS)


def test_a_bpe_run_resumes_with_its_learned_tokenizer_whatever_count_was_asked(tmp_path):
    # kills "data.options.bpe_merges" compared: a run that asked for 2000 merges and learned
    # 1500 (its corpus ran out of pairs) is resumed in Python with its Tokenizer, whose load_data
    # records the 1500 it holds; the merges themselves are what must match
    out = _run(tmp_path, meta=_meta() | {"data": {"options": {"bpe_merges": 2000}}})
    now = _meta() | {"data": {"options": {"bpe_merges": 1500}}}
    assert load_last(out, now, VOCABS) is not None


# --- checkpoint.py, checkpoint_files.py ---------------------------------------------------------


def test_a_failed_save_of_a_kept_step_says_to_resume(tmp_path, monkeypatch):
    # kills `or path.parent.name == "steps"` dropped (a kept step's failed save said nothing of
    # what to do) and `run = path.parent` in _next_step (RUN/steps has no last/: "train the run
    # again", for a run that has a last checkpoint to resume from)
    out = _run(tmp_path)

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write_npz", full)
    with pytest.raises(OSError) as e:
        checkpoint.save(os.path.join(out, "steps", "step-0000040"), {"w": np.ones(2)}, {})
    assert str(e.value).endswith("then resume the run: it goes on from its last checkpoint")


def test_a_save_into_an_empty_directory_is_taken(tmp_path):
    # kills _check_replaceable without `or not any(path.iterdir())`: a directory made empty
    # ahead (mkdir runs/x/last) was refused as "not a checkpoint directory"
    path = tmp_path / "last"
    path.mkdir()
    checkpoint.save(path, {"w": np.arange(3.0)}, {"i": 1})
    assert checkpoint.load(path).params["w"].tolist() == [0.0, 1.0, 2.0]


def test_a_save_fsyncs_each_file_its_folder_and_the_parent(tmp_path, monkeypatch):
    # kills the fsync of _write_npz dropped, and that of the parent after the rename: a power
    # cut after save returned could leave params.npz empty, or last/ under its old name
    synced = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino) or fsync(fd))
    path = tmp_path / "last"
    checkpoint.save(path, {"w": np.zeros(2)}, {"i": 1}, optimizer_state={"step": 1},
                    vocabs=VOCABS)  # fmt: skip
    files = ["params.npz", "optimizer.npz", "state.json", "src_vocab.json", "tgt_vocab.json"]
    assert sorted(os.listdir(path)) == sorted(files)
    for p in [*(path / f for f in files), path, tmp_path]:  # a rename keeps the inode
        assert os.stat(p).st_ino in synced, p


def test_a_state_without_a_format_is_named_as_no_checkpoint_state(tmp_path):
    # kills the `"format" not in state` check dropped: a state.json without one was a KeyError
    # 'format' that named no file
    path = tmp_path / "last"
    checkpoint.save(path, {"w": np.zeros(2)}, {"i": 1})
    (path / "state.json").write_text(json.dumps({"config": {"i": 1}}))
    with pytest.raises(ValueError, match=r"state.json is not a minis2s checkpoint state"):
        checkpoint.load(path)


def test_a_run_directory_with_only_best_is_a_run(tmp_path):
    # kills is_run looking at last/ alone: a run whose last/ is gone (deleted to save room)
    # was no run, and a new run given its --out trained over its best/
    checkpoint.save(tmp_path / "best", {"w": np.zeros(2)}, {})
    assert checkpoint.is_run(tmp_path)


# --- atomic.py ----------------------------------------------------------------------------------


def test_an_error_of_the_writers_own_is_not_called_a_failed_write(tmp_path):
    # kills `isinstance(e, OSError)` without `e.errno in WRITE_ERRORS`: a file the block failed
    # to read (ENOENT) was reworded as this file's write failing, naming the wrong file
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "words.txt")
    with pytest.raises(FileNotFoundError) as e, atomic_text_file(tmp_path / "v.txt"):
        raise missing
    assert e.value is missing
    assert os.listdir(tmp_path) == []  # and nothing left behind


# --- train/run_lock.py --------------------------------------------------------------------------


def test_a_held_run_does_not_guard_a_sibling_whose_name_it_begins(tmp_path):
    # kills `not path.startswith(key)` (without the separator): held runs/x, moved away, stopped
    # a save into runs/x2, another run
    held, sibling = tmp_path / "x", tmp_path / "x2"
    with run_lock.hold(held):
        shutil.move(held, tmp_path / "moved")
        checkpoint.save(sibling / "last", {"w": np.zeros(2)}, {})
    assert checkpoint.exists(sibling / "last")


def test_a_run_released_is_not_guarded_any_more(tmp_path):
    # kills `_held.pop(key, None)` dropped: after a run's hold ended, moving its directory and
    # saving at the old path again (a new run there) was refused as a run moved while training
    out = tmp_path / "run"
    with run_lock.hold(out):
        pass
    shutil.move(out, tmp_path / "moved")
    checkpoint.save(out / "last", {"w": np.zeros(2)}, {})
    assert checkpoint.exists(out / "last")


def _locked_by_another(out, kind, owner=None) -> int:
    """An fd of out/train.lock flocked with `kind`, as another process would hold it."""
    os.makedirs(out, exist_ok=True)
    fd = os.open(os.path.join(out, run_lock.NAME), os.O_RDWR | os.O_CREAT)
    if owner is not None:
        os.write(fd, json.dumps(owner).encode())
    fcntl.flock(fd, kind | fcntl.LOCK_NB)
    return fd


def test_a_check_does_not_refuse_another_check(tmp_path):
    # kills check_free taking LOCK_EX: two commands checking one run at once (a shared lock held
    # elsewhere) refused each other, as if the run were training
    fd = _locked_by_another(tmp_path, fcntl.LOCK_SH)
    try:
        run_lock.check_free(tmp_path)
    finally:
        os.close(fd)


def test_a_run_trained_on_another_host_is_not_told_to_kill_a_local_pid(tmp_path):
    # kills the host check of the kill hint dropped: `kill 4242` here would stop whatever
    # process has that pid on this machine, not the trainer on the other one
    owner = {"pid": 4242, "host": "elsewhere.invalid", "since": "2026-01-01 00:00:00 UTC"}
    fd = _locked_by_another(tmp_path, fcntl.LOCK_EX, owner)
    try:
        with pytest.raises(run_lock.RunInUseError) as e:
            run_lock.check_free(tmp_path)
    finally:
        os.close(fd)
    said = str(e.value)
    assert "process 4242 on elsewhere.invalid" in said and "`kill`" in said
    assert "kill 4242" not in said


def test_a_run_directory_replaced_by_another_while_held_stops_the_save(tmp_path):
    # kills `if now is None` for `now != identity`: a run directory moved away and another made
    # at its path (with a train.lock of its own) took the held run's saves, a second run there
    out = tmp_path / "run"
    with run_lock.hold(out):
        shutil.move(out, tmp_path / "moved")
        out.mkdir()
        (out / run_lock.NAME).write_text("")
        with pytest.raises(FileNotFoundError, match="moved or removed"):
            checkpoint.save(out / "last", {"w": np.zeros(2)}, {})
    assert not checkpoint.exists(out / "last")

"""Readers of a run (translate, evaluate, average ...) while it trains: a checkpoint is read whole,
all of one save, however a save of another process interleaves with the reading."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from minis2s.train import checkpoint, checkpoint_read

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# saves checkpoint i, whose every entry says i, until killed: 2 ms apart, hundreds of saves a
# second (a run saves at each evaluation, seconds apart at least); in a tight loop, a CI machine
# under load once let it replace the checkpoint during each of a load's TRIES reads
SAVER = """
import sys, time, numpy as np
from minis2s.train import checkpoint
path = sys.argv[1]
i = 1
while True:
    checkpoint.save(path, {"w": np.full(64, i)}, {"i": i}, optimizer_state={"step": i},
                    trainer_state={"step": i}, vocabs={"src": {"i": i}, "tgt": {"i": i}})
    i += 1
    time.sleep(0.002)
"""


def _saver(path) -> subprocess.Popen:
    checkpoint.save(path, {"w": np.full(64, 0)}, {"i": 0}, trainer_state={"step": 0})
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, "-c", SAVER, str(path)], env=env, cwd=ROOT)


@pytest.mark.parametrize("dir_fd", [True, False], ids=["openat", "by-path"])
def test_a_reader_sees_whole_checkpoints_while_another_process_saves(tmp_path, monkeypatch, dir_fd):
    """Each load is of one save (its params, config, optimizer and trainer state and vocabularies
    all say the same i), never an error: a save renames the old checkpoint away, the new one in,
    and deletes the old one, and a load cut across those steps must start again. By path is how
    a system without openat (Windows) reads."""
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", dir_fd and checkpoint_read._DIR_FD)
    path = tmp_path / "last"
    proc = _saver(path)
    seen = set()
    try:
        # until loads have seen 300 saves (about 1.5 s here): counted in saves, not seconds, so a
        # loaded machine that starts the saver slowly still interleaves as many
        end = time.monotonic() + 120
        while len(seen) < 300 and time.monotonic() < end:
            assert checkpoint.exists(path)
            c = checkpoint.load(path)
            i = c.config["i"]
            assert set(c.params["w"].tolist()) == {i} and c.trainer_state["step"] == i
            if i:
                assert c.optimizer_state["step"] == i and c.vocabs == {
                    "src": {"i": i},
                    "tgt": {"i": i},
                }
            assert checkpoint.load_config(path)["i"] >= i
            seen.add(i)
    finally:
        proc.kill()
        proc.wait()
    assert len(seen) == 300  # the saves and loads did interleave


@pytest.mark.parametrize("dir_fd", [True, False], ids=["openat", "by-path"])
def test_a_reader_that_every_try_finds_replaced_says_so_rather_than_mix_saves(
    tmp_path, monkeypatch, dir_fd
):
    """A saver faster than the reader (each try sees a new save land mid-read): after TRIES the
    load gives up with an error that says so, neither a checkpoint that mixes two saves (by path)
    nor a false 'incomplete checkpoint' (openat: the save deleted the files it had yet to open)."""
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", dir_fd and checkpoint_read._DIR_FD)
    path = tmp_path / "last"
    saves = []

    def read_racing_a_save(folder):
        config = checkpoint._state(folder)["config"]
        saves.append(1)
        checkpoint.save(path, {"w": np.full(4, len(saves))}, {"i": len(saves)})
        return config, checkpoint_read.read_npz(folder, "params.npz")

    checkpoint.save(path, {"w": np.full(4, 0)}, {"i": 0})
    with pytest.raises(RuntimeError, match=f"could not read {path} whole: 10 saves replaced it"):
        checkpoint_read.read_whole(path, read_racing_a_save)
    assert len(saves) == checkpoint_read.TRIES


def test_by_path_a_checkpoint_renamed_away_mid_read_is_read_again(tmp_path, monkeypatch):
    """By path, a save's first rename (NAME to .NAME.old) between the load's stat of NAME and
    its open of NAME/state.json made the file missing, and the directory, found again as
    .NAME.old, looked the same (a rename within one tick of the clock that stamps ctime leaves
    it as it was): the load said 'incomplete checkpoint' (seen once in CI, under load). A load
    of NAME that finds .NAME.old in its place now starts again."""
    monkeypatch.setattr(checkpoint_read, "_DIR_FD", False)
    monkeypatch.setattr(checkpoint_read, "_identity", lambda st: (0, 0, 0))  # as within a tick
    path = tmp_path / "last"
    checkpoint.save(path, {"w": np.full(4, 1)}, {"i": 1})
    old = tmp_path / ".last.old"

    def renamed_mid_read(folder):
        if folder.path == path:  # the save's first rename, after the load's stat
            path.rename(old)
        return checkpoint._state(folder)["config"]

    assert checkpoint_read.read_whole(path, renamed_mid_read) == {"i": 1}
    old.rename(path)
    (path / "params.npz").unlink()  # a file missing where the checkpoint stays is missing
    with pytest.raises(ValueError, match="incomplete checkpoint: .*params.npz is missing"):
        checkpoint.load(path)


def test_with_openat_a_missing_file_of_the_directory_still_named_is_missing_at_once(
    tmp_path, monkeypatch
):
    """openat reads the directory it opened, whatever its identity looks like: a file missing
    there is the checkpoint's own, said at the first read."""
    assert checkpoint_read._DIR_FD  # POSIX systems have it; Windows reads by path (above)
    path = tmp_path / "last"
    checkpoint.save(path, {"w": np.full(4, 1)}, {"i": 1})
    tries = []

    def missing(folder):
        tries.append(1)
        raise ValueError("incomplete checkpoint: state.json is missing")

    with pytest.raises(ValueError, match="incomplete"):
        checkpoint_read.read_whole(path, missing)
    assert len(tries) == 1


def test_with_openat_a_load_that_found_every_file_is_whole_though_a_save_replaced_it(tmp_path):
    """openat reads one directory, so a load that found each file it looked for read one save,
    whatever came after: it is kept, not started again (CI once saw a saver in a tight loop
    replace the checkpoint during each of TRIES such loads). Only a load that found a file
    missing (the save may have deleted it) starts again."""
    assert checkpoint_read._DIR_FD
    path = tmp_path / "last"
    vocabs = {"src": {"a": 0}, "tgt": {"b": 0}}
    checkpoint.save(
        path, {"w": np.full(4, 1)}, {"i": 1}, optimizer_state={"step": 1}, vocabs=vocabs
    )
    tries = []

    def read_then_a_save_lands(folder):
        tries.append(1)
        got = checkpoint._load(folder)
        i = len(tries) + 1
        checkpoint.save(
            path, {"w": np.full(4, i)}, {"i": i}, optimizer_state={"step": i}, vocabs=vocabs
        )
        return got

    c = checkpoint_read.read_whole(path, read_then_a_save_lands)
    assert (len(tries), c.config, c.optimizer_state) == (1, {"i": 1}, {"step": 1})
    checkpoint.save(path, {"w": np.full(4, 1)}, {"i": 1}, vocabs=vocabs)  # no optimizer.npz
    tries.clear()
    c = checkpoint_read.read_whole(path, read_then_a_save_lands)
    assert (len(tries), c.config, c.optimizer_state) == (2, {"i": 2}, {"step": 2})


@pytest.mark.skipif(not checkpoint_read._DIR_FD, reason="the directory is held open by openat")
def test_whether_a_save_replaced_the_directory_is_asked_while_it_is_held_open(
    tmp_path, monkeypatch
):
    """`_replaced` compares the inode of what NAME names now with the directory's: the inode of
    a directory deleted by a save's rmtree can be reused (by the next save's `.NAME.tmp`, renamed
    to NAME) once no one holds it open, and a load that found a file missing would then be kept
    as not replaced. A checkpoint without optimizer.npz makes the load ask; it must still hold
    its directory's descriptor when it does."""
    params = {"w": np.zeros(3)}
    checkpoint.save(tmp_path / "c", params, {"i": 0})  # no optimizer.npz: found missing
    real, asked = checkpoint_read._replaced, []

    def replaced(path, folder):
        os.fstat(folder.fd)  # EBADF once Folder.close() has run
        asked.append(path)
        return real(path, folder)

    monkeypatch.setattr(checkpoint_read, "_replaced", replaced)
    assert checkpoint.load(tmp_path / "c").optimizer_state is None
    assert asked  # the load did ask

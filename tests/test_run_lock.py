"""One trainer at a time in a run directory (train/run_lock.py): a second one is refused at once,
naming the run, the process that trains it and the fix; a process that dies, even by kill -9,
leaves no lock behind; readers are never kept out."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.cli import main
from minis2s.train import checkpoint, run_lock
from minis2s.train.config import TrainConfig

pytestmark = pytest.mark.skipif(run_lock.fcntl is None, reason="no fcntl, no lock (Windows)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLDER = """
import sys, time
from minis2s.train import run_lock
with run_lock.hold(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """A process that holds the lock of tmp_path/run, killed (SIGKILL) at the end."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-c", HOLDER, str(tmp_path / "run")]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_a_second_trainer_is_refused_naming_the_run_the_process_and_the_fix(tmp_path, holder):
    run = tmp_path / "run"
    for attempt in (lambda: run_lock.check_free(run), lambda: run_lock.hold(run).__enter__()):
        with pytest.raises(run_lock.RunInUseError) as e:
            attempt()
        msg = str(e.value)
        assert f"the run in {run} is in use: process {holder.pid} on {socket.gethostname()}" in msg
        assert f"`kill {holder.pid}`" in msg and "then resume the run" in msg


def test_kill_9_leaves_no_stale_lock(tmp_path, holder):
    run = tmp_path / "run"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    run_lock.check_free(run)
    with run_lock.hold(run):
        with pytest.raises(run_lock.RunInUseError, match="this process is already training it"):
            run_lock.check_free(run)  # another open of this process is kept out too
    run_lock.check_free(run)
    assert (run / run_lock.NAME).read_text() == ""  # no owner named once none holds it


def test_the_command_line_refuses_before_it_reads_any_data(tmp_path, holder, capsys, monkeypatch):
    """A resume and a new run into the run directory that another process trains."""
    run = str(tmp_path / "run")
    monkeypatch.setattr(pipeline, "load_data", lambda *a, **k: pytest.fail("data read"))
    for extra in (["--resume"], []):
        assert main(["train", "--task", "copy", "--out", run, *extra]) == 2
        err = capsys.readouterr().err
        assert f"minis2s train: error: the run in {run} is in use: process {holder.pid}" in err


def test_pipeline_train_resuming_a_run_in_use_names_the_process(tmp_path, holder):
    """Before its first save the run holds only train.lock: a resume of it from Python is told
    who trains it, not that there is no checkpoint."""
    run = str(tmp_path / "run")
    data = pipeline.load_data(task="copy", train_size=8)
    with pytest.raises(run_lock.RunInUseError, match=f"is in use: process {holder.pid}"):
        pipeline.train(data, {}, TrainConfig(epochs=1), run, resume=True, progress=False)


def test_readers_are_not_kept_out(tmp_path, holder):
    last = tmp_path / "run" / "last"
    checkpoint.save(last, {"w": np.ones(2)}, {"i": 1})
    assert checkpoint.load(last).config == {"i": 1}


def test_pipeline_train_holds_the_lock_while_it_trains_and_lets_go_after(tmp_path, monkeypatch):
    data_file = tmp_path / "c.tsv"
    data_file.write_text("abc\tcba\nabcd\tdcba\nbca\tacb\n")
    data = pipeline.load_data(data=str(data_file), dev_data=str(data_file))
    out, held = tmp_path / "run", []
    fit = pipeline.Trainer.fit

    def checked_fit(self):
        with pytest.raises(run_lock.RunInUseError):
            run_lock.check_free(out)
        held.append(True)
        return fit(self)

    monkeypatch.setattr(pipeline.Trainer, "fit", checked_fit)
    pipeline.train(data, {"emb": 2, "hidden": 2}, TrainConfig(epochs=1), str(out), progress=False)
    assert held
    run_lock.check_free(out)


def test_a_symlink_to_the_run_is_the_same_run(tmp_path, holder):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "run")
    with pytest.raises(run_lock.RunInUseError, match=f"the run in {link} is in use"):
        run_lock.check_free(link)


def test_a_run_directory_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    def refused(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(run_lock.os, "open", refused)
    with pytest.raises(
        PermissionError, match=f"^cannot write in the run directory {tmp_path}"
    ) as e:
        run_lock.hold(tmp_path).__enter__()
    assert e.value.errno == errno.EACCES


def test_without_fcntl_there_is_no_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "fcntl", None)
    with run_lock.hold(tmp_path / "run"), run_lock.hold(tmp_path / "run"):
        run_lock.check_free(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_file_system_without_locks_warns_and_trains(tmp_path, monkeypatch):
    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(run_lock.fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match="No locks available.*nothing keeps a second trainer") as w:
        with run_lock.hold(tmp_path):
            run_lock.check_free(tmp_path)  # says nothing more
    assert len(w) == 1


def test_a_second_hold_in_this_process_is_named_so_and_leaves_the_first_in_place(tmp_path):
    """pipeline.train called while another call of this process trains the run (a thread): the
    message says it is this process (not `kill` it), and the failed hold leaves the first one
    guarding its run (check_in_place)."""
    run = tmp_path / "run"
    with run_lock.hold(run):
        with pytest.raises(run_lock.RunInUseError, match="this process is already training it"):
            run_lock.hold(run).__enter__()
        os.rename(run, tmp_path / "moved")
        with pytest.raises(FileNotFoundError, match="was moved or removed"):
            run_lock.check_in_place(run / "last")


def test_a_hold_taken_in_another_thread_during_a_check_in_place_is_no_error(tmp_path, monkeypatch):
    """pipeline.train in two threads, into two runs: one's save checks its run while the other
    starts (the runs held change under the check; it raised 'dictionary changed size')."""
    real = run_lock._identity

    def another_thread_holds_meanwhile(st):
        run_lock._held.setdefault("/another/run", ("/another/run", (0, 0)))
        return real(st)

    try:
        with run_lock.hold(tmp_path / "run"):
            monkeypatch.setattr(run_lock, "_identity", another_thread_holds_meanwhile)
            run_lock.check_in_place(tmp_path / "run" / "last")
    finally:
        run_lock._held.pop("/another/run", None)


def test_another_process_with_this_pid_and_host_is_not_taken_for_this_one(tmp_path, holder):
    """Two containers sharing a host name both run their trainer as pid 1: the one kept out is
    told of another process, as the pid in the lock file is no proof that it is itself."""
    run = tmp_path / "run"
    lock = run / run_lock.NAME
    owner = json.loads(lock.read_text())
    lock.write_text(json.dumps(owner | {"pid": os.getpid()}))
    with pytest.raises(run_lock.RunInUseError, match=f"process {os.getpid()} on"):
        run_lock.check_free(run)


def test_a_new_run_that_gets_the_lock_after_another_finished_there_is_refused(
    tmp_path, monkeypatch
):
    """Two new runs started together into one out_dir both pass check_out_dir; the first trains
    and ends while the second reads its data and builds its model. Once the second holds the
    lock it checks again, and refuses rather than start a new run over the first's."""
    data_file = tmp_path / "c.tsv"
    data_file.write_text("abc\tcba\nabcd\tdcba\nbca\tacb\n")
    data = pipeline.load_data(data=str(data_file), dev_data=str(data_file))
    out, opts, tcfg = str(tmp_path / "run"), {"emb": 2, "hidden": 2}, TrainConfig(epochs=1)
    make_model, first = pipeline.make_model, []

    def first_run_trains_meanwhile(*args, **kwargs):
        if not first:
            first.append(True)
            pipeline.train(data, opts, tcfg, out, progress=False)
        return make_model(*args, **kwargs)

    monkeypatch.setattr(pipeline, "make_model", first_run_trains_meanwhile)
    with pytest.raises(FileExistsError) as e:
        pipeline.train(data, opts, tcfg, out, progress=False)
    fix = "pass resume=True to continue it or choose another out_dir"
    assert str(e.value) == f"{out} already holds a run; {fix}"
    assert first and len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 1
    run_lock.check_free(out)  # the refused run let go of the lock


def test_the_command_line_refuses_a_run_finished_before_it_got_the_lock(
    tmp_path, capsys, monkeypatch
):
    """As above, in the command line's words; the first run's files are left as they were."""
    run = tmp_path / "run"
    tiny = ["--task", "reverse-digits", "--train-size", "16", "--dev-size", "4", "--epochs", "1",
            "--hidden", "4", "--emb", "4", "--quiet", "--show", "0", "--out", str(run)]  # fmt: skip
    assert main(["train", *tiny]) == 0
    log = (run / "log.jsonl").read_text()
    capsys.readouterr()
    monkeypatch.setattr(pipeline, "check_out_dir", lambda *a, **k: None)  # both passed it
    assert main(["train", *tiny]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"minis2s train: error: {run} already holds a run; pass --resume to continue it or "
        "choose another --out\n"
    )
    assert (run / "log.jsonl").read_text() == log
    assert main(["train", *tiny, "--resume", "--epochs", "2"]) == 0  # its own lock is no bar

"""SIGTERM (`kill PID`; SLURM, Kubernetes and systemd send it, then SIGKILL after a grace period)
stops training as Ctrl-C does: the update or the evaluation's saves in hand are finished, last/
is saved, and `minis2s train` exits with 143 (128 + SIGTERM); a second SIGTERM inside a held
block stops at once. Outside training SIGTERM is left as it was. Real signals, sent to this
process (the blocks) and to a training subprocess (the run)."""

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.train import checkpoint
from minis2s.train.interrupts import (
    StopNow,
    Terminated,
    exit_status,
    held_interrupts,
    sigterm_stops,
)
from tests.test_kill9 import log_figures  # a run's log lines, the figures compared

pytestmark = pytest.mark.skipif(
    os.name != "posix" or threading.current_thread() is not threading.main_thread(),
    reason="sends SIGTERM, which only POSIX delivers as a signal to the main thread",
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_raises_terminated_in_the_block_only():
    with pytest.raises(Terminated), sigterm_stops():
        sigterm()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_held_block_finishes_before_sigterm_stops_it(capsys):
    done = []
    with pytest.raises(Terminated), sigterm_stops(), held_interrupts():
        sigterm()
        done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert "SIGTERM: finishing this update" in capsys.readouterr().err


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_in_a_held_block_stops_at_once(second):
    done = []
    with pytest.raises(StopNow) as e, sigterm_stops(), held_interrupts():
        sigterm()
        os.kill(os.getpid(), second)
        done.append("never")
    assert done == [] and exit_status(e.value) == 128 + second
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigterm_handler_of_the_callers_own_is_kept_and_called_after_the_block():
    calls = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        with sigterm_stops(), held_interrupts():
            sigterm()
            assert calls == []
        assert calls == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_exit_status_is_128_plus_the_signal():
    assert exit_status(KeyboardInterrupt()) == 130
    assert exit_status(Terminated()) == 143


def test_outside_the_main_thread_nothing_is_installed():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_handler_inside()))
    thread.start()
    thread.join()
    assert seen == [signal.SIG_DFL]


def _handler_inside():
    with sigterm_stops():
        return signal.getsignal(signal.SIGTERM)


TINY = ["train", "--task", "reverse-digits", "--train-size", "32", "--dev-size", "8",
        "--hidden", "4", "--emb", "4", "--batch-size", "8", "--eval-every", "3", "--epochs",
        "2", "--keep-checkpoints", "2", "--quiet", "--show", "0"]  # fmt: skip

# the command line's train, paused inside its 6th update (a held block) for the test's SIGTERM
PAUSED_TRAIN = """
import sys, time
from minis2s import cli
from minis2s.models import Seq2Seq
real, calls = Seq2Seq.loss_and_grads, []

def paused(self, *a, **k):
    calls.append(1)
    if len(calls) == 6:
        print("paused", flush=True)
        time.sleep(float(sys.argv[1]))
    return real(self, *a, **k)

Seq2Seq.loss_and_grads = paused
sys.exit(cli.main(sys.argv[2:]))
"""


def _train_sent_sigterm(run, twice: bool) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of a train into `run` sent SIGTERM inside its 6th update,
    and again once it says it finishes the update, if `twice`."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-c", PAUSED_TRAIN, "30" if twice else "0.5", *TINY, "--out", str(run)]
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "paused\n"
        proc.send_signal(signal.SIGTERM)
        if twice:
            assert "SIGTERM: finishing this update" in proc.stderr.readline() + (
                proc.stderr.readline()
            )
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run that no signal interrupted."""
    run = tmp_path_factory.mktemp("sigterm") / "straight"
    assert main([*TINY, "--out", str(run)]) == 0
    return run


def test_sigterm_saves_last_and_the_resume_is_the_uninterrupted_run(tmp_path, straight):
    run = tmp_path / "run"
    status, out, err = _train_sent_sigterm(run, twice=False)
    assert status == 143, err
    assert f"stopped by SIGTERM: checkpoint saved to {run}/last; rerun with --resume" in out
    assert checkpoint.load(run / "last").trainer_state["step"] == 6  # the update was finished
    assert main([*TINY, "--out", str(run), "--resume"]) == 0
    figures = log_figures(run)
    assert figures == log_figures(straight) and len(figures) == 4  # 4 updates an epoch: 3, 4, 6, 8
    for which in ("last", "best", "steps/step-0000008"):
        got, want = checkpoint.load(run / which), checkpoint.load(straight / which)
        assert got.trainer_state["step"] == want.trainer_state["step"]
        for name, p in want.params.items():
            np.testing.assert_array_equal(got.params[name], p, err_msg=f"{which} {name}")


def test_a_second_sigterm_in_an_update_stops_at_once_saving_nothing_of_it(tmp_path):
    run = tmp_path / "run"
    status, out, err = _train_sent_sigterm(run, twice=True)
    assert status == 143, err
    assert "stopped in the middle of an update, nothing saved" in err
    assert checkpoint.load(run / "last").trainer_state["step"] == 4  # the last scoring point's

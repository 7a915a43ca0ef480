"""held_interrupts: Ctrl-C inside a held block comes when the block ends; a second one at once
(StopNow); a block inside another changes nothing; a handler of the caller's own is called,
not replaced by KeyboardInterrupt. Real SIGINTs, sent to this process."""

import os
import signal
import threading

import pytest

from minis2s.train.interrupts import StopNow, held_interrupts

pytestmark = pytest.mark.skipif(
    os.name != "posix" or threading.current_thread() is not threading.main_thread(),
    reason="sends this process SIGINT, which only POSIX delivers as a signal to the main thread",
)


def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)


def test_one_interrupt_waits_for_the_end_of_the_block(capsys):
    done = []
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        ctrl_c()
        done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert "Ctrl-C again to stop now" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_interrupt_stops_at_once():
    done = []
    with pytest.raises(StopNow), held_interrupts():
        ctrl_c()
        ctrl_c()
        done.append("never")
    assert done == [] and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_inner_block_leaves_the_outer_one_in_charge():
    done = []
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        with held_interrupts():
            ctrl_c()
        done.append("after the inner block")
    assert done == ["after the inner block"]


def test_a_handler_of_the_callers_own_is_called(monkeypatch):
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with held_interrupts():
            ctrl_c()
            assert calls == []
        assert calls == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_ignored_sigint_stays_ignored(capsys):
    """Where SIGINT is ignored (a background job, nohup), the block installs nothing: a SIGINT
    inside it neither stops the run when the block ends nor prints the note."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with held_interrupts():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            ctrl_c()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr().err == ""


def test_an_inner_block_installs_no_second_holder(capsys):
    with pytest.raises(KeyboardInterrupt), held_interrupts():
        outer = signal.getsignal(signal.SIGINT)
        with held_interrupts():
            assert signal.getsignal(signal.SIGINT) is outer
            ctrl_c()
    assert capsys.readouterr().err.count("Ctrl-C again to stop now") == 1

"""Ctrl-C and SIGTERM at a safe moment: `held_interrupts` holds them while a block runs, then
raises them.

The trainer saves a checkpoint when Ctrl-C stops it, and resuming from that checkpoint must
continue exactly. An interrupt inside an update would save half of it (the random generator
already advanced for dropout, some parameters updated and others not, Adam's step count one
ahead), and one inside an evaluation's saves would leave best/ older than the state that says it
is the best. So those blocks hold the first interrupt until they end; a second one stops at once
(a first step that compiles, or a hang, must not make Ctrl-C useless); everywhere else (the dev
evaluation, reading batches) Ctrl-C acts at once.

SIGTERM (`kill PID`; SLURM, Kubernetes and systemd send it, then SIGKILL after a grace period)
kills a Python process outright by default, with no final save. While the trainer trains,
`sigterm_stops` makes it raise `Terminated`, a KeyboardInterrupt, so it stops training as Ctrl-C
does, held the same way; the command line exits with 128 + the signal (`exit_status`): 130 for
Ctrl-C, 143 for SIGTERM, as a shell reports a process those signals killed.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM while the trainer trains: stop as Ctrl-C does (the trainer saves last/)."""

    signum = signal.SIGTERM


class StopNow(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM inside a held block: stop in the middle, and save nothing of
    it. `signum`: the signal that stopped it."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.signum = signum


def exit_status(e: KeyboardInterrupt) -> int:
    """The exit status of a command that `e` stopped: 128 + its signal, as a shell reports it."""
    return 128 + getattr(e, "signum", signal.SIGINT)


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """SIGTERM raises Terminated inside the block (in the main thread, where Python delivers
    signals, and only where SIGTERM has the system's default action: an ignored SIGTERM, or a
    handler of the caller's own, stays); the previous handler is back after it."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


class _Holder:
    """The SIGINT and SIGTERM handler inside a block: the first signal is noted, a second one
    raises."""

    def __init__(self) -> None:
        self.caught: tuple[int, Any] | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.caught is not None:
            raise StopNow(signum)
        self.caught = (signum, frame)
        what, again = "", "Ctrl-C again"
        if signum == signal.SIGTERM:
            what, again = "SIGTERM: ", "a second SIGTERM or Ctrl-C"
        print(f"\n{what}finishing this update or this evaluation's saves before stopping "
              f"({again} to stop now)", file=sys.stderr, flush=True)  # fmt: skip


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Run the block whole: a SIGINT or SIGTERM inside it is delivered when it ends (to the
    handler that was installed before: KeyboardInterrupt for SIGINT, Terminated inside
    `sigterm_stops`, or a caller's own), a second one at once. Only signals whose handler is
    Python's are held: one ignored (SIGINT in a background job) or left to the system (SIGTERM
    outside `sigterm_stops`) stays so. Python delivers signals to the main thread only, so
    elsewhere, or inside another such block, this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in HELD}
    held = [s for s, h in previous.items() if callable(h) and not isinstance(h, _Holder)]
    holder = _Holder()
    for s in held:
        signal.signal(s, holder)
    try:
        yield
    finally:
        for s in held:
            signal.signal(s, previous[s])
    if holder.caught is not None:
        signum, frame = holder.caught
        previous[signum](signum, frame)  # default_int_handler raises KeyboardInterrupt

"""Ctrl-C at a safe moment: `held_interrupts` holds SIGINT while a block runs, then raises it.

The trainer saves a checkpoint when Ctrl-C stops it, and resuming from that checkpoint must
continue exactly. An interrupt inside an update would save half of it (the random generator
already advanced for dropout, some parameters updated and others not, Adam's step count one
ahead), and one inside an evaluation's saves would leave best/ older than the state that says it
is the best. So those blocks hold the first interrupt until they end; a second one stops at once
(a first step that compiles, or a hang, must not make Ctrl-C useless); everywhere else (the dev
evaluation, reading batches) Ctrl-C acts at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class StopNow(KeyboardInterrupt):
    """A second Ctrl-C inside a held block: stop in the middle, and save nothing of it."""


class _Holder:
    """The SIGINT handler inside a block: the first signal is noted, a second one raises."""

    def __init__(self) -> None:
        self.caught: tuple[int, Any] | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.caught is not None:
            raise StopNow
        self.caught = (signum, frame)
        print("\nfinishing this update or this evaluation's saves before stopping (Ctrl-C "
              "again to stop now)", file=sys.stderr, flush=True)  # fmt: skip


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Run the block whole: a SIGINT inside it is delivered when it ends (KeyboardInterrupt, or
    the handler that was installed before), a second one at once. Python delivers signals to
    the main thread only, so elsewhere, where SIGINT is ignored (a background job), or inside
    another such block, this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None) or isinstance(previous, _Holder):
        yield
        return
    holder = _Holder()
    signal.signal(signal.SIGINT, holder)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if holder.caught is not None:
        if callable(previous) and previous is not signal.default_int_handler:
            previous(*holder.caught)  # a handler of the caller's own (a notebook's, a launcher's)
        else:
            raise KeyboardInterrupt

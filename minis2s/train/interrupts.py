"""Ctrl-C at a safe moment: `held_interrupts` holds SIGINT while a block runs, then raises it.

The trainer saves a checkpoint when Ctrl-C stops it, and resuming from that checkpoint must
continue exactly. An interrupt inside an update would save half of it (the random generator
already advanced for dropout, some parameters updated and others not, Adam's step count one
ahead), and one inside an epoch's saves would leave best/ older than the state that says it is
the best. So those blocks hold the interrupt until they end; everywhere else (the dev
evaluation, reading batches) Ctrl-C acts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Run the block whole: a SIGINT that arrives inside it is raised as KeyboardInterrupt when
    it ends. Python delivers signals to the main thread only, so elsewhere (and where SIGINT is
    ignored, as in a background job) this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):  # ignored, or set outside Python: leave it be
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt

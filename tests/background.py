"""A command run beside the suite, on another core, for a test that would otherwise spend minutes
of the suite's time on one core while the other waits.

A test module declares `BACKGROUND = Run([...])` and marks the test that reads its result
`@pytest.mark.background`. conftest.py starts every such run as soon as the suite is collected,
moves the marked tests to the end of the session (so each run has the whole suite's time to
finish beside it) and stops what is left when the session ends. Run alone (`pytest tests/x.py`),
the marked test starts its run itself and waits for it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _yielding(niceness: int) -> Callable[[], None]:
    """A preexec_fn that runs the command at a lower priority (nice 10 by default): the suite's
    own process comes first, on both cores when its BLAS wants two threads (an OpenBLAS thread
    that waits for a busy core holds its product back many times over: README, Performance), and
    a background run takes what the suite leaves idle."""

    def lower() -> None:
        if hasattr(os, "nice"):
            os.nice(niceness)

    return lower


class Run:
    """One command, started at most once; `wait()` gives its exit status, stdout and stderr."""

    def __init__(self, command: list[str], timeout_s: float, niceness: int = 10):
        self.command, self.timeout_s, self.niceness = command, timeout_s, niceness
        self._started: tuple | None = None  # (process, its stdout file, its stderr file)
        self._result: tuple[int, str, str] | None = None

    def start(self) -> None:
        if self._started is None:
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            yielding = (
                _yielding(self.niceness) if os.name == "posix" else None
            )  # preexec_fn: POSIX only
            run = subprocess.Popen(self.command, cwd=ROOT, stdout=out, stderr=err,
                                   preexec_fn=yielding)  # fmt: skip
            self._started = (run, out, err)

    def stop(self) -> None:
        """Kill the command if it still runs (the session ended before its test waited for it)
        and close its output files."""
        if self._started is not None:
            run, out, err = self._started
            if run.poll() is None:
                run.kill()
                run.wait()
            out.close()
            err.close()

    def wait(self) -> tuple[int, str, str]:
        """(exit status, stdout, stderr), once the command has ended (started here if not yet);
        the same for every test that asks."""
        if self._result is None:
            self.start()
            run, out, err = self._started
            try:
                run.wait(timeout=self.timeout_s)
                out.seek(0)
                err.seek(0)
                self._result = (run.returncode, out.read(), err.read())
            finally:
                self.stop()
        return self._result

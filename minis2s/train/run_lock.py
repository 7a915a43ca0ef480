"""One trainer at a time in a run directory: an advisory lock on `RUN/train.lock`.

Two processes training into one run directory (a `train --resume runs/x` started in two
terminals, or a new run given the --out of one that trains) would each save over the other's
last/ and best/, interleave their log lines and trim each other's kept steps: the run would go
on from whichever saved last, with a log that matches neither. So `minis2s train` (and
`pipeline.train`) holds an exclusive `fcntl.flock` on RUN/train.lock while it resumes and trains
(`hold`), and refuses to start, before it reads any data, when another process holds it
(`check_free`, called by run_checks.check_out_dir): the error names the run, the other process
(the pid, host and start time it wrote in the file) and the fix. A run directory removed or moved
while it trains stops the run at its next save (`check_in_place`), which would otherwise make a
new, partial run directory at the old path.

The operating system releases a flock when the process that took it ends, however it ends
(Ctrl-C, a crash, `kill -9`, a power cut), so no stale lock ever blocks the next resume, and
train.lock itself is never deleted (deleting it would let two processes lock two different
files of one name). The lock is advisory: readers (translate, evaluate, average ...) ignore it,
and read checkpoints whole while a save replaces them (checkpoint_read.py). Where fcntl is
missing (Windows) there is no lock: nothing keeps a second trainer out (README). A file system
that refuses locks (some network mounts) gets a warning and no lock.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from minis2s import _warn
from minis2s.disk_errors import reworded

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

NAME = "train.lock"
# the runs this process holds: absolute path -> (the path as given, the lock file's identity)
_held: dict[str, tuple[str, tuple[int, int]]] = {}


class RunInUseError(RuntimeError):
    """Another process trains into the run directory."""


def check_free(out_dir: str | os.PathLike) -> None:
    """RunInUseError if another process (or another `hold` of this one) holds the lock of the run
    in `out_dir`; nothing when it is free, missing, or there are no locks (Windows)."""
    path = os.path.join(out_dir, NAME)
    if fcntl is None or not os.path.isfile(path):
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # unreadable: hold, which must write it, says what is wrong
        return
    try:
        _lock(fd, out_dir, fcntl.LOCK_SH, warn=False)  # shared: checks do not refuse checks
    finally:
        os.close(fd)  # and the lock with it


@contextmanager
def hold(out_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the run in `out_dir` (made if missing) for the block: RunInUseError at once if
    another process holds it; an OSError naming the directory if it cannot be written."""
    if fcntl is None:
        yield
        return
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:  # said only "[Errno 13] Permission denied: '/data/runs'"
        raise reworded(
            e,
            f"cannot make the run directory {out_dir} ({e.strerror}: {e.filename}); training "
            "writes its checkpoints and log there: make its parent writable, or choose "
            "another --out",
        ) from None
    path = os.path.join(out_dir, NAME)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise reworded(
            e,
            f"cannot write in the run directory {out_dir} ({e.strerror}: {path}); training "
            "writes its checkpoints and log there: make it writable, or choose another --out",
        ) from None
    try:
        locked = _lock(fd, out_dir, fcntl.LOCK_EX)
        if locked:
            _write_owner(fd)
    except BaseException:
        os.close(fd)
        raise
    key = os.path.abspath(out_dir)
    _held[key] = (os.fspath(out_dir), _identity(os.fstat(fd)))
    try:
        yield
    finally:
        _held.pop(key, None)
        try:
            if locked:
                os.ftruncate(fd, 0)  # no owner named in the file when none holds it
        finally:
            os.close(fd)  # releases the lock


def check_in_place(path: str | os.PathLike) -> None:
    """FileNotFoundError if `path` is in a run directory this process holds, and that directory
    was moved or removed since `hold` (its train.lock is not the file held): a save there would
    start a second, partial run at the old path. checkpoint.save and runlog.append call it."""
    path = os.path.abspath(path)
    for key, (out_dir, identity) in list(_held.items()):  # (another thread may hold one)
        if path != key and not path.startswith(os.path.join(key, "")):
            continue
        try:
            now = _identity(os.stat(os.path.join(key, NAME)))
        except OSError:
            now = None
        if now != identity:
            raise FileNotFoundError(
                f"the run directory {out_dir} was moved or removed while this process trained "
                f"into it (the {NAME} it holds is no longer there): stopping rather than start "
                "a second, partial run at that path; if it was moved, resume the run where it "
                "went (its checkpoints and log went with it)"
            )


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _lock(fd: int, out_dir: str | os.PathLike, kind: int, warn: bool = True) -> bool:
    """flock `fd` without waiting: True once held, False where the file system has no locks
    (with a warning if `warn`: hold's, not check_free's too), RunInUseError naming the process
    that holds it."""
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        raise RunInUseError(_in_use(fd, out_dir)) from None
    except OSError as e:  # ENOLCK, EOPNOTSUPP: a file system without locks
        if not warn:
            return False
        _warn.warn(
            f"could not lock {os.path.join(out_dir, NAME)} ({e.strerror}): nothing keeps a "
            f"second trainer out of {out_dir} while this one trains",
        )
        return False


def _in_use(fd: int, out_dir: str | os.PathLike) -> str:
    owner = _owner(fd)
    who = "another process"
    held_here = _identity(os.fstat(fd)) in [identity for _, identity in list(_held.values())]
    if held_here:  # (not by the pid in the file: two containers may share pid and host name)
        return (
            f"the run in {out_dir} is in use: this process is already training it (another "
            "pipeline.train call, in a thread?); two trainers would save over each other's "
            "checkpoints: wait for that call to end, or train into another out_dir"
        )
    if owner:
        who = f"process {owner['pid']} on {owner['host']} (since {owner['since']})"
    kill = f"kill {owner['pid']}" if owner and owner["host"] == socket.gethostname() else "kill"
    return (
        f"the run in {out_dir} is in use: {who} is training it (it holds "
        f"{os.path.join(out_dir, NAME)}), and two trainers would save over each other's "
        f"checkpoints; wait for it to end or stop it (Ctrl-C in its terminal, or `{kill}`: "
        "either saves its last checkpoint and stops it) and then resume the run, or train into "
        "another --out"
    )


def _write_owner(fd: int) -> None:
    """Say in the file who holds it, for the message of the process it keeps out."""
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    line = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since})
    os.ftruncate(fd, 0)
    os.pwrite(fd, (line + "\n").encode(), 0)


def _owner(fd: int) -> dict | None:
    """The holder's pid, host and start, as `_write_owner` wrote them; None if unreadable (it
    has not written them yet, or an older minis2s made the file)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        owner = json.loads(os.read(fd, 4096).decode())
    except (OSError, ValueError):
        return None
    ok = isinstance(owner, dict) and {"pid", "host", "since"} <= owner.keys()
    return owner if ok else None

"""Errors of writing files, reworded for the user: what could not be written, where, why (the
system's words: "No space left on device", "Permission denied") and what was kept, in place of a
bare `[Errno 28] No space left on device: 'runs/x/.last.tmp/params.npz'` that names a temporary
file and leaves the user to guess whether the checkpoint survived. The error keeps its type and
errno, so a caller can still tell a full disk (errno.ENOSPC) from the rest."""

from __future__ import annotations

import errno
import os


def reworded(e: OSError, message: str) -> OSError:
    """An OSError of `e`'s type (PermissionError, ...) and errno whose text is `message`."""
    new = type(e)(message)  # one argument: str() is the message alone, with no "[Errno N]"
    new.errno = e.errno  # (a strerror or filename set too would bring the "[Errno N]" back)
    return new


def file_above(path: str | os.PathLike) -> str | None:
    """The nearest folder above `path` that exists where it is no directory (a file, a device,
    a named pipe), named as the user wrote `path` (relative or absolute), or None: making
    `path` there fails with a bare `[Errno 20] Not a directory`."""
    named = (lambda f: f) if os.path.isabs(path) else os.path.relpath
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)  # missing: made on the way down
    return None if os.path.isdir(folder) else named(folder)


# a full disk or quota, and a write the system refuses: the fix the message names
_FULL = {getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EFBIG") if hasattr(errno, n)}
_REFUSED = {getattr(errno, n) for n in ("EACCES", "EPERM", "EROFS") if hasattr(errno, n)}
WRITE_ERRORS = _FULL | _REFUSED | {errno.EIO}  # what a write's own failure looks like


def write_failed(e: OSError, what: str, kept: str, folder: str | os.PathLike) -> OSError:
    """`e`, raised writing `what` ("the checkpoint runs/x/last") into `folder`, reworded as
    "could not WHAT (why: file); KEPT; the fix" (no fix named for another error)."""
    why = e.strerror or str(e)
    if e.filename is not None:
        why += f": {os.fspath(e.filename)}"
    fix = ""
    if e.errno in _FULL:
        fix = "; free some disk space"
    elif e.errno in _REFUSED:
        fix = f"; make {os.fspath(folder)} writable"
    return reworded(e, f"could not {what} ({why}); {kept}{fix}")

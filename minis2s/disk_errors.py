"""Errors of writing files, reworded for the user: what could not be written, where, why (the
system's words: "No space left on device", "Permission denied") and what was kept, in place of a
bare `[Errno 28] No space left on device: 'runs/x/.last.tmp/params.npz'` that names a temporary
file and leaves the user to guess whether the checkpoint survived. The error keeps its type and
errno, so a caller can still tell a full disk (errno.ENOSPC) from the rest."""

from __future__ import annotations


def reworded(e: OSError, message: str) -> OSError:
    """An OSError of `e`'s type (PermissionError, ...) and errno whose text is `message`."""
    new = type(e)(message)  # one argument: str() is the message alone, with no "[Errno N]"
    new.errno = e.errno  # (a strerror or filename set too would bring the "[Errno N]" back)
    return new

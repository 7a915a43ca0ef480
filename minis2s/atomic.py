"""Writing a file atomically: a temporary file in the same folder, flushed to disk, then renamed
over the target (`os.replace`), so that a crash never leaves a half-written file where a good
one was. Vocabularies and word-vector files are written so; checkpoints rename whole
directories (`train/checkpoint.py`).

A full disk or a refused write is an error that names the file and says it is as it was (the
temporary file removed). A process killed outright (`kill -9`, a power cut) mid-write leaves its
hidden `.NAME.PID.HEX.tmp` beside NAME: one per write cut short, which nothing reads and which may
be deleted; they are not cleaned up here, as the name of another process's file in progress is
the same shape."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from minis2s.disk_errors import WRITE_ERRORS, write_failed


@contextmanager
def atomic_text_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """`with atomic_text_file(path) as f: f.write(...)`: a UTF-8 text file ("\\n" line ends)
    that replaces `path` only when the block ends without an exception; the temporary file is
    removed when it does not."""
    path = Path(path)
    # a name no other writer takes; "x" creates it with open()'s mode (mkstemp's is 0600)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in WRITE_ERRORS:
            raise write_failed(e, f"write {path}", f"{path} is as it was", path.parent) from None
        raise

"""Writing a file atomically: a temporary file in the same folder, flushed to disk, then renamed
over the target (`os.replace`), so that a crash never leaves a half-written file where a good
one was. Vocabularies, word-vector files and `write_tsv`'s corpora are written so; checkpoints
rename whole directories (`train/checkpoint.py`).

A full disk or a refused write is an error that names the file and says it is as it was (the
temporary file removed); a missing directory, or a file where a directory goes, one that names
it and the user's file, not the temporary file that could not be made. A process killed
outright (`kill -9`, a power cut) mid-write leaves its hidden `.NAME.PID.HEX.tmp` beside NAME:
one per write cut short, which nothing reads and which may be deleted; they are not cleaned up
here, as the name of another process's file in progress is the same shape."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from minis2s.disk_errors import WRITE_ERRORS, file_above, reworded, write_failed


@contextmanager
def atomic_text_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """`with atomic_text_file(path) as f: f.write(...)`: a UTF-8 text file ("\\n" line ends)
    that replaces `path` only when the block ends without an exception; the temporary file is
    removed when it does not."""
    named, path = os.fspath(path), Path(path)
    if not path.name:  # "", "." or "/": pathlib's with_name said "PosixPath('.') has an empty name"
        raise ValueError(f"could not write {named!r}: it names no file (blank, or a directory such "
                         "as '.'); give the path of the file to write")  # fmt: skip
    # a name no other writer takes; "x" creates it with open()'s mode (mkstemp's is 0600)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with suppress(FileNotFoundError, NotADirectoryError):  # below a file: ENOTDIR
            tmp.unlink()
        if isinstance(e, OSError) and e.errno in WRITE_ERRORS:
            raise write_failed(e, f"write {path}", f"{path} is as it was", path.parent) from None
        if isinstance(e, OSError) and (reason := _no_folder(e, named)) is not None:
            raise reason from None
        raise


def _no_folder(e: OSError, named: str) -> OSError | None:
    """`e`, which opening the temporary file beside `named` raised, reworded where the folder
    `named` goes into is missing or lies below a file (None otherwise): the bare
    `[Errno 2] No such file or directory: 'runs/.x.json.1358.90976b65.tmp'` named neither."""
    if e.errno not in (errno.ENOENT, errno.ENOTDIR):
        return None
    folder = os.path.dirname(named) or "."
    if above := file_above(named):
        return reworded(e, f"could not write {named}: {above} is a file, not a directory; "
                        "give a path in a directory")  # fmt: skip
    if not os.path.isdir(folder):
        return reworded(e, f"could not write {named}: the directory {folder} does not exist; "
                        "create it first, or give a path in an existing directory")  # fmt: skip
    return None

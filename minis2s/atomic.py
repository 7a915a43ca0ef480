"""Writing a file atomically: a temporary file in the same folder, flushed to disk, then renamed
over the target (`os.replace`), so that a crash never leaves a half-written file where a good
one was. Vocabularies and word-vector files are written so; checkpoints rename whole
directories (`train/checkpoint.py`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


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
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""Reading a checkpoint directory that a save of another process may replace meanwhile (a
translate, evaluate or average of a run that is training): every file of one load is of one save.

`checkpoint.save` renames the old directory away (`.NAME.old`), the new one in, and then deletes
the old one. A load that read NAME/state.json of one save and NAME/params.npz of the next would
mix the two; one that opened the old directory's files as they were deleted would fail. So a
load opens the directory once and reads each file relative to it (`dir_fd`, POSIX's openat): a
directory renamed is the same directory, so its files are all of one save, and one deleted under
the load is a FileNotFoundError. When a read fails and NAME no longer names the directory it
opened (a save replaced it), the load starts again, TRIES times at most (then it says so); a
failure of the directory that NAME still names is the checkpoint's own (missing or corrupt) and is
raised. A load that succeeded but found a file missing (the optional optimizer.npz, a vocabulary)
is started again too when the directory was replaced before it ended: the save may have deleted
that file. One that found every file it looked for read one directory, so one save, and is kept
whatever came after it. Where `dir_fd` is missing (Windows) the files are read by path, and every
load that a save overlapped is started again: that is what keeps it from mixing two saves.

checkpoint.py's `load` and `load_config` call `read_whole` with a reading of the files on the
opened Folder (`read_json`, `read_npz`, `Folder.has` for the optional ones).
"""

from __future__ import annotations

import functools
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from minis2s.train.checkpoint_files import _sibling

TRIES = 10  # loads started again while saves replace the checkpoint; each save takes one
_DIR_FD = {os.open, os.stat} <= os.supports_dir_fd
T = TypeVar("T")


class Folder:
    """A checkpoint directory opened for reading; `path` names it in messages."""

    def __init__(self, path: Path) -> None:
        self.path, self.fd = path, None
        self.found_missing = False  # whether `has` said no to a file
        if _DIR_FD:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        st = os.fstat(self.fd) if _DIR_FD else os.stat(path)
        if not stat.S_ISDIR(st.st_mode):  # by path (openat's O_DIRECTORY refuses it above)
            self.close()
            raise NotADirectoryError(f"{path} is not a directory")
        self.identity = _identity(st)

    def has(self, name: str) -> bool:
        """Whether the directory holds file `name`; a no is remembered (`found_missing`): the
        save that replaced the directory may have deleted that file, so read_whole looks again."""
        try:
            os.stat(name, dir_fd=self.fd) if _DIR_FD else os.stat(self.path / name)
        except FileNotFoundError:
            self.found_missing = True
            return False
        return True

    def open(self, name: str, mode: str) -> IO[Any]:
        """File `name` of the directory opened (openat), or of `path` where dir_fd is missing."""
        if not _DIR_FD:
            return open(self.path / name, mode)
        opener = functools.partial(os.open, dir_fd=self.fd)
        return open(name, mode, opener=opener)  # noqa: SIM115 (the caller closes it)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def read_whole(path: Path, read: Callable[[Folder], T]) -> T:
    """`read(folder)` of the checkpoint at `path` (or of the `.NAME.old` copy that a save between
    its two renames leaves), started again while saves replace it; FileNotFoundError naming
    `path` when there is none, RuntimeError when a save replaced it during each of TRIES reads
    (a run that saves faster than it can be read), the errors of `read` otherwise."""
    for _ in range(TRIES):
        try:
            folder = Folder(_current(path) or path)
        except (FileNotFoundError, NotADirectoryError):
            if _current(path) is not None:  # a save's rename came in between
                continue
            raise FileNotFoundError(f"no checkpoint directory at {path}") from None
        try:  # closed only after _replaced: a directory deleted and let go of frees its inode
            try:  # for a new one (the next save's), which would then look like it
                got = read(folder)
            except (OSError, ValueError):
                if _replaced(path, folder):
                    continue
                raise
            if _DIR_FD and not folder.found_missing:  # all its files are of the directory opened
                return got
            if not _replaced(path, folder):  # else a file it did not find may have been deleted
                return got
        finally:
            folder.close()
    raise RuntimeError(
        f"could not read {path} whole: {TRIES} saves replaced it while it was read (a run "
        "saving faster than it can be read); try again"
    )


def read_npz(folder: Folder, name: str) -> dict[str, np.ndarray]:
    """{key: array} of the .npz file `name`, without pickles; ValueError naming the file when it
    is missing or corrupt (read_whole tells those apart from a save's replacement)."""
    file = folder.path / name
    try:
        with folder.open(name, "rb") as f:
            if f.read(2) != b"PK":  # a zip's; np.load would call it pickled, to load unsafely
                raise ValueError("not an .npz archive")
            f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ValueError(f"incomplete checkpoint: {file} is missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"corrupt checkpoint file {file}: {e}") from e


def read_json(folder: Folder, name: str) -> Any:
    """The UTF-8 JSON file `name`; ValueError naming the file when it is missing or corrupt."""
    file = folder.path / name
    try:
        with folder.open(name, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"incomplete checkpoint: {file} is missing") from None
    except IsADirectoryError:  # OSError's own words named 'state.json' alone (opened by dir_fd)
        raise ValueError(
            f"corrupt checkpoint: {file} is a directory, not the JSON file a checkpoint holds "
            "there; put the file back (from a copy of the run), or load another checkpoint"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"corrupt checkpoint file {file}: {e}") from e


def _current(path: Path) -> Path | None:
    """The directory a load of `path` reads now: `path`, or the `.NAME.old` that a save between
    its renames leaves; None without either (NAME is looked at again: the save may have ended)."""
    for p in (path, _sibling(path, "old"), path):
        if p.is_dir():
            return p
    return None


def _replaced(path: Path, folder: Folder) -> bool:
    """Whether the checkpoint at `path` is no longer the directory `folder` opened: a save
    renamed it (to `.NAME.old`, which by path may look the same: a rename within one tick of
    the clock that stamps ctime leaves its identity as it was) or put another in its place."""
    now = _current(path)
    try:
        return now != folder.path or _identity(os.stat(now)) != folder.identity
    except OSError:  # gone between the two looks: replaced
        return True


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    # the inode cannot be reused while `folder` holds the directory open (POSIX); by path, the
    # change time tells a directory made in the place of a deleted one apart
    return (st.st_dev, st.st_ino, 0 if _DIR_FD else st.st_ctime_ns)

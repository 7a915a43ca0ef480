"""The files of a checkpoint directory (checkpoint.py), one at a time: written and fsynced, JSON
as a checkpoint holds it, and the `.NAME.tmp` / `.NAME.old` siblings that make `checkpoint.save`
atomic (`_recover` finishes or undoes a save that was cut short). Reading them back, whole while
a save replaces them, is checkpoint_read.py's."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np


def _sibling(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}")


def _check_replaceable(path: Path) -> None:
    """Refuse to replace anything but an earlier checkpoint (or an empty directory)."""
    if not path.exists():
        return
    if not path.is_dir() or not ((path / "state.json").exists() or not any(path.iterdir())):
        kept = _sibling(path, "old")
        kept = (f"; the checkpoint a cut save left at {kept} is kept, and read again once "
                f"{path.name} is moved away") if kept.is_dir() else ""  # fmt: skip
        raise ValueError(
            f"checkpoint.save: {path} exists and is not a checkpoint directory; refusing to "
            f"replace it (choose another path){kept}"
        )


def _recover(path: Path) -> None:
    """Finish or undo an interrupted save: restore `.NAME.old` if NAME is gone, drop leftovers.
    Refuses (`_check_replaceable`) before `.NAME.old` goes where NAME is something else: a file
    put there after a save was cut between its renames, when `.NAME.old` is the only copy."""
    tmp, old = _sibling(path, "tmp"), _sibling(path, "old")
    if old.is_dir() and not path.exists():
        os.replace(old, path)
    _check_replaceable(path)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _write_npz(file: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(file, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _write_json(file: Path, text: str) -> None:
    with open(file, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Make the directory's entries (new files, renames) durable; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-able")


def _to_json(what: str, obj: Any) -> str:
    try:
        return json.dumps(obj, default=_default, indent=1)
    except (TypeError, ValueError) as e:
        raise ValueError(f"checkpoint.save: {what} must be JSON-able: {e}") from e


def _jsonable(obj: Any) -> Any:
    """`obj` as it reads after a JSON round trip (tuples -> lists, NumPy -> Python)."""
    return json.loads(json.dumps(obj, default=_default))

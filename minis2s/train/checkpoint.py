"""Checkpoints: one directory per checkpoint, written atomically.

    ckpt/
      params.npz       model parameters by dotted name, host NumPy arrays
      optimizer.npz    optimizer state ("step", "lr", "exp_avg/enc.emb.W", ...), if given
      state.json       {"format": 2, "config": ..., "trainer_state": ...}
      src_vocab.json   tgt_vocab.json    vocabularies as dicts, if given

Atomic: `save` writes everything into a sibling `.NAME.tmp`, fsyncs every file and the folder,
then renames the old checkpoint to `.NAME.old`, renames the new one into place and deletes the
old one. A crash at any moment leaves a complete checkpoint: the new one at NAME, or the old one
at NAME, or (between the two renames) the old one at `.NAME.old`, which `load` reads and the
next `save` moves back. Arrays are never pickled (`allow_pickle=False`).

JSON holds the config and trainer state exactly: Python floats round trip through their repr,
integers of any size (a NumPy `Generator.bit_generator.state`) stay integers, NaN and infinity
are written as the (non-standard) NaN / Infinity that Python's json reads back. NumPy scalars
and arrays are converted to Python numbers and lists; tuples come back as lists and dict keys
as strings.

Formats: `load` reads every earlier format and returns its config as the current format
would write it (`_UPGRADES`), so an old checkpoint keeps the behaviour it was trained with.
    1 -> 2 (2026-12): the learned bridge also maps an LSTM encoder's c (`bridge_c.*`); an LSTM
           model of format 1 with bridge "learned" started its decoder's c at 0, which is the
           bridge "learned_h" now.

The files themselves (fsynced writes, the `.NAME.tmp` and `.NAME.old` siblings) are
checkpoint_files.py's; reading them back whole, with errors that name a missing or corrupt file,
while another process may be saving, is checkpoint_read.py's; comparing a checkpoint's config with
a run's (check_compatible, for --resume) is checkpoint_diff.py's, importable from here as
before; that state.json's sections are of the kinds its readers take (an edited file refused
naming it) is checkpoint_sections.py's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import to_numpy
from minis2s.disk_errors import file_above, reworded, write_failed
from minis2s.train import run_lock
from minis2s.train.checkpoint_diff import SHOWN_ITEMS as SHOWN_ITEMS
from minis2s.train.checkpoint_diff import check_compatible as check_compatible
from minis2s.train.checkpoint_diff import differences as differences
from minis2s.train.checkpoint_diff import flat as flat
from minis2s.train.checkpoint_files import (  # by name: save finds them here, as tests patch
    _fsync_dir,
    _recover,
    _sibling,
    _to_json,
    _write_json,
    _write_npz,
)
from minis2s.train.checkpoint_read import Folder, read_json, read_npz, read_whole
from minis2s.train.checkpoint_sections import check_sections
from minis2s.train.keep import STEPS

FORMAT = 2
VOCAB_FILES = {"src": "src_vocab.json", "tgt": "tgt_vocab.json"}


class Checkpoint(NamedTuple):
    params: dict[str, np.ndarray]  # host NumPy arrays by dotted name
    config: dict[str, Any]
    optimizer_state: dict[str, Any] | None  # arrays, and Python numbers for 0-d entries
    trainer_state: dict[str, Any] | None
    vocabs: dict[str, Any] | None  # {"src": ..., "tgt": ...}, whichever were saved


def save(
    path: str | os.PathLike,
    params: dict[str, Any],
    config: dict[str, Any],
    *,
    optimizer_state: dict[str, Any] | None = None,
    trainer_state: dict[str, Any] | None = None,
    vocabs: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint directory at `path` atomically (replacing any checkpoint there).

    params: {name: NumPy or CuPy array}; config, trainer_state and vocabs: JSON-able dicts
    (NumPy scalars and arrays allowed); optimizer_state: {name: array or number}.
    Returns the checkpoint's path.
    """
    path = Path(path)
    if vocabs is not None and not set(vocabs) <= set(VOCAB_FILES):
        raise ValueError(
            f"checkpoint.save: vocabs has keys {sorted(vocabs)}; allowed: {', '.join(VOCAB_FILES)}"
        )
    # Encode everything before touching the disk, so bad input leaves no trace.
    state = {"format": FORMAT, "config": config, "trainer_state": trainer_state}
    texts = {"state.json": _to_json("config / trainer_state", state)}
    for side, v in (vocabs or {}).items():
        texts[VOCAB_FILES[side]] = _to_json(f"vocabs[{side!r}]", v)
    arrays = {"params.npz": {k: to_numpy(v) for k, v in params.items()}}
    if optimizer_state is not None:
        arrays["optimizer.npz"] = {k: to_numpy(v) for k, v in optimizer_state.items()}

    run_lock.check_in_place(path)  # not into a run directory removed or moved meanwhile
    had = exists(path)
    try:
        _write_whole(path, arrays, texts)
    except OSError as e:
        kept = f"{path} is as it was before this save (nothing of it was replaced)"
        if not had:
            kept = f"nothing was written at {path}"
        e = write_failed(e, f"save the checkpoint {path}", kept, path.parent)
        if path.name in ("best", "last") or path.parent.name == "steps":  # a run's (keep.py)
            e = reworded(e, f"{e}, then {_next_step(path)}")
        raise e from None
    return path


def _next_step(path: Path) -> str:
    """What a run whose save of `path` (its best/, last/ or steps/step-N) failed does next:
    --resume reads RUN/last, so a run without one yet is trained again."""
    run = path.parent if path.name in ("best", "last") else path.parent.parent
    if exists(run / "last"):
        return "resume the run: it goes on from its last checkpoint"
    return "train the run again: it saved no checkpoint yet, so there is none to resume from"


def _write_whole(path: Path, arrays: dict[str, dict], texts: dict[str, str]) -> None:
    """Write the files into `.NAME.tmp` and rename it to `path`; on an error, `path` is as it was
    and no `.NAME.tmp` or `.NAME.old` is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _recover(path)  # and refuses to replace what is not a checkpoint
    tmp, old = _sibling(path, "tmp"), _sibling(path, "old")
    try:
        tmp.mkdir()
        for name, a in arrays.items():
            _write_npz(tmp / name, a)
        for name, text in texts.items():
            _write_json(tmp / name, text)
        _fsync_dir(tmp)
        if path.exists():
            os.replace(path, old)  # renaming a directory to a free name is atomic
        try:
            os.replace(tmp, path)
        except BaseException:
            _put_back(old, path)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)


def _put_back(old: Path, path: Path) -> None:
    """Undo the first rename of a save whose second failed: the checkpoint is back at NAME."""
    if old.is_dir() and not path.exists():
        try:
            os.replace(old, path)
        except OSError:  # (a failing disk) load reads .NAME.old, the next save moves it back
            pass


def exists(path: str | os.PathLike) -> bool:
    """Whether `load(path)` finds a checkpoint directory there (or the copy at `.NAME.old` that
    a save interrupted between its two renames leaves)."""
    path = Path(path)  # NAME again: a save may have renamed it back and deleted .NAME.old
    return path.is_dir() or _sibling(path, "old").is_dir() or path.is_dir()


def is_run(path: str | os.PathLike) -> bool:
    """Whether `path` is a run directory: one whose best/ or last/ is a checkpoint (`exists`)."""
    return any(exists(Path(path) / which) for which in ("best", "last"))


def blocked_above(path: str | os.PathLike) -> tuple[str, str] | None:
    """What stops a run or an average being written at `path` from a folder above it: ("file",
    folder) where one is a file (`disk_errors.file_above`), ("checkpoint", folder) where one is
    a checkpoint (state.json and params.npz), which its run's next save replaces whole, what was
    written inside with it; None where neither."""
    if file := file_above(path):
        return "file", file
    named = (lambda f: f) if os.path.isabs(path) else os.path.relpath  # as the user wrote it
    folder, below = os.path.dirname(os.path.abspath(path)), None
    while folder != below:  # up to / (a relative path's too: a checkpoint may hold the cwd)
        if all(os.path.isfile(os.path.join(folder, f)) for f in ("state.json", "params.npz")):
            return "checkpoint", named(folder)
        folder, below = os.path.dirname(folder), folder
    return None


def refuse_blocked_above(path: str | os.PathLike, option: str, lost: str) -> None:
    """Refuse `path`, given as `option`, where `blocked_above` finds a folder above it that is a
    file (NotADirectoryError) or a checkpoint (ValueError), naming that folder, what would be
    lost (`lost`: "this run", "the average", "this file") and the fix: another `option` (or
    path, where `option` is no option but a Python function's argument). Called
    before any work, by train's --out, average's --out and the files plot, vectors, bench write."""
    blocked = blocked_above(path)
    if blocked is None:
        return
    kind, folder = blocked
    other = option if option.startswith("-") else "path"  # Python's "plot_attention: out"
    if kind == "file":
        raise NotADirectoryError(f"{option} {path}: {folder} is a file, not a directory; choose "
                                 f"another {other}")  # fmt: skip
    kept = os.path.basename(os.path.dirname(os.path.abspath(folder))) == STEPS
    raise ValueError(
        f"{option} {path} is inside the checkpoint {folder}, which its run's next save"
        f"{' (or trim of ' + STEPS + '/)' if kept else ''} replaces whole, {lost} with it; "
        f"choose another {other}, outside it (e.g. beside the run)"
    )


CHECKPOINT_DIR = "the checkpoint's directory (runs/x/best)"  # what load's `path` names


def load(path: str | os.PathLike) -> Checkpoint:
    """Read the checkpoint directory `path` (see the module docstring for its files).

    Raises FileNotFoundError if there is none, ValueError if it is incomplete or corrupt; both
    name the path; ValueError for a `path` that is no path (3, None, '').
    """
    return read_whole(Path(validate.path("checkpoint.load", "path", path, CHECKPOINT_DIR)), _load)


def _load(src: Folder) -> Checkpoint:
    state = _state(src)
    params = read_npz(src, "params.npz")
    optimizer_state = None
    if src.has("optimizer.npz"):
        opt = read_npz(src, "optimizer.npz")
        optimizer_state = {k: v.item() if v.ndim == 0 else v for k, v in opt.items()}
    vocabs = {s: read_json(src, f) for s, f in VOCAB_FILES.items() if src.has(f)}
    return Checkpoint(
        params, state["config"], optimizer_state, state.get("trainer_state"), vocabs or None
    )


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """The config of the checkpoint at `path`, from its state.json alone (no arrays read); the
    errors of `load`."""
    return read_whole(
        Path(validate.path("checkpoint.load_config", "path", path, CHECKPOINT_DIR)), _state
    )["config"]


def _state(src: Folder) -> dict[str, Any]:
    """The state.json of the checkpoint directory `src`, checked and upgraded to the current
    format."""
    state = read_json(src, "state.json")
    file = src.path / "state.json"
    if not isinstance(state, dict) or "config" not in state or "format" not in state:
        raise ValueError(f"{file} is not a minis2s checkpoint state (formats 1 to {FORMAT})")
    check_sections(file, state)
    fmt = state["format"]
    if type(fmt) is int and fmt > FORMAT:
        raise ValueError(
            f"{file} is checkpoint format {fmt}, from a newer minis2s; this one "
            f"reads formats 1 to {FORMAT}: upgrade minis2s to read it"
        )
    if type(fmt) is not int or fmt < 1:
        raise ValueError(
            f"{file} says checkpoint format {fmt!r}; minis2s writes an integer "
            f"from 1 to {FORMAT} (was the file edited?)"
        )
    for upgrade in _UPGRADES[fmt - 1 :]:
        state = {**state, "config": upgrade(state["config"])}
    return {**state, "format": FORMAT}


def _bridge_c(config: Any) -> Any:
    """Format 1 -> 2: a format-1 LSTM model's "learned" bridge (c started at 0) is "learned_h".
    Fields missing from the config have their defaults (cell "lstm", bridge "learned")."""
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict):
        return config
    if model.get("cell", "lstm") == "lstm" and model.get("bridge", "learned") == "learned":
        return {**config, "model": {**model, "bridge": "learned_h"}}
    return config


_UPGRADES = [_bridge_c]  # _UPGRADES[k] turns a config of format k + 1 into one of format k + 2

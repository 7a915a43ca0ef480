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
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from minis2s.backend import to_numpy

FORMAT = 2
VOCAB_FILES = {"src": "src_vocab.json", "tgt": "tgt_vocab.json"}
SHOWN_ITEMS = 10  # check_compatible names a longer list's length, not its items


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

    path.parent.mkdir(parents=True, exist_ok=True)
    _recover(path)
    _check_replaceable(path)
    tmp, old = _sibling(path, "tmp"), _sibling(path, "old")
    tmp.mkdir()
    try:
        for name, a in arrays.items():
            _write_npz(tmp / name, a)
        for name, text in texts.items():
            _write_json(tmp / name, text)
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        os.replace(path, old)  # renaming a directory to a free name is atomic
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    return path


def exists(path: str | os.PathLike) -> bool:
    """Whether `load(path)` finds a checkpoint directory there (or the copy at `.NAME.old` that
    a save interrupted between its two renames leaves)."""
    path = Path(path)
    return path.is_dir() or _sibling(path, "old").is_dir()


def load(path: str | os.PathLike) -> Checkpoint:
    """Read the checkpoint directory `path` (see the module docstring for its files).

    Raises FileNotFoundError if there is none, ValueError if it is incomplete or corrupt; both
    name the path.
    """
    src, state = _state(Path(path))
    params = _read_npz(src / "params.npz")
    optimizer_state = None
    if (src / "optimizer.npz").exists():
        opt = _read_npz(src / "optimizer.npz")
        optimizer_state = {k: v.item() if v.ndim == 0 else v for k, v in opt.items()}
    vocabs = {s: _read_json(src / f) for s, f in VOCAB_FILES.items() if (src / f).exists()}
    return Checkpoint(
        params, state["config"], optimizer_state, state.get("trainer_state"), vocabs or None
    )


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """The config of the checkpoint at `path`, from its state.json alone (no arrays read); the
    errors of `load`."""
    return _state(Path(path))[1]["config"]


def _state(path: Path) -> tuple[Path, dict[str, Any]]:
    """(the directory that holds the checkpoint at `path`, its state.json checked and upgraded to
    the current format)."""
    src = path
    if not path.is_dir():
        src = _sibling(path, "old")  # a save was interrupted between its two renames
        if not src.is_dir():
            raise FileNotFoundError(f"no checkpoint directory at {path}")
    state = _read_json(src / "state.json")
    if not isinstance(state, dict) or "config" not in state or "format" not in state:
        raise ValueError(
            f"{src / 'state.json'} is not a minis2s checkpoint state (formats 1 to {FORMAT})"
        )
    fmt = state["format"]
    if type(fmt) is int and fmt > FORMAT:
        raise ValueError(
            f"{src / 'state.json'} is checkpoint format {fmt}, from a newer minis2s; this one "
            f"reads formats 1 to {FORMAT}: upgrade minis2s to read it"
        )
    if type(fmt) is not int or fmt < 1:
        raise ValueError(
            f"{src / 'state.json'} says checkpoint format {fmt!r}; minis2s writes an integer "
            f"from 1 to {FORMAT} (was the file edited?)"
        )
    for upgrade in _UPGRADES[fmt - 1 :]:
        state = {**state, "config": upgrade(state["config"])}
    return src, {**state, "format": FORMAT}


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


def check_compatible(
    ckpt_config: dict[str, Any], config: dict[str, Any], ignore: tuple[str, ...] = ()
) -> None:
    """Raise ValueError listing every field where `config` differs from the checkpoint's.

    Nested dicts are compared field by field ("model.hidden"); tuples equal lists (as after a
    JSON round trip). Fields named in `ignore` (dotted names, or a prefix such as "train") are
    skipped, for options a resumed run may change.
    """
    a, b = flat(ckpt_config), flat(config)
    changed = differences(ckpt_config, config, ignore)
    diffs = []
    for k in changed:
        was = _shown(k, a[k], b.get(k)) if k in a else f"no {k}"
        now = _shown(k, b[k], a.get(k)) if k in b else f"no {k}"
        diffs.append(f"checkpoint was trained with {was}, this run asks {now}")
    if {"data.train", "data.dev"} & set(changed):  # fingerprints of the pairs (data/loading.py)
        diffs.append(
            "(the checkpoint keeps a fingerprint of its data, not the names of its files: a run "
            "trained on files resumes with the same --data, --dev-data and --test-data, or none "
            "of them: the files it recorded; without --dev-data, part of --data is held out as "
            "dev)"
        )
    if a.get("model.bridge") == "learned_h" and b.get("model.bridge") == "learned":
        diffs.append(
            "(a run saved before checkpoint format 2 with bridge 'learned' started an LSTM "
            "decoder's c at 0, which is bridge 'learned_h' now: --bridge learned_h resumes it)"
        )
    if diffs:
        raise ValueError(
            "; ".join(diffs) + "; resume with the run's own options (on the command line: leave "
            "them out, the run keeps its own) or start a new --out directory"
        )


def differences(a: dict[str, Any], b: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """The dotted fields ("model.hidden") where two configs differ, one lacking a field included,
    sorted; fields named in `ignore` (or under a prefix named there) are skipped."""
    fa, fb = flat(a), flat(b)
    skipped = lambda k: any(k == i or k.startswith(i + ".") for i in ignore)
    return [k for k in sorted(set(fa) | set(fb))
            if not skipped(k) and not (k in fa and k in fb and fa[k] == fb[k])]  # fmt: skip


def flat(config: dict[str, Any]) -> dict[str, Any]:
    """`config` as {dotted field: value}, as it reads after a JSON round trip (tuples as lists)."""
    return _flatten(_jsonable(config))


def _shown(key: str, value: Any, other: Any) -> str:
    """`key=value` for check_compatible's message; a long list (a bpe run's thousands of
    merges) as its length and, where `other` is a list too, its first item that differs."""
    if not isinstance(value, list) or len(value) <= SHOWN_ITEMS:
        return f"{key}={value!r}"
    shown = f"{key}=[{len(value)} items]"
    if isinstance(other, list):
        i = next((i for i, (x, y) in enumerate(zip(value, other, strict=False)) if x != y), None)
        if i is not None:
            shown += f" (item {i} is {value[i]!r})"
    return shown


# -- writing and reading ---------------------------------------------------------------------


def _sibling(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}")


def _check_replaceable(path: Path) -> None:
    """Refuse to replace anything but an earlier checkpoint (or an empty directory)."""
    if not path.exists():
        return
    if not path.is_dir() or not ((path / "state.json").exists() or not any(path.iterdir())):
        raise ValueError(
            f"checkpoint.save: {path} exists and is not a checkpoint directory; refusing to "
            "replace it (choose another path)"
        )


def _recover(path: Path) -> None:
    """Finish or undo an interrupted save: restore `.NAME.old` if NAME is gone, drop leftovers."""
    tmp, old = _sibling(path, "tmp"), _sibling(path, "old")
    if old.is_dir() and not path.exists():
        os.replace(old, path)
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


def _read_npz(file: Path) -> dict[str, np.ndarray]:
    if not file.exists():
        raise ValueError(f"incomplete checkpoint: {file} is missing")
    try:
        with np.load(file, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"corrupt checkpoint file {file}: {e}") from e


def _read_json(file: Path) -> Any:
    if not file.exists():
        raise ValueError(f"incomplete checkpoint: {file} is missing")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"corrupt checkpoint file {file}: {e}") from e


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


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict) or not d:
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out |= _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    return out

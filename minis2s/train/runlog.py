"""A run's log.jsonl, one JSON line per dev evaluation (each epoch's end, and with --eval-every
every N updates), kept in step with its checkpoints.

The trainer saves an evaluation's checkpoints first and logs its line after them, so a line never
stands for a checkpoint that was not written; the checkpoint also keeps that line (its trainer
state's "record"). A crash between the save and the log's write would leave the line missing,
and a full disk a torn line; `repair`, which a resume calls, rewrites the log as the checkpoint
knows it: the lines of the updates up to the checkpoint's, the checkpoint's own line last.
Lines are told apart by their "step", the updates made when they were written: an epoch may have
several lines, a step only one. Every log minis2s has written has a step in each line.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from minis2s.disk_errors import write_failed
from minis2s.train import run_lock

NAME = "log.jsonl"


def append(out_dir: str, record: dict[str, Any]) -> None:
    """Add one evaluation's line to out_dir/log.jsonl."""
    run_lock.check_in_place(out_dir)  # not into a run directory removed or moved meanwhile
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, NAME)
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    except OSError as e:  # a torn line is dropped by the resume's repair
        kept = "its checkpoints were saved, and resuming the run writes the line from them"
        raise write_failed(e, f"add this evaluation's line to {path}", kept, out_dir) from None


def repair(out_dir: str, step: int, record: dict[str, Any] | None) -> None:
    """Rewrite out_dir/log.jsonl (atomically) for a run resumed after `step` updates: the first
    line of each step up to it, in step order, with `record`, the checkpoint's own last line,
    in place of its step's (None from a checkpoint written before records were kept: the log's
    line, if any). Lines that are not JSON records of a log line, with an int epoch and step
    (a torn last line), are dropped, and so is a record of a later step."""
    path = os.path.join(out_dir, NAME)
    kept: dict[int, str] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                s = _step_of(_parsed(line))
                if s is not None and s <= step and s not in kept:
                    kept[s] = line.rstrip("\n")
    s = _step_of(record)
    if s is not None and s <= step:
        kept[s] = json.dumps(record)
    if not kept and not os.path.exists(path):
        return
    tmp = path + ".tmp"  # one name: the run's lock keeps out a second writer (run_lock.py)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(kept[s] + "\n" for s in sorted(kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise write_failed(e, f"rewrite {path}", "it is as it was", out_dir) from None


def _parsed(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _step_of(r: Any) -> int | None:
    """The step of a log line's record, None for anything else (a torn or foreign line)."""
    if not isinstance(r, dict) or not all(_is_int(r.get(k)) for k in ("epoch", "step")):
        return None
    return r["step"]


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)

"""A run's log.jsonl, one JSON line per finished epoch, kept in step with its checkpoints.

The trainer saves an epoch's checkpoints first and logs the epoch after them, so a line never
stands for a checkpoint that was not written; the checkpoint also keeps that line (its trainer
state's "record"). A crash between the save and the log's write would leave the line missing,
and a full disk a torn line; `repair`, which a resume calls, rewrites the log as the checkpoint
knows it: the lines of the epochs before the checkpoint's, then the checkpoint's own.
"""

from __future__ import annotations

import json
import os
from typing import Any

NAME = "log.jsonl"


def append(out_dir: str, record: dict[str, Any]) -> None:
    """Add one epoch's line to out_dir/log.jsonl."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, NAME), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def repair(out_dir: str, epoch: int, record: dict[str, Any] | None) -> None:
    """Rewrite out_dir/log.jsonl (atomically) for a run resumed after `epoch` finished epochs:
    the first line of each earlier epoch, then `record`, the checkpoint's own line for `epoch`
    (None from a checkpoint written before records were kept: the log's line for it, if any).
    Lines that are not JSON records of an epoch (a torn last line) are dropped."""
    path = os.path.join(out_dir, NAME)
    kept: dict[int, str] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                e = _epoch_of(line)
                if e is not None and e <= epoch and e not in kept:
                    kept[e] = line.rstrip("\n")
    if record is not None and record.get("epoch") == epoch:
        kept[epoch] = json.dumps(record)
    if not kept and not os.path.exists(path):
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(kept[e] + "\n" for e in sorted(kept))
    os.replace(tmp, path)


def _epoch_of(line: str) -> int | None:
    """The epoch of a log line, None for anything else (a torn or foreign line)."""
    try:
        r = json.loads(line)
    except ValueError:
        return None
    e = r.get("epoch") if isinstance(r, dict) else None
    return e if isinstance(e, int) and not isinstance(e, bool) else None

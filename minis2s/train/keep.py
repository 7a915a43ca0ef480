"""--keep-checkpoints K: a copy of the checkpoint of each of the run's last K scoring points, in
`out_dir/steps/step-NNNNNNN` (the update's number, zero-padded to 7 digits so that the names sort
as the steps do), for `minis2s average --run RUN --last K` (train/average.py).

The copy is a second `checkpoint.save` of what last/ holds, so it is written as atomically as
last/ is; the oldest beyond K are deleted only after the new one is in place. A crash between
the two leaves K + 1, which the next save trims; a crash between last/ and the copy leaves that
point without one (Ctrl-C cannot: the trainer holds it until the point's saves are done). A
resumed run may change K: the next save trims to the new K. K = 0 (the default) writes and
deletes nothing here, so a run resumed with 0 leaves what earlier saves kept.

Deleting touches only directories named as `step_name` names them: never best/, last/, or
anything a user put in steps/ (a symlink, even one named so, is not kept: the trainer writes
directories). A kept checkpoint is first renamed to a hidden `.step-N.deleting`
(atomic) and then removed, so a crash mid-removal leaves no half checkpoint under a kept name;
the next trim removes such leftovers, and the `.step-N.tmp` of a save that a crash cut short.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable

STEPS = "steps"  # the folder of a run directory that holds the kept checkpoints
_NAME = re.compile(r"step-(\d{7,})")
# what an interrupted deletion, or a save cut short (checkpoint.save's sibling .NAME.tmp), left
_LEFTOVER = re.compile(r"\.step-\d{7,}\.(deleting|tmp)")


def step_name(step: int) -> str:
    """The kept checkpoint of update `step`, relative to the run directory: 'steps/step-0000040'."""
    return os.path.join(STEPS, f"step-{step:07d}")


def step_of(name: str) -> int | None:
    """The update whose kept checkpoint is named `name` in steps/ ('step-0000040': 40), or None
    for a name step_name does not write ("step-00000040", 8 digits for 40, is someone else's)."""
    m = _NAME.fullmatch(name)
    return int(m[1]) if m and os.path.join(STEPS, name) == step_name(int(m[1])) else None


def kept(out_dir: str | os.PathLike) -> list[tuple[int, str]]:
    """(step, path) of each checkpoint kept in `out_dir/steps`, oldest first; [] without any."""
    folder = os.path.join(out_dir, STEPS)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        # not a symlink: renamed to .deleting, it stayed there (rmtree refuses symlinks)
        if step_of(name) is not None and os.path.isdir(path) and not os.path.islink(path):
            found.append((step_of(name), path))
    return sorted(found)


def keep(out_dir: str, step: int, k: int, save: Callable[[str], None]) -> None:
    """At a scoring point of update `step`: with k > 0, `save(step_name(step))` (the trainer's
    save, relative to `out_dir`), then delete all but the newest k kept checkpoints."""
    if k <= 0:
        return
    save(step_name(step))
    trim(out_dir, k)


def trim(out_dir: str, k: int) -> None:
    """Delete the kept checkpoints of `out_dir` beyond the newest `k` (k >= 1), and what an
    interrupted deletion or save left (called after a save has finished: no save is under way)."""
    folder = os.path.join(out_dir, STEPS)
    for name in os.listdir(folder):
        if _LEFTOVER.fullmatch(name):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    for _, path in kept(out_dir)[:-k]:
        hidden = os.path.join(folder, f".{os.path.basename(path)}.deleting")
        os.replace(path, hidden)  # from here on it is no kept checkpoint, whole or not
        shutil.rmtree(hidden, ignore_errors=True)

"""The checks of `average`'s paths, made before any checkpoint is read: the inputs are two or
more checkpoint directories (a run directory or another folder is named as such), each given
once, and `out` is a new path (none of them, nothing there but an empty folder) where neither a
run's next save nor its trim of steps/ would delete the average.

Apart from average.py, which is about what makes two checkpoints one model and their mean.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from minis2s.train import checkpoint, keep


def _check_checkpoint(name: str) -> None:
    """`name` is a checkpoint directory (or what a save cut between its renames left), not a
    run directory or another folder."""
    if not checkpoint.exists(name):
        raise FileNotFoundError(f"{name}: no such checkpoint directory; give a checkpoint (a "
                                "run's best/, last/ or steps/step-N)")  # fmt: skip
    if not os.path.isdir(name) or os.path.exists(os.path.join(name, "state.json")):
        return
    if checkpoint.exists(os.path.join(name, "last")):
        raise ValueError(
            f"{name} is a run directory: give its checkpoints ({name}/best, {name}/last, "
            f"{name}/steps/step-N), or --run {name} --last K for the newest K it keeps"
        )
    raise ValueError(f"{name} holds no checkpoint (no state.json): give a checkpoint directory "
                     "(a run's best/, last/ or steps/step-N)")  # fmt: skip


def check_paths(paths: Any, out: str | os.PathLike) -> list[str]:
    """`paths`, a list of checkpoint directories (not runs), each given once; `out` a new path."""
    if isinstance(paths, str | os.PathLike) or not isinstance(paths, Sequence) or not paths:
        raise ValueError(f"average: paths is {paths!r:.60}; give a list of checkpoint directories")
    names = [os.fspath(p) for p in paths]
    if len(names) == 1:
        raise ValueError(f"average: paths holds one checkpoint ({names[0]}); a mean needs two "
                         "or more: give paths two or more checkpoints of one run, or copy the one "
                         f"with shutil.copytree({names[0]!r}, {os.fspath(out)!r})")  # fmt: skip
    seen: dict[str, str] = {}
    for name in names:
        _check_checkpoint(name)
        real = os.path.realpath(name)
        if real in seen:
            raise ValueError(f"{seen[real]} and {name} are one checkpoint: give each once")
        seen[real] = name
    if os.path.realpath(out) in seen:
        raise ValueError(f"--out {out} is one of the checkpoints averaged; choose a new path")
    if os.path.exists(os.path.join(out, "state.json")):
        raise FileExistsError(f"--out {out} holds a checkpoint already; choose a new path")
    if os.path.exists(out) and not (os.path.isdir(out) and not os.listdir(out)):
        raise FileExistsError(f"--out {out} exists; choose a new path for the checkpoint")
    checkpoint.refuse_blocked_above(out, "--out", "the average")
    _check_not_kept(out)
    return names


def _check_not_kept(out: str | os.PathLike) -> None:
    """`out` is not named as a checkpoint that --keep-checkpoints keeps (RUN/steps/step-N): a
    later --last K would average it in as one of the run's, and the run's trim would delete it."""
    folder, name = os.path.split(os.path.abspath(out))
    if os.path.basename(folder) == keep.STEPS and keep.step_of(name) is not None:
        raise ValueError(
            f"--out {out} is named as a checkpoint kept in a run's {keep.STEPS}/, which a later "
            "--last K would average in as one of the run's and its training would delete with "
            "the oldest kept; choose a path outside steps/ (e.g. beside the run)"
        )

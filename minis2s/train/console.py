"""What a training run shows on the terminal: a progress bar for each epoch where one can be seen,
a log line at each scoring point printed above it, figures as the lines write them, and the words
its messages use for why early stopping ends a run. log.jsonl (runlog.py) holds the same lines.
"""

from __future__ import annotations

import sys
from typing import Any

from minis2s.train.config import TrainConfig


def draws_a_bar(stream: Any) -> bool:
    """Whether a progress bar goes to `stream` (stderr): on a terminal, or in a Jupyter kernel,
    whose stderr is no terminal but shows a bar's redraws in place. Not in a file or a pipe
    (nohup, a CI log), where the redraws would be most of the log (tqdm's disable=None would
    hide the bar in a notebook too)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


def print_line(line: str) -> None:
    """Print a log line; a progress bar on the terminal (a mid-epoch line's) is cleared for it
    and drawn again below it."""
    from tqdm import tqdm

    with tqdm.external_write_mode(file=sys.stdout):
        print(line, flush=True)


def fmt(v: Any) -> str:
    """A figure as a log line writes it: a float to 4 significant digits."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def no_better(t: TrainConfig) -> str:
    """Why early stopping ends a run, in the words its messages share."""
    count = f"{t.patience} {'evaluation' if t.eval_every else 'epoch'}{'s' * (t.patience != 1)}"
    if t.metric == "loss":
        return f"no better dev loss in {count}"
    return f"no better dev {t.metric} (nor an equal one at a lower dev loss) in {count}"


def eval_every_note(t: TrainConfig, per_epoch: int) -> str | None:
    """A note when --eval-every N exceeds all the updates the run makes (its epochs of
    `per_epoch` updates, or max_steps if fewer): no multiple of N comes before the run ends, so
    it is scored at its epochs' ends only, as without N (None otherwise)."""
    total = t.epochs * per_epoch
    if t.max_steps and t.max_steps < total:
        total, made = t.max_steps, f"--max-steps {t.max_steps}"
    else:
        made = f"{t.epochs} epoch{'s' * (t.epochs != 1)} of {per_epoch}"
    if not t.eval_every or t.eval_every <= total:
        return None
    updates = f"{total} update{'s' * (total != 1)}"
    return (
        f"--eval-every {t.eval_every} never comes: the run makes {updates} "
        f"({made}), so it is scored at each epoch's end only; a smaller --eval-every scores "
        "within an epoch"
    )

"""What `viz.plot_log` draws from: a run's log.jsonl found (given the run's directory or the
file; a checkpoint, or a run not yet evaluated, is refused with what to plot instead), its
lines read as epoch records (a partial last line skipped, with a warning), and their x axis
(epochs, or updates where an epoch has several lines).

Apart from viz.py so that it holds the pictures alone; this part reads files, and needs no
matplotlib.
"""

from __future__ import annotations

import json
import os
from typing import Any

from minis2s import _warn


def log_file(log_path: str) -> str:
    """The log.jsonl of `log_path`, a run's log or its directory; FileNotFoundError for a
    checkpoint (naming its run's log, where there is one) or a path that holds no log."""
    if os.path.isfile(os.path.join(log_path, "state.json")):  # a checkpoint, not a run
        run = os.path.dirname(os.path.normpath(log_path))  # runs/x of runs/x/best
        run = os.path.dirname(run) if os.path.basename(run) == "steps" else run  # steps/step-N
        run_log = os.path.join(run, "log.jsonl")
        if os.path.isfile(run_log):
            raise FileNotFoundError(f"{log_path} is a checkpoint; its run's log is {run_log}")
        raise FileNotFoundError(f"{log_path} is a checkpoint without a log (an average writes "
                                "none): plot the log of the run it was taken from")  # fmt: skip
    run = None
    if os.path.isdir(log_path):
        run, log_path = log_path, os.path.join(log_path, "log.jsonl")
    elif os.path.basename(os.path.normpath(log_path)) == "log.jsonl":  # RUN/log.jsonl, named
        run = os.path.dirname(os.path.normpath(log_path)) or "."
    if run is not None and not os.path.isfile(log_path):
        from minis2s.train import checkpoint

        if checkpoint.is_run(run):  # stopped before evaluating
            raise FileNotFoundError(
                f"{run} has no dev evaluation yet, so no log line to plot (its log.jsonl gets "
                "one at each epoch's end, and every N updates with --eval-every N); resume it "
                f"(minis2s train --out {run} --resume) to get there"
            )
    if not os.path.isfile(log_path):
        shown = log_path if str(log_path).strip() else repr(log_path)  # "" as '', not as nothing
        raise FileNotFoundError(f"{shown}: no such file (a run writes its log.jsonl)")
    return log_path


def read_epochs(log_path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """(the log's records, each a JSON object with an "epoch" number, and their line numbers),
    blank lines and a partial last line (with a warning) skipped; ValueError naming the first
    line that is not such a record, or a log with none."""
    records, numbers = [], []
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            try:
                record = json.loads(line) if line.strip() else None
            except ValueError:
                if not line.endswith("\n"):  # the last line, cut short: the rest is whole
                    _warn.warn(f"{log_path}:{number}: skipped a partial last line (a run "
                               "stopped mid-write, which its resume mends, or one writing "
                               "it now)")  # fmt: skip
                    break
                raise ValueError(f"{log_path}:{number}: not a JSON line of a run's log") from None
            if record is None:
                continue
            if not isinstance(record, dict) or not isinstance(record.get("epoch"), int):
                raise ValueError(f"{log_path}:{number}: not an epoch of a run's log (a JSON "
                                 "object with an \"epoch\" number)")  # fmt: skip
            records.append(record)
            numbers.append(number)
    if not records:
        raise ValueError(f"{log_path} holds no epochs yet")
    return records, numbers


def x_axis(
    log_path: str, records: list[dict[str, Any]], numbers: list[int]
) -> tuple[list[int], str]:
    """(each line's x, the axis label): its epoch, or its update ("step") where some epoch has
    several lines; ValueError naming a line with no step then (`numbers`: the lines' numbers
    in the file)."""
    epochs = [r["epoch"] for r in records]
    if len(set(epochs)) == len(epochs):
        return epochs, "epoch"
    for r, number in zip(records, numbers, strict=True):
        step = r.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            raise ValueError(f"{log_path}:{number}: no \"step\" number, which a log with several "
                             "lines in an epoch is drawn against")  # fmt: skip
    return [r["step"] for r in records], "update"

"""The trainer's bookkeeping between updates: scoring points, checkpoints, and where the run
stands. Trainer (trainer.py), the loop, inherits it from `Bookkeeping`: its loop calls `_score`
at each scoring point and `save` on a stop; pipeline.py calls `resume` before `fit`.

Scoring: at each epoch's end, and with eval_every N after every N-th update, the dev set is
evaluated and the run logged, saved (best/, last/, and with keep_checkpoints K a copy in steps/
of which the newest K are kept: keep.py) and judged (early stopping, the plateau schedule). A
checkpoint written where a score is due but not yet logged (Ctrl-C during the dev evaluation)
scores that point first when it resumes.

Checkpoints: `save` writes the parameters, the optimizer's state and the trainer's (the counters,
the random generator, the schedules, the last log line); `resume` checks that a checkpoint is this
run's (resume.py) and puts that state back, so the run goes on as if never stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from minis2s.backend import to_numpy
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint, keep, runlog, tally
from minis2s.train.config import TrainConfig
from minis2s.train.console import fmt, no_better, print_line
from minis2s.train.divergence import check_dev, check_params
from minis2s.train.grad_norm import global_norm
from minis2s.train.interrupts import held_interrupts
from minis2s.train.optim import Optimizer
from minis2s.train.resume import check_saved_state, load_last
from minis2s.train.schedule import EarlyStopping, Schedule


class Bookkeeping:
    """Scoring points, checkpoints and where the run stands, for Trainer, whose __init__ sets
    these attributes (the run's state: `state`, `rng`, the optimizer and the schedules)."""

    model: Seq2Seq
    tcfg: TrainConfig
    evaluate: Callable[[Seq2Seq], dict[str, float]]
    out_dir: str
    meta: dict[str, Any]
    vocabs: dict[str, Any] | None
    progress: bool
    optimizer: Optimizer
    lr_schedule: Schedule
    stopper: EarlyStopping
    rng: np.random.Generator
    state: dict[str, Any]  # step, epoch, batch (done in this epoch) and tally's running sums
    record: dict[str, Any] | None  # the last log line
    result: dict[str, Any]  # its dev figures, when this fit wrote it

    def _score(self, end: bool) -> bool:
        """Score the run where it stands, at the epoch's `end` or mid-epoch (--eval-every): dev
        figures, the log line, best/ and last/; True when early stopping ends the run here."""
        dev = self.evaluate(self.model)  # Ctrl-C here: resumed, this point is scored again
        with held_interrupts():  # the point's state, its saves and its log line, all or none
            self.result, stop = self._close_point(dev, end)
        if stop and self.progress:  # with the log lines: why the run ends before --epochs
            t, epoch = self.tcfg, f"epoch {self.result['epoch']} of {self.tcfg.epochs}"
            where = f"after {epoch}"
            if t.eval_every:
                where = f"at update {self.state['step']}, {'the end of' if end else 'in'} {epoch}"
            print(f"early stopping: {no_better(t)}, so training ended {where}; the best model "
                  f"({self._best_figures()}) is in {self.out_dir}/best", flush=True)  # fmt: skip
        return stop

    def _close_point(self, dev: dict[str, float], end: bool) -> tuple[dict[str, Any], bool]:
        """Close the scoring point on its dev figures `dev`: judge them (divergence, early
        stopping, the plateau or per-epoch lr), save best/, last/ and steps/, then log the line
        (after its checkpoints, so a logged point is always saved); (the line, whether to stop)."""
        t, s = self.tcfg, self.state
        where, what = f"epoch {s['epoch'] + 1}", "this epoch"
        if t.eval_every:
            where, what = f"update {s['step']} (epoch {s['epoch'] + 1})", "this update"
        check_dev(dev, t.metric, where, what, self._last_words)
        metric = dev[t.metric]
        # the line's lr is its own (its last update's), before a schedule moves it
        record = {"epoch": s["epoch"] + 1, "step": s["step"], "lr": self.optimizer.lr,
                  **tally.figures(s, t.clip), **dev}  # fmt: skip
        if end:
            s["epoch"], s["batch"] = s["epoch"] + 1, 0
        s |= tally.SUMS
        # between equal metrics (exact match repeats: 0 early on, 1.0 late) the dev loss decides
        tiebreak = dev.get("loss") if t.metric != "loss" else None
        stop = self.stopper.should_stop(metric, tiebreak)
        if t.lr_schedule == "plateau":
            self.optimizer.lr = self.lr_schedule.step(metric, tiebreak)
        elif t.lr_schedule == "exponential":  # of the epochs finished: moves at epoch ends only
            self.optimizer.lr = self.lr_schedule.lr(s["epoch"])
        self.record = record
        if self.stopper.improved:
            self.save("best")
        self.save("last")
        keep.keep(self.out_dir, s["step"], t.keep_checkpoints, self.save)  # into steps/
        runlog.append(self.out_dir, record)  # after its checkpoint (runlog.py)
        if self.progress:
            print_line(" ".join(f"{k}={fmt(v)}" for k, v in record.items()))
        return record, stop

    def save(self, which: str) -> None:
        """Write checkpoint `which` ("last", "best", or a keep.step_name) atomically;
        NonFiniteLoss, and nothing written, when a parameter holds NaN or infinity (an update
        that overflowed), so a checkpoint on disk is always one the run can go on from."""
        norm = global_norm(self.model.params)
        check_params(norm, self.state["step"], which, self._last_words)
        checkpoint.save(
            os.path.join(self.out_dir, which),
            {k: to_numpy(v) for k, v in self.model.params.items()},
            self.meta,
            optimizer_state=self.optimizer.state_dict(),
            trainer_state=self._trainer_state(),
            vocabs=self.vocabs,
        )

    def _trainer_state(self) -> dict[str, Any]:
        """The trainer's part of a checkpoint (JSON-able): the counters and the line's running
        sums, the generator's state, the schedules', the lr and the last log line; `resume` puts
        each back."""
        return {
            **self.state,
            "rng": self.rng.bit_generator.state,
            "lr_schedule": self.lr_schedule.state_dict(),
            "stopper": self.stopper.state_dict(),
            "lr": self.optimizer.lr,
            "record": self.record,
        }

    def resume(self) -> bool:
        """Continue from `out_dir/last` if it exists; False when there is nothing to resume.
        The checkpoint is first checked to be this run's (resume.py), then its state, as
        `save` wrote it, is put back."""
        ckpt = load_last(self.out_dir, self.meta, self.vocabs)
        if ckpt is None:
            return False
        check_saved_state(os.path.join(self.out_dir, "last"), ckpt, self.model.params,
                          self.optimizer.state_dict(), self._trainer_state())  # fmt: skip
        for k, v in ckpt.params.items():
            self.model.params[k][...] = v  # in place: the optimizer holds the same arrays
        # the optimizer's state holds its lr too, so every schedule goes on at the saved rate
        self.optimizer.load_state_dict(ckpt.optimizer_state)
        ts = ckpt.trainer_state
        # (older checkpoints also hold "best", the best metric: the stopper has it)
        self.state = {k: ts[k] for k in ("step", "epoch", "batch")}
        # the line's running sums (a checkpoint from before they were kept: from its resume on)
        self.state |= {k: ts.get(k, zero) for k, zero in tally.SUMS.items()}
        self.rng.bit_generator.state = ts["rng"]
        self.lr_schedule.load_state_dict(ts["lr_schedule"])
        self.stopper.load_state_dict(ts["stopper"])
        self.stopper.patience = patience(self.tcfg)  # its count goes on; patience may change
        self.record = ts.get("record")
        runlog.repair(self.out_dir, self.state["step"], self.record)
        return True

    def _last_words(self) -> str:
        """Where the run's last good checkpoint is, for a message that stops training."""
        last = os.path.join(self.out_dir, "last")
        if checkpoint.exists(last):
            return f"the last good checkpoint is kept in {last}"
        first = "the end of epoch 1"
        if self.tcfg.eval_every:
            first = f"update {self.tcfg.eval_every} or {first}, whichever comes first"
        return f"no checkpoint was written yet (the first is at {first})"

    def _best_figures(self) -> str:
        """The best evaluation's dev figures for the early-stopping line: its metric, and its dev
        loss where the metric is another figure (the loss decides between equal metrics)."""
        figures = f"dev {self.tcfg.metric} {fmt(self.stopper.best)}"
        loss = self.stopper.best_tiebreak
        return figures if loss is None else f"{figures}, dev loss {fmt(loss)}"

    def _capped(self) -> bool:
        """Whether the run has made its max_steps updates."""
        return bool(self.tcfg.max_steps) and self.state["step"] >= self.tcfg.max_steps

    def _scores_here(self) -> bool:
        """Whether --eval-every scores the run after the update just made (a multiple of N)."""
        n = self.tcfg.eval_every
        return n > 0 and self.state["step"] % n == 0

    def _unscored(self, n_batches: int) -> bool:
        """Whether the run stands where it is scored, with that score not yet logged: an epoch
        all of whose `n_batches` are done, or an --eval-every update (Ctrl-C in its evaluation)."""
        s, r = self.state, self.record
        logged = r is not None and r["step"] == s["step"]
        return s["batch"] == n_batches or (s["batch"] > 0 and self._scores_here() and not logged)


def patience(t: TrainConfig) -> int:
    """EarlyStopping's patience: patience 0 is never stop early (the tracker still says when the
    metric is a new best)."""
    return t.patience or 10**9

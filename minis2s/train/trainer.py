"""The training loop: batches -> loss_and_grads -> clip -> optimizer step, with dev evaluation,
a JSONL log, atomic checkpoints (best and last) and exact resume.

Exact resume: every random choice comes from state that the checkpoint stores. The order of the
batches of epoch e is drawn from a generator made afresh as `default_rng([seed, 0, e])`; dropout
and scheduled sampling draw from one generator, `default_rng([seed, 1])`, whose state is saved.
A checkpoint records the epoch and how many of its batches are done, so resuming skips exactly
those (whole updates: with accum_steps K, whole groups of K), and the run continues with the
same parameters, moments and random draws as a run that was never stopped. Which options a
resumed run may change, and the checks that refuse another run's checkpoint: resume.py.

Scoring: at each epoch's end, and with eval_every N after every N-th update, the dev set is
evaluated and the run logged, saved (best/, last/, and with keep_checkpoints K a copy in steps/
of which the newest K are kept: keep.py) and judged (early stopping, the plateau schedule). A
checkpoint written where a score is due but not yet logged (Ctrl-C during the dev evaluation)
scores that point first when it resumes.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minis2s.backend import to_numpy
from minis2s.data.batching import batches
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint, keep, runlog, tally
from minis2s.train.accumulate import group_loss_and_grads, groups
from minis2s.train.config import (
    TrainConfig,
    frozen_params,
    lr_schedule,
    mode_of,
    sampling_eps,
)
from minis2s.train.console import draws_a_bar as draws_a_bar  # importable here, as before
from minis2s.train.console import fmt, no_better, print_line
from minis2s.train.divergence import NonFiniteLoss as NonFiniteLoss  # what fit may raise
from minis2s.train.divergence import check_dev, check_params, check_update
from minis2s.train.grad_norm import clip_grad_norm, global_norm
from minis2s.train.interrupts import StopNow, Terminated, held_interrupts, sigterm_stops
from minis2s.train.optim import make_optimizer
from minis2s.train.resume import DATA_CHECKS as DATA_CHECKS  # importable here, as before
from minis2s.train.resume import RESUMABLE as RESUMABLE
from minis2s.train.resume import load_last
from minis2s.train.schedule import EarlyStopping


class Trainer:
    """Trains `model` on encoded `train` examples, evaluating with `evaluate` at each epoch's end
    and, with `tcfg.eval_every` N, after every N-th update.

    `evaluate(model) -> dict` returns dev figures, including `tcfg.metric` ("loss" is lower is
    better; the others higher). `meta` (config, vocabularies) is stored with every checkpoint.
    """

    def __init__(
        self,
        model: Seq2Seq,
        tcfg: TrainConfig,
        train: list[Any],
        evaluate: Callable[[Seq2Seq], dict[str, float]],
        out_dir: str | os.PathLike,
        *,
        meta: dict[str, Any],
        vocabs: dict[str, Any] | None = None,
        progress: bool = True,
    ) -> None:
        if not train:
            raise ValueError("Trainer: the training set is empty")
        self.model, self.tcfg, self.train, self.evaluate = model, tcfg, train, evaluate
        self.out_dir, self.meta, self.vocabs, self.progress = str(out_dir), meta, vocabs, progress
        opt_kw: dict[str, Any] = {"lr": tcfg.lr, "weight_decay": tcfg.weight_decay}
        if str(tcfg.optimizer).lower() == "sgd":
            opt_kw |= {"momentum": tcfg.momentum, "nesterov": tcfg.nesterov}
        self.frozen = frozen_params(tcfg, model.cfg)
        # the same arrays as model.params: the optimizer updates the model in place
        self.trainable = {k: p for k, p in model.params.items() if k not in self.frozen}
        self.optimizer = make_optimizer(tcfg.optimizer, self.trainable, **opt_kw)
        self.lr_schedule = lr_schedule(tcfg)
        self.stopper = EarlyStopping(_patience(tcfg), mode=mode_of(tcfg.metric))
        self.rng = np.random.default_rng([tcfg.seed, 1])  # dropout, scheduled sampling
        self.state: dict[str, Any] = {"step": 0, "epoch": 0, "batch": 0}
        self.state |= tally.SUMS
        self.record: dict[str, Any] | None = None  # the last log line
        self.result: dict[str, Any] = {}  # its dev figures, when this fit wrote it

    # -- bookkeeping ------------------------------------------------------------------------

    def _trainer_state(self) -> dict[str, Any]:
        return {
            **self.state,
            "rng": self.rng.bit_generator.state,
            "lr_schedule": self.lr_schedule.state_dict(),
            "stopper": self.stopper.state_dict(),
            "lr": self.optimizer.lr,
            "record": self.record,
        }

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

    def resume(self) -> bool:
        """Continue from `out_dir/last` if it exists; False when there is nothing to resume.
        The checkpoint is first checked to be this run's (resume.py), then its state, as
        `save` wrote it, is put back."""
        ckpt = load_last(self.out_dir, self.meta, self.vocabs)
        if ckpt is None:
            return False
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
        self.stopper.patience = _patience(self.tcfg)  # its count goes on; patience may change
        self.record = ts.get("record")
        runlog.repair(self.out_dir, self.state["step"], self.record)
        return True

    # -- the loop ---------------------------------------------------------------------------

    def epoch_batches(self, epoch: int) -> list[Any]:
        t = self.tcfg
        return batches(
            self.train,
            batch_size=t.batch_size or None,
            tokens_per_batch=t.tokens_per_batch or None,
            rng=np.random.default_rng([t.seed, 0, epoch]),
        )

    def step(self, *batches: Any) -> tuple[float, float]:
        """One update from the gradient of `batches` (one, or the --accum-steps group: their
        per-token mean loss, accumulate.py); returns (loss, gradient norm before clipping)."""
        t = self.tcfg
        eps = sampling_eps(t, self.state["step"])
        if t.lr_schedule in ("warmup", "constant"):
            self.optimizer.lr = self.lr_schedule.lr(self.state["step"])
        loss, grads = group_loss_and_grads(
            self.model, batches, rng=self.rng, sampling_eps=eps, label_smoothing=t.label_smoothing
        )
        for name in self.frozen:  # --freeze-embeddings: no update, and not in the norm
            del grads[name]
        norm = clip_grad_norm(grads, t.clip) if t.clip > 0 else global_norm(grads)
        check_update(self.state["step"], loss, norm, t.clip, self.model.dtype, self._last_words)
        self.optimizer.step(self.trainable, grads)
        self.state["step"] += 1
        return loss, norm

    def fit(self) -> dict[str, Any]:
        """Train until epochs, max_steps or early stopping; returns the last dev figures."""
        self.result = {}
        done = self.finished()
        if done:
            warnings.warn(f"nothing to train in {self.out_dir}: {done}", stacklevel=2)
            return self.result
        with sigterm_stops():  # `kill`, a scheduler's stop: as Ctrl-C (interrupts.py)
            try:
                while self.state["epoch"] < self.tcfg.epochs:
                    if self._run_epoch():  # early stopping or max_steps ended the run
                        break
            except StopNow:  # a second Ctrl-C mid-update: what is in memory is half of one
                print(f"\nstopped in the middle of an update, nothing saved; "
                      f"{self._last_words()}", file=sys.stderr)  # fmt: skip
                raise
            except KeyboardInterrupt as e:
                self.save("last")
                how = "stopped by SIGTERM" if isinstance(e, Terminated) else "interrupted"
                print(f"\n{how}: checkpoint saved to {self.out_dir}/last; rerun with --resume")
                raise
        return self.result

    def _best_figures(self) -> str:
        """The best evaluation's dev figures for the early-stopping line: its metric, and its dev
        loss where the metric is another figure (the loss decides between equal metrics)."""
        figures = f"dev {self.tcfg.metric} {fmt(self.stopper.best)}"
        loss = self.stopper.best_tiebreak
        return figures if loss is None else f"{figures}, dev loss {fmt(loss)}"

    def _last_words(self) -> str:
        """Where the run's last good checkpoint is, for a message that stops training."""
        last = os.path.join(self.out_dir, "last")
        if checkpoint.exists(last):
            return f"the last good checkpoint is kept in {last}"
        first = "the end of epoch 1"
        if self.tcfg.eval_every:
            first = f"update {self.tcfg.eval_every} or {first}, whichever comes first"
        return f"no checkpoint was written yet (the first is at {first})"

    def finished(self) -> str | None:
        """Why this run trains no further with its config (a resumed run that had stopped), or
        None. A run interrupted while it scored its last update is not finished: it scores it
        (unless the point lies in an epoch past a lowered --epochs, which fit would not enter)."""
        t, s = self.tcfg, self.state
        if s["epoch"] >= t.epochs:
            return f"it has trained its {t.epochs} epochs; resume with more (--epochs) to go on"
        if s["batch"] > 0 and self._unscored(len(self.epoch_batches(s["epoch"]))):
            return None
        if t.max_steps and s["step"] >= t.max_steps:
            return f"it has made its {t.max_steps} updates; resume with more (--max-steps) to go on"
        if self.stopper.bad_steps >= self.stopper.patience:
            return (
                f"early stopping ended it ({no_better(t)}); "
                "resume with a larger --patience to go on"
            )
        return None

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

    def _run_epoch(self) -> bool:
        """Train the rest of the current epoch, scoring the run at its end and, with eval_every
        N, after every N-th update; True when early stopping or max_steps ends the run."""
        from tqdm import tqdm

        t, s = self.tcfg, self.state
        all_batches = self.epoch_batches(s["epoch"])
        if 0 < s["batch"] < len(all_batches) and self._unscored(len(all_batches)):
            if self._score(end=False) or self._capped():  # resumed after Ctrl-C in this evaluation
                return True
        # state["batch"] is a group boundary (it moves a whole update at a time), so the groups
        # of a resumed epoch are those of the uninterrupted one
        todo = groups(all_batches[s["batch"] :], t.accum_steps)
        bar = tqdm(todo, desc=f"epoch {s['epoch'] + 1}/{t.epochs}",
                   disable=not (self.progress and draws_a_bar(sys.stderr)), leave=False,
                   dynamic_ncols=True)  # fmt: skip
        t0, seconds0 = time.perf_counter(), s["epoch_seconds"]  # the line's time before a stop
        for group in bar:
            with held_interrupts():  # Ctrl-C saves whole updates only (interrupts.py)
                loss, norm = self.step(*group)
                # the batches and the line's sums are counted together, so that a resumed line
                # logs the figures of all its updates, not only of those after the interruption
                s["batch"] += len(group)
                n = sum(batch.n_tokens for batch in group)
                tally.add(s, n, loss, norm, t.clip, seconds0 + time.perf_counter() - t0)
                mid = s["batch"] < len(all_batches)  # at the epoch's end, _score(end=True)
                if mid and self._capped() and not self._scores_here():
                    self.save("last")
                    return True
            bar.set_postfix(tally.progress(s, loss, norm))
            if mid and self._scores_here():
                if self._score(end=False) or self._capped():
                    return True
                t0, seconds0 = time.perf_counter(), 0.0  # the next line's time starts here
        return self._score(end=True) or self._capped()

    def _score(self, end: bool) -> bool:
        """Score the run where it stands, at the epoch's `end` or mid-epoch (--eval-every): dev
        figures, the log line, best/ and last/; True when early stopping ends the run here."""
        dev = self.evaluate(self.model)  # Ctrl-C here: resumed, this point is scored again
        with held_interrupts():  # the point's state, its saves and its log line, all or none
            self.result, stop = self._close(dev, end)
        if stop and self.progress:  # with the log lines: why the run ends before --epochs
            t, epoch = self.tcfg, f"epoch {self.result['epoch']} of {self.tcfg.epochs}"
            where = f"after {epoch}"
            if t.eval_every:
                where = f"at update {self.state['step']}, {'the end of' if end else 'in'} {epoch}"
            print(f"early stopping: {no_better(t)}, so training ended {where}; the best model "
                  f"({self._best_figures()}) is in {self.out_dir}/best", flush=True)  # fmt: skip
        return stop

    def _close(self, dev: dict[str, float], end: bool) -> tuple[dict[str, Any], bool]:
        """Log, save and decide on the dev figures `dev`; (the log line, whether to stop)."""
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


def _patience(t: TrainConfig) -> int:
    """EarlyStopping's patience: patience 0 is never stop early (the tracker still says when the
    metric is a new best)."""
    return t.patience or 10**9

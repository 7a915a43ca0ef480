"""The training loop: batches -> loss_and_grads -> clip -> optimizer step, with dev evaluation,
a JSONL log, atomic checkpoints (best/ and last/; steps/ with keep_checkpoints) and exact
resume.

Exact resume: every random choice comes from state that the checkpoint stores. The order of the
batches of epoch e is drawn from a generator made afresh as `default_rng([seed, 0, e])`; dropout
and scheduled sampling draw from one generator, `default_rng([seed, 1])`, whose state is saved.
A checkpoint records the epoch and how many of its batches are done, so resuming skips exactly
those (whole updates: with accum_steps K, whole groups of K), and the run continues with the
same parameters, moments and random draws as a run that was never stopped. Which options a
resumed run may change, and the checks that refuse another run's checkpoint: resume.py.

Scoring the run (dev figures, log line, best/ and last/, early stopping), saving and resuming
are the trainer's bookkeeping, in bookkeeping.py; this file is the loop. pipeline.py (`train`)
builds the Trainer, resumes it when asked, and calls `fit`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from minis2s import _warn
from minis2s.backend_heap import keep_freed_memory
from minis2s.data.batching import LazyBatches, lazy_batches
from minis2s.models import Seq2Seq
from minis2s.train import tally
from minis2s.train.accumulate import group_loss_and_grads, groups
from minis2s.train.bookkeeping import Bookkeeping, patience
from minis2s.train.config import TrainConfig, lr_schedule, mode_of, sampling_eps
from minis2s.train.console import draws_a_bar as draws_a_bar  # importable here, as before
from minis2s.train.console import no_better
from minis2s.train.divergence import NonFiniteLoss as NonFiniteLoss  # what fit may raise
from minis2s.train.divergence import check_update
from minis2s.train.frozen_embeddings import frozen_params
from minis2s.train.grad_norm import clip_grad_norm, global_norm
from minis2s.train.interrupts import StopNow, Terminated, held_interrupts, sigterm_stops
from minis2s.train.optim import make_optimizer
from minis2s.train.resume import DATA_CHECKS as DATA_CHECKS  # importable here, as before
from minis2s.train.resume import RESUMABLE as RESUMABLE
from minis2s.train.schedule import EarlyStopping


class Trainer(Bookkeeping):
    """Trains `model` on encoded `train` examples, evaluating with `evaluate` at each epoch's end
    and, with `tcfg.eval_every` N, after every N-th update.

    `evaluate(model) -> dict` returns dev figures, including `tcfg.metric` ("loss" is lower is
    better; the others higher). `meta` (config, vocabularies) is stored with every checkpoint.
    `resume_hint` ends the line printed when Ctrl-C or SIGTERM stops the run (pipeline.train
    names the command line's --resume or its own resume=True). `cli`: a resumed run with
    nothing to train names minis2s train's options (--epochs), not TrainConfig's fields.
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
        resume_hint: str = "to go on, build the Trainer again and call its resume() before fit()",
        cli: bool = False,
    ) -> None:
        if not train:
            raise ValueError("Trainer: the training set is empty")
        self.model, self.tcfg, self.train, self.evaluate = model, tcfg, train, evaluate
        self.out_dir, self.meta, self.vocabs, self.progress = str(out_dir), meta, vocabs, progress
        self.resume_hint = resume_hint  # how its caller goes on after Ctrl-C: a flag, a keyword
        self.cli = cli
        opt_kw: dict[str, Any] = {"lr": tcfg.lr, "weight_decay": tcfg.weight_decay}
        if str(tcfg.optimizer).lower() == "sgd":
            opt_kw |= {"momentum": tcfg.momentum, "nesterov": tcfg.nesterov}
        self.frozen = frozen_params(tcfg, model.cfg)
        # the same arrays as model.params: the optimizer updates the model in place
        self.trainable = {k: p for k, p in model.params.items() if k not in self.frozen}
        self.optimizer = make_optimizer(tcfg.optimizer, self.trainable, **opt_kw)
        self.lr_schedule = lr_schedule(tcfg)
        self.stopper = EarlyStopping(patience(tcfg), mode=mode_of(tcfg.metric))
        self.rng = np.random.default_rng([tcfg.seed, 1])  # dropout, scheduled sampling
        keep_freed_memory()  # for Trainers built without backend.use: see backend_heap
        self.state: dict[str, Any] = {"step": 0, "epoch": 0, "batch": 0}
        self.state |= tally.SUMS
        self.record: dict[str, Any] | None = None  # the last log line
        self.result: dict[str, Any] = {}  # its dev figures, when this fit wrote it

    def epoch_batches(self, epoch: int) -> LazyBatches:
        """Epoch `epoch`'s batches, each made when it is read (a large corpus's are gigabytes)."""
        t = self.tcfg
        return lazy_batches(
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
            _warn.warn(f"nothing to train in {self.out_dir}: {done}")
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
                print(f"\n{how}: checkpoint saved to {self.out_dir}/last; {self.resume_hint}")
                raise
        return self.result

    def _named(self, key: str) -> str:
        """TrainConfig's field `key` as a message names it: `TrainConfig epochs`, or with cli
        minis2s train's option (--epochs)."""
        return "--" + key.replace("_", "-") if self.cli else f"TrainConfig {key}"

    def finished(self) -> str | None:
        """Why this run trains no further with its config (a resumed run that had stopped), or
        None. A run interrupted while it scored its last update is not finished: it scores it
        (unless the point lies in an epoch past a lowered --epochs, which fit would not enter)."""
        t, s = self.tcfg, self.state
        if s["epoch"] >= t.epochs:
            return (
                f"it has trained its {t.epochs} epoch{'s' * (t.epochs != 1)}; resume with more "
                f"({self._named('epochs')}) to go on"
            )
        if s["batch"] > 0 and self._unscored(len(self.epoch_batches(s["epoch"]))):
            return None
        if t.max_steps and s["step"] >= t.max_steps:
            return (
                f"it has made its {t.max_steps} update{'s' * (t.max_steps != 1)}; resume with more "
                f"({self._named('max_steps')}) to go on"
            )
        if self.stopper.bad_steps >= self.stopper.patience:
            return (
                f"early stopping ended it ({no_better(t)}); "
                f"resume with a larger {self._named('patience')} to go on"
            )
        return None

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
        todo = groups(range(s["batch"], len(all_batches)), t.accum_steps)  # batch numbers
        bar = tqdm(todo, desc=f"epoch {s['epoch'] + 1}/{t.epochs}",
                   disable=not (self.progress and draws_a_bar(sys.stderr)), leave=False,
                   dynamic_ncols=True)  # fmt: skip
        t0, seconds0 = time.perf_counter(), s["epoch_seconds"]  # the line's time before a stop
        for numbers in bar:
            group = [all_batches[k] for k in numbers]  # made now: one update's batches at a time
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

"""The training loop: batches -> loss_and_grads -> clip -> optimizer step, with dev evaluation,
a JSONL log, atomic checkpoints (best and last) and exact resume.

Exact resume: every random choice comes from state that the checkpoint stores. The order of the
batches of epoch e is drawn from a generator made afresh as `default_rng([seed, 0, e])`; dropout
and scheduled sampling draw from one generator, `default_rng([seed, 1])`, whose state is saved.
A checkpoint records the epoch and how many of its batches are done, so resuming skips exactly
those (whole updates: with accum_steps K, whole groups of K), and the run continues with the
same parameters, moments and random draws as a run that was never stopped.
"""

from __future__ import annotations

import math
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
from minis2s.train import checkpoint, runlog
from minis2s.train.accumulate import group_loss_and_grads, groups
from minis2s.train.config import (
    TrainConfig,
    frozen_params,
    lr_schedule,
    mode_of,
    sampling_eps,
    with_new_fields,
)
from minis2s.train.interrupts import StopNow, held_interrupts
from minis2s.train.optim import clip_grad_norm, global_norm, make_optimizer
from minis2s.train.schedule import EarlyStopping

RESUMABLE = ("epochs", "max_steps", "patience")  # training options a resumed run may change


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss or gradient norm, or a dev loss so large that
    its perplexity overflows float64."""


# log of float64's largest number: a mean loss above it has an infinite perplexity
LOSS_OF_OVERFLOWING_PERPLEXITY = math.log(np.finfo(np.float64).max)


# meta["data"] entries that older runs did not save. "normalization": a task run saved before
# minis2s normalised text goes on normalising (the tasks' text is NFC: the same tokens); a corpus
# run goes on reading text as written (commands.train resumes it with its own tokenizer).
DATA_CHECKS = ("options", "train", "dev", "normalization")

# What the trainer sums over the current epoch's batches for its log line; kept in checkpoints,
# so that an epoch interrupted and resumed logs the figures of all its batches. The gradient
# norms are each update's global norm before clipping: their sum, largest, and how many
# updates --clip scaled down.
EPOCH_SUMS = {"epoch_tokens": 0, "epoch_nll": 0.0, "epoch_seconds": 0.0, "epoch_updates": 0,
              "epoch_grad_norm": 0.0, "epoch_grad_norm_max": 0.0, "epoch_clipped": 0}  # fmt: skip


class Trainer:
    """Trains `model` on encoded `train` examples, evaluating with `evaluate` each epoch.

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
        self.state |= EPOCH_SUMS
        self.record: dict[str, Any] | None = None  # the last finished epoch's log line

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
        """Write checkpoint `which` ("last" or "best") atomically; NonFiniteLoss, and nothing
        written, when a parameter holds NaN or infinity (an update that overflowed), so a
        checkpoint on disk is always one the run can go on from."""
        if not math.isfinite(global_norm(self.model.params)):
            raise NonFiniteLoss(
                f"step {self.state['step']}: the parameters hold NaN or infinity (an update "
                f"overflowed), so they were not saved to {which}/; training stopped; "
                f"{self._last_words()}. Try a lower --lr or --clip"
            )
        checkpoint.save(
            os.path.join(self.out_dir, which),
            {k: to_numpy(v) for k, v in self.model.params.items()},
            self.meta,
            optimizer_state=self.optimizer.state_dict(),
            trainer_state=self._trainer_state(),
            vocabs=self.vocabs,
        )

    def resume(self) -> bool:
        """Continue from `out_dir/last` if it exists; False when there is nothing to resume."""
        path = os.path.join(self.out_dir, "last")
        if not checkpoint.exists(path):  # also the old copy a save cut between renames leaves
            return False
        ckpt = checkpoint.load(path)
        # The model, data and training options must match, so the run continues exactly as it
        # would have; only when to stop may change (and the backend: same math, other kernels).
        ignore = ("backend", *(f"train.{name}" for name in RESUMABLE))
        # BPE: the merges themselves (data.bpe_merges) are compared, not how many were asked
        # for, which a Tokenizer learned before and passed to load_data does not know
        ignore += ("data.options.bpe_merges",)
        saved_data = ckpt.config.get("data", {})  # runs saved before the data's fingerprints:
        ignore += tuple(f"data.{k}" for k in DATA_CHECKS if k not in saved_data)  # no check
        checkpoint.check_compatible(with_new_fields(ckpt.config), self.meta, ignore=ignore)
        was, now = ckpt.config.get("backend"), self.meta.get("backend")
        if was is not None and now is not None and was != now:
            warnings.warn(
                f"resuming a run trained on the {was} backend on the {now} backend: the same "
                "math through other kernels, so it goes on within float rounding of the run "
                f"it continues, not bit for bit (resume with --backend {was} for that)",
                stacklevel=2,
            )
        if ckpt.vocabs is not None and self.vocabs is not None and ckpt.vocabs != self.vocabs:
            raise ValueError(
                f"the vocabularies differ from those of the checkpoint in {path} (same sizes, "
                "other tokens or order): resume with the data the run was built from"
            )
        for k, v in ckpt.params.items():
            self.model.params[k][...] = v  # in place: the optimizer holds the same arrays
        self.optimizer.load_state_dict(ckpt.optimizer_state)
        ts = ckpt.trainer_state
        # (older checkpoints also hold "best", the best metric: the stopper has it)
        self.state = {k: ts[k] for k in ("step", "epoch", "batch")}
        # the epoch's running sums (a checkpoint from before they were kept: from its resume on)
        self.state |= {k: ts.get(k, zero) for k, zero in EPOCH_SUMS.items()}
        self.rng.bit_generator.state = ts["rng"]
        self.lr_schedule.load_state_dict(ts["lr_schedule"])
        self.stopper.load_state_dict(ts["stopper"])
        self.stopper.patience = _patience(self.tcfg)  # its count goes on; patience may change
        self.optimizer.lr = ts["lr"]
        self.record = ts.get("record")
        runlog.repair(self.out_dir, self.state["epoch"], self.record)
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
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise NonFiniteLoss(
                f"step {self.state['step']}: loss {loss}, gradient norm {norm}. Training stopped; "
                f"{self._last_words()}. Try a lower --lr or --clip"
            )
        if t.clip == 0 and norm > math.sqrt(np.finfo(self.model.dtype).max):
            # Adam's g * g would overflow to inf and freeze the weight for good, silently
            raise NonFiniteLoss(
                f"step {self.state['step']}: gradient norm {norm:.3g}, beyond what "
                f"{self.model.dtype.name} can square; training has diverged and stopped; "
                f"{self._last_words()}. Try a lower --lr, or --clip (it is off)"
            )
        self.optimizer.step(self.trainable, grads)
        self.state["step"] += 1
        return loss, norm

    def fit(self) -> dict[str, Any]:
        """Train until epochs, max_steps or early stopping; returns the last dev figures."""
        t, result = self.tcfg, {}
        done = self.finished()
        if done:
            warnings.warn(f"nothing to train in {self.out_dir}: {done}", stacklevel=2)
            return result
        try:
            while self.state["epoch"] < t.epochs:
                if self._run_epoch():
                    break
                result, stop = self._end_epoch()
                if stop:
                    if self.progress:  # with the epoch lines: why the run ends before --epochs
                        print(f"early stopping: {_no_better(t)}, "
                              f"so training ended after epoch {self.state['epoch']} of "
                              f"{t.epochs}; the best model ({self._best_figures()}) is in "
                              f"{self.out_dir}/best", flush=True)  # fmt: skip
                    break
                if t.max_steps and self.state["step"] >= t.max_steps:
                    break  # its last update ended this epoch, which was scored and saved
        except StopNow:  # a second Ctrl-C mid-update: what is in memory is half of one
            print(f"\nstopped in the middle of an update, nothing saved; {self._last_words()}",
                  file=sys.stderr)  # fmt: skip
            raise
        except KeyboardInterrupt:
            self.save("last")
            print(f"\ninterrupted: checkpoint saved to {self.out_dir}/last; rerun with --resume")
            raise
        return result

    def _best_figures(self) -> str:
        """The best epoch's dev figures for the early-stopping line: its metric, and its dev
        loss where the metric is another figure (the loss decides between equal metrics)."""
        figures = f"dev {self.tcfg.metric} {_fmt(self.stopper.best)}"
        loss = self.stopper.best_tiebreak
        return figures if loss is None else f"{figures}, dev loss {_fmt(loss)}"

    def _last_words(self) -> str:
        """Where the run's last good checkpoint is, for a message that stops training."""
        last = os.path.join(self.out_dir, "last")
        if checkpoint.exists(last):
            return f"the last good checkpoint is kept in {last}"
        return "no checkpoint was written yet (the first is at the end of epoch 1)"

    def finished(self) -> str | None:
        """Why this run trains no further with its config (a resumed run that had stopped), or
        None."""
        t, s = self.tcfg, self.state
        if s["epoch"] >= t.epochs:
            return f"it has trained its {t.epochs} epochs; resume with more (--epochs) to go on"
        if t.max_steps and s["step"] >= t.max_steps:
            return f"it has made its {t.max_steps} updates; resume with more (--max-steps) to go on"
        if self.stopper.bad_steps >= self.stopper.patience:
            return (
                f"early stopping ended it ({_no_better(t)}); "
                "resume with a larger --patience to go on"
            )
        return None

    def _run_epoch(self) -> bool:
        """Train the rest of the current epoch; True when max_steps stopped it before its
        last batch."""
        from tqdm import tqdm

        t, epoch = self.tcfg, self.state["epoch"]
        all_batches = self.epoch_batches(epoch)
        # state["batch"] is a group boundary (it moves a whole update at a time), so the groups
        # of a resumed epoch are those of the uninterrupted one
        todo = groups(all_batches[self.state["batch"] :], t.accum_steps)
        bar = tqdm(todo, desc=f"epoch {epoch + 1}/{t.epochs}",
                   disable=not (self.progress and draws_a_bar(sys.stderr)), leave=False,
                   dynamic_ncols=True)  # fmt: skip
        s, t0 = self.state, time.perf_counter()
        seconds0 = s["epoch_seconds"]  # the epoch's time before an interruption, if any
        for group in bar:
            with held_interrupts():  # Ctrl-C saves whole updates only (interrupts.py)
                loss, norm = self.step(*group)
                n = sum(batch.n_tokens for batch in group)
                # the batches and the epoch's sums are counted together, so that a resumed epoch
                # logs the figures of all its batches, not only of those after the interruption
                s["batch"], s["epoch_tokens"], s["epoch_nll"], s["epoch_seconds"] = (
                    s["batch"] + len(group), s["epoch_tokens"] + n, s["epoch_nll"] + loss * n,
                    seconds0 + time.perf_counter() - t0,
                )  # fmt: skip
                s["epoch_updates"] += 1
                s["epoch_grad_norm"] += norm
                s["epoch_grad_norm_max"] = max(s["epoch_grad_norm_max"], norm)
                s["epoch_clipped"] += bool(t.clip > 0 and norm > t.clip)
                if t.max_steps and s["step"] >= t.max_steps and s["batch"] < len(all_batches):
                    self.save("last")  # mid-epoch; at the epoch's end _end_epoch scores it
                    return True
            rate = s["epoch_tokens"] / max(s["epoch_seconds"], 1e-9)
            ppl = math.exp(min(s["epoch_nll"] / s["epoch_tokens"], 50))
            bar.set_postfix(loss=f"{loss:.3f}", ppl=f"{ppl:.2f}", tok_s=f"{rate:.0f}",
                            grad=f"{norm:.3g}")  # fmt: skip
        self.train_figures = {
            "train_loss": s["epoch_nll"] / max(s["epoch_tokens"], 1),
            "tokens_per_s": s["epoch_tokens"] / max(s["epoch_seconds"], 1e-9),
        } | self._grad_figures()
        return False

    def _grad_figures(self) -> dict[str, float]:
        """The epoch's gradient norms for its log line: grad_norm, the mean over its updates of
        the global norm before clipping, grad_norm_max, and with --clip, clipped, the share of
        updates it scaled down (none of them for an epoch resumed from a checkpoint older than
        these sums with no update left to run)."""
        s, updates = self.state, self.state["epoch_updates"]
        if updates == 0:
            return {}
        figures = {"grad_norm": s["epoch_grad_norm"] / updates,
                   "grad_norm_max": s["epoch_grad_norm_max"]}  # fmt: skip
        return figures | ({"clipped": s["epoch_clipped"] / updates} if self.tcfg.clip > 0 else {})

    def _end_epoch(self) -> tuple[dict[str, Any], bool]:
        dev = self.evaluate(self.model)  # Ctrl-C here: resumed, the epoch is scored again
        with held_interrupts():  # the epoch's state, its saves and its log line, all or none
            return self._close_epoch(dev)

    def _close_epoch(self, dev: dict[str, float]) -> tuple[dict[str, Any], bool]:
        t = self.tcfg
        metric = dev[t.metric]
        # parameters that are finite but overflow on use; the loss first, named when both are NaN
        for k in ("loss", t.metric):
            if k in dev and not math.isfinite(dev[k]):
                raise NonFiniteLoss(
                    f"epoch {self.state['epoch'] + 1}: dev {k} {dev[k]}: the model has diverged; "
                    f"training stopped without saving this epoch; {self._last_words()}. Try a "
                    "lower --lr or --clip"
                )
        # finite, but a mean above ~709.78 nats is a perplexity past float64 (uniform is log V):
        # parameters blown up by a huge step score the references at probability ~exp(-1e20)
        if "loss" in dev and dev["loss"] > LOSS_OF_OVERFLOWING_PERPLEXITY:
            raise NonFiniteLoss(
                f"epoch {self.state['epoch'] + 1}: dev loss {dev['loss']:.4g} nats a token, a "
                "perplexity past float64's range: the model has diverged; training stopped "
                f"without saving this epoch; {self._last_words()}. Try a lower --lr or --clip"
            )
        self.state["epoch"] += 1
        self.state["batch"] = 0
        self.state |= EPOCH_SUMS
        # between equal metrics (exact match repeats: 0 early on, 1.0 late) the dev loss decides
        tiebreak = dev.get("loss") if t.metric != "loss" else None
        stop = self.stopper.should_stop(metric, tiebreak)
        improved = self.stopper.improved
        lr = self.optimizer.lr  # the epoch's own (its last update's), before a schedule moves it
        if t.lr_schedule == "plateau":
            self.optimizer.lr = self.lr_schedule.step(metric, tiebreak)
        elif t.lr_schedule == "exponential":
            self.optimizer.lr = self.lr_schedule.lr(self.state["epoch"])
        record = {"epoch": self.state["epoch"], "step": self.state["step"], "lr": lr,
                  **self.train_figures, **dev}  # fmt: skip
        self.record = record
        if improved:
            self.save("best")
        self.save("last")
        runlog.append(self.out_dir, record)  # after its checkpoint (runlog.py)
        if self.progress:
            print(" ".join(f"{k}={_fmt(v)}" for k, v in record.items()), flush=True)
        return record, stop


def draws_a_bar(stream: Any) -> bool:
    """Whether a progress bar goes to `stream` (stderr): on a terminal, or in a Jupyter kernel,
    whose stderr is no terminal but shows a bar's redraws in place. Not in a file or a pipe
    (nohup, a CI log), where the redraws would be most of the log (tqdm's disable=None would
    hide the bar in a notebook too)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


def _no_better(t: TrainConfig) -> str:
    """Why early stopping ends a run, in the words its messages share."""
    if t.metric == "loss":
        return f"no better dev loss in {t.patience} epochs"
    return f"no better dev {t.metric} (nor an equal one at a lower dev loss) in {t.patience} epochs"


def _patience(t: TrainConfig) -> int:
    """EarlyStopping's patience: patience 0 is never stop early (the tracker still says when the
    metric is a new best)."""
    return t.patience or 10**9


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)

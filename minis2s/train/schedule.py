"""Learning-rate schedules: Constant, Exponential, Warmup and the metric-driven ReduceOnPlateau.
Early stopping (stopping.py) and scheduled sampling (scheduled_sampling.py) have files of their
own, and are importable from here as before.

`lr(step)` is a pure function of a counter that starts at 0: the number of updates made so
far for Warmup (the first update is step 0), the number of epochs completed for Exponential.
So a resumed run only needs the trainer's counters; the metric-driven ReduceOnPlateau and
EarlyStopping carry a little state that `state_dict` / `load_state_dict` save and restore as
plain JSON-able numbers.

    sched = make_lr_schedule("warmup", lr=1e-3, warmup_steps=4000)
    opt.lr = sched.lr(step)                          # before each update
    plateau = ReduceOnPlateau(lr=1e-3, factor=0.5, patience=2)
    opt.lr = plateau.step(val_loss)                  # after each evaluation
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

from minis2s.train.scheduled_sampling import SAMPLING as SAMPLING
from minis2s.train.scheduled_sampling import _step
from minis2s.train.scheduled_sampling import sampling_probability as sampling_probability
from minis2s.train.stopping import EarlyStopping as EarlyStopping
from minis2s.train.stopping import _State, _Tracker


class Schedule(_State):
    """A learning-rate schedule: `lr(step)` is the rate for update number `step` (from 0)."""

    def lr(self, step: int) -> float:
        raise NotImplementedError


class Constant(Schedule):
    """lr(step) = lr."""

    def __init__(self, lr: float) -> None:
        self.base_lr = _positive("Constant", "lr", lr)

    def lr(self, step: int) -> float:
        return self.base_lr


class Exponential(Schedule):
    """Decay by `gamma` once per epoch, floored at min_lr.

    lr(i) = max(min_lr, lr * gamma^i), i = the number of epochs completed (call it with the
    epoch count after each epoch). The formula does not care what i counts: pass the update
    count instead for a per-update decay (then gamma = 0.5 ** (1 / n) halves the rate every n
    updates).
    """

    def __init__(self, lr: float, gamma: float, min_lr: float = 0.0) -> None:
        self.base_lr = _positive("Exponential", "lr", lr)
        if not 0 < gamma <= 1:
            raise ValueError(f"Exponential: gamma must be in (0, 1]; got {gamma!r}")
        if not min_lr >= 0:
            raise ValueError(f"Exponential: min_lr must be >= 0; got {min_lr!r}")
        self.gamma, self.min_lr = float(gamma), float(min_lr)

    def lr(self, step: int) -> float:
        return max(self.min_lr, self.base_lr * self.gamma ** _step("Exponential", step))


class Warmup(Schedule):
    """Linear warmup to `lr` over `warmup_steps` updates, then a decay.

    With s = step + 1 (updates counted from 1, so the first one is not wasted at lr 0):
        decay="inverse_sqrt" (Vaswani et al. 2017, rescaled so the peak is `lr`):
            lr(step) = lr * min(s / warmup_steps, sqrt(warmup_steps / s))
        decay="constant":
            lr(step) = lr * min(s / warmup_steps, 1)
    The peak `lr` is reached at s = warmup_steps.
    """

    DECAYS = ("inverse_sqrt", "constant")

    def __init__(self, lr: float, warmup_steps: int, decay: str = "inverse_sqrt") -> None:
        self.base_lr = _positive("Warmup", "lr", lr)
        if not (isinstance(warmup_steps, Integral) and warmup_steps >= 1):
            raise ValueError(f"Warmup: warmup_steps must be an integer >= 1; got {warmup_steps!r}")
        if decay not in self.DECAYS:
            raise ValueError(
                f"Warmup: decay must be one of {', '.join(self.DECAYS)}; got {decay!r}"
            )
        self.warmup_steps, self.decay = int(warmup_steps), decay

    def lr(self, step: int) -> float:
        s = _step("Warmup", step) + 1
        after = math.sqrt(self.warmup_steps / s) if self.decay == "inverse_sqrt" else 1.0
        return self.base_lr * min(s / self.warmup_steps, after)


class ReduceOnPlateau(_Tracker, Schedule):
    """Multiply the lr by `factor` after more than `patience` evaluations without improvement.

    As torch.optim.lr_scheduler.ReduceLROnPlateau (threshold_mode "rel", cooldown 0), except
    that the relative threshold uses |best|, so negative metrics behave too. A metric improves
    when (mode "min") metric < best - threshold * |best|, or (mode "max")
    metric > best + threshold * |best|. NaN never improves. After patience + 1 bad evaluations
    in a row: lr = max(lr * factor, min_lr) and the count restarts. With a `tiebreak` (see
    _Tracker), an equal metric improves when its tiebreak is below the best's by the same
    relative threshold.
    """

    def __init__(
        self,
        lr: float,
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "min",
        threshold: float = 1e-4,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__("ReduceOnPlateau", mode)
        if not 0 < factor < 1:
            raise ValueError(f"ReduceOnPlateau: factor must be in (0, 1); got {factor!r}")
        if not (isinstance(patience, Integral) and patience >= 0):
            raise ValueError(f"ReduceOnPlateau: patience must be an integer >= 0; got {patience!r}")
        if not threshold >= 0 or not min_lr >= 0:
            raise ValueError(
                f"ReduceOnPlateau: threshold and min_lr must be >= 0; got {threshold!r}, {min_lr!r}"
            )
        self.current_lr = _positive("ReduceOnPlateau", "lr", lr)
        self.factor, self.patience = float(factor), int(patience)
        self.threshold, self.min_lr = float(threshold), float(min_lr)

    def _margin(self, best: float) -> float:
        """How far past `best` a figure must go to improve on it: threshold * |best|. An
        infinite best (a first epoch that overflowed) has none: inf - inf is NaN, and nothing
        would ever improve on it."""
        return self.threshold * abs(best) if math.isfinite(best) else 0.0

    def _better(self, metric: float) -> bool:
        margin = self._margin(self.best)
        return metric < self.best - margin if self.mode == "min" else metric > self.best + margin

    def _lower_tiebreak(self, tiebreak: float) -> bool:
        return tiebreak < self.best_tiebreak - self._margin(self.best_tiebreak)

    def step(self, metric: float, tiebreak: float | None = None) -> float:
        """Record one evaluation's metric (and tiebreak, lower is better, for equal metrics);
        return the (possibly reduced) learning rate."""
        self._observe(metric, tiebreak)
        if self.bad_steps > self.patience:
            self.current_lr = max(self.current_lr * self.factor, self.min_lr)
            self.bad_steps = 0
        return self.current_lr

    def lr(self, step: int) -> float:
        """The current rate, whatever the step (it changes only through `step(metric)`)."""
        return self.current_lr


SCHEDULES = {
    "constant": Constant,
    "exponential": Exponential,
    "warmup": Warmup,
    "plateau": ReduceOnPlateau,
}


def make_lr_schedule(name: str, **kw: Any) -> Schedule:
    """The schedule called `name` ("constant", "exponential", "warmup", "plateau")."""
    if name not in SCHEDULES:
        raise ValueError(
            f"make_lr_schedule: unknown lr schedule {name!r}; choose one of {', '.join(SCHEDULES)}"
        )
    return SCHEDULES[name](**kw)


def _positive(where: str, name: str, v: float) -> float:
    if isinstance(v, bool) or not (isinstance(v, Real) and math.isfinite(v) and v > 0):
        raise ValueError(f"{where}: {name} must be a finite number > 0; got {v!r}")
    return float(v)

"""Learning-rate schedules, early stopping and scheduled sampling (teacher-forcing decay).

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


class _State:
    """Every attribute is a JSON-able number, string or None, and together they are the state."""

    def state_dict(self) -> dict[str, Any]:
        """A copy of every attribute: hyper-parameters and running state, all JSON-able."""
        return dict(vars(self))

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (the keys must match exactly)."""
        if set(d) != set(vars(self)):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected keys {sorted(vars(self))}, "
                f"got {sorted(d)}"
            )
        vars(self).update(d)


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


class _Tracker(_State):
    """Best-so-far bookkeeping shared by ReduceOnPlateau and EarlyStopping.

    An evaluation may come with a `tiebreak`, a second figure where lower is better (the
    trainer passes the dev loss beside exact match or BLEU). It decides between equal metrics
    only: a metric equal to the best improves on it when its tiebreak is lower than the best's.
    Exact match over a dev set moves in steps and often repeats (0 while a model learns its
    first whole sentences, 1.0 once it has them), and the loss still says which epoch is better.
    """

    def __init__(self, where: str, mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"{where}: mode must be 'min' or 'max'; got {mode!r}")
        self.mode = mode
        self.best: float | None = None  # None until the first metric
        self.best_tiebreak: float | None = None  # the best evaluation's tiebreak, if it had one
        self.bad_steps = 0  # consecutive metrics without improvement

    def _better(self, metric: float) -> bool:
        raise NotImplementedError

    def _lower_tiebreak(self, tiebreak: float) -> bool:
        """Whether `tiebreak` improves on the best's (both known): strictly lower."""
        return tiebreak < self.best_tiebreak

    def _observe(self, metric: float, tiebreak: float | None = None) -> bool:
        """Update best / bad_steps with `metric` (and `tiebreak`); True if it improved on the
        best. NaN never improves; a NaN tiebreak is no tiebreak."""
        metric = float(metric)
        tiebreak = None if tiebreak is None or math.isnan(tiebreak) else float(tiebreak)
        tie = (
            metric == self.best
            and tiebreak is not None
            and self.best_tiebreak is not None
            and self._lower_tiebreak(tiebreak)
        )
        if not math.isnan(metric) and (self.best is None or self._better(metric) or tie):
            self.best, self.best_tiebreak, self.bad_steps = metric, tiebreak, 0
            return True
        self.bad_steps += 1
        return False

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """As _State's; a state saved before tie-breaks (no best_tiebreak) loads with none."""
        super().load_state_dict({"best_tiebreak": None, **d})


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


class EarlyStopping(_Tracker):
    """Stop after `patience` evaluations in a row without improving on the best metric.

    A metric improves when (mode "min") metric < best - min_delta, or (mode "max")
    metric > best + min_delta, or, with a `tiebreak` (see _Tracker), when it equals the best
    and its tiebreak is lower; NaN never improves. `improved` tells whether the last metric
    was a new best (the moment to save the best checkpoint).
    """

    def __init__(self, patience: int, mode: str = "min", min_delta: float = 0.0) -> None:
        super().__init__("EarlyStopping", mode)
        if not (isinstance(patience, Integral) and patience >= 1):
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1; got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0; got {min_delta!r}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.improved = False

    def _better(self, metric: float) -> bool:
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta

    def should_stop(self, metric: float, tiebreak: float | None = None) -> bool:
        """Record one evaluation's metric (and tiebreak, lower is better, for equal metrics);
        True once `patience` of them in a row did not improve."""
        self.improved = self._observe(metric, tiebreak)
        return self.bad_steps >= self.patience


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


def sampling_probability(kind: str, step: int, **params: float) -> float:
    """Scheduled sampling (Bengio et al. 2015): probability of feeding the model its own token.

    The paper decays the teacher-forcing probability e_i over training steps i; this returns
    eps = 1 - e_i, the chance of feeding the model's previous prediction instead of the truth.

        "constant"        (eps)                     eps
        "linear"          (eps_start, eps_end, n)   eps_start + (eps_end - eps_start) * min(i, n)/n
        "exponential"     (k, 0 < k <= 1)           1 - k^i              (e_i = k^i)
        "inverse_sigmoid" (k >= 1)                  1 / (1 + k exp(-i/k)) (e_i = k / (k + exp(i/k)))

    The inverse sigmoid is computed as 1 / (1 + k exp(-i/k)): exp of a non-positive number,
    which underflows to 0 (eps -> 1) instead of overflowing for large i.
    """
    if kind not in SAMPLING:
        raise ValueError(
            f"sampling_probability: unknown sampling kind {kind!r}; "
            f"choose one of {', '.join(SAMPLING)}"
        )
    fn, names = SAMPLING[kind]
    if set(params) != set(names):
        raise ValueError(
            f"sampling_probability({kind!r}): expects parameters {', '.join(names)}; "
            f"got {', '.join(sorted(params)) or 'none'}"
        )
    return fn(_step("sampling_probability", step), **params)


def _constant(i: int, eps: float) -> float:
    return _probability("eps", eps)


def _linear(i: int, eps_start: float, eps_end: float, n: int) -> float:
    eps_start, eps_end = _probability("eps_start", eps_start), _probability("eps_end", eps_end)
    if not (isinstance(n, Integral) and n >= 1):
        raise ValueError(f"sampling_probability('linear'): n must be an integer >= 1; got {n!r}")
    return eps_start + (eps_end - eps_start) * min(i, n) / n


def _exponential(i: int, k: float) -> float:
    if not 0 < k <= 1:
        raise ValueError(f"sampling_probability('exponential'): k must be in (0, 1]; got {k!r}")
    return 1.0 - k**i


def _inverse_sigmoid(i: int, k: float) -> float:
    if not k >= 1:
        raise ValueError(f"sampling_probability('inverse_sigmoid'): k must be >= 1; got {k!r}")
    return 1.0 / (1.0 + k * math.exp(-i / k))


SAMPLING = {
    "constant": (_constant, ("eps",)),
    "linear": (_linear, ("eps_start", "eps_end", "n")),
    "exponential": (_exponential, ("k",)),
    "inverse_sigmoid": (_inverse_sigmoid, ("k",)),
}


def _probability(name: str, p: float) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"sampling_probability: {name} must be in [0, 1]; got {p!r}")
    return float(p)


def _positive(where: str, name: str, v: float) -> float:
    if isinstance(v, bool) or not (isinstance(v, Real) and math.isfinite(v) and v > 0):
        raise ValueError(f"{where}: {name} must be a finite number > 0; got {v!r}")
    return float(v)


def _step(where: str, step: int) -> int:
    if isinstance(step, bool) or not (isinstance(step, Integral) and step >= 0):
        raise ValueError(f"{where}: step must be an integer >= 0; got {step!r}")
    return int(step)

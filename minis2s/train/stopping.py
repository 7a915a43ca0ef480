"""Early stopping, and the best-so-far bookkeeping (with its tie-break) that it shares with the
plateau lr schedule (ReduceOnPlateau, schedule.py); `_State`, the JSON-able state_dict of both and
of every lr schedule, that a checkpoint saves and a resumed run restores.

    stop = EarlyStopping(patience=3, mode="max")
    done = stop.should_stop(dev_exact_match, tiebreak=dev_loss)   # after each evaluation
"""

from __future__ import annotations

import math
from numbers import Integral
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

"""The Optimizer base class: what SGD, Adam, AdamW and Adagrad (optim.py) share.

An optimizer subclass names its per-parameter state arrays in SLOTS and writes one `_update`,
the equation of its step on one parameter; this class does the rest: checks the parameters and
hyper-parameters once, makes the state arrays (zeros, unless `_init_slot` says otherwise) in the
parameters' own array module and dtype, checks the keys and shapes of each step's `params` and
`grads`, and round-trips the state through `state_dict` / `load_state_dict` for an exact resume.
Apart from optim.py so that file reads as the update rules and their equations alone.
"""

from __future__ import annotations

from typing import Any

from minis2s.backend import get_array_module, to_numpy
from minis2s.train._optim_checks import check_decay, check_hyper
from minis2s.train.grad_norm import check_arrays

Params = dict[str, Any]


class Optimizer:
    """Shared machinery: per-parameter state slots, input checks, state_dict round trip."""

    SLOTS: tuple[str, ...] = ()  # names of the per-parameter state arrays

    def __init__(self, params: Params, lr: float, weight_decay: float) -> None:
        check_hyper(type(self).__name__, lr=lr, weight_decay=weight_decay)
        check_arrays(type(self).__name__, "params", params)
        self.lr = lr
        self.weight_decay = weight_decay
        self._check_dtype_range(params)  # before any state array is made of those values
        self.t = 0  # number of steps taken
        self.shapes = {k: tuple(p.shape) for k, p in params.items()}
        self.state = {s: {k: self._init_slot(s, p) for k, p in params.items()} for s in self.SLOTS}

    def _check_dtype_range(self, params: Params) -> None:
        """The hyper-parameters that the update uses as scalars of the parameters' dtype fit
        it (`check_range`, `check_decay_range`); `params` are checked arrays. SGD has none."""

    def _init_slot(self, slot: str, p: Any) -> Any:
        return get_array_module(p).zeros_like(p)

    def step(self, params: Params, grads: Params) -> None:
        """One update of every parameter in place, using `grads` (same keys and shapes)."""
        self._check(params, grads)
        check_decay(self.lr, self.weight_decay, type(self).__name__)  # a schedule sets lr
        self.t += 1
        for k, p in params.items():
            self._update(p, grads[k], {s: self.state[s][k] for s in self.SLOTS})

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _check(self, params: Params, grads: Params) -> None:
        where = f"{type(self).__name__}.step"
        for name, d in (("params", params), ("grads", grads)):
            missing = [k for k in self.shapes if k not in d]
            extra = [k for k in d if k not in self.shapes]
            if missing:
                raise ValueError(f"{where}: {name} has no entry for {missing[0]!r}")
            if extra:
                raise ValueError(
                    f"{where}: {name} has key {extra[0]!r}, which is not among the "
                    f"{len(self.shapes)} parameters this optimizer was built with"
                )
            for k, want in self.shapes.items():
                if tuple(d[k].shape) != want:
                    raise ValueError(
                        f"{where}: {name}[{k!r}] has shape {tuple(d[k].shape)}, expected {want}"
                    )

    def state_dict(self) -> dict[str, Any]:
        """{"step": int, "lr": float, "<slot>/<param name>": host NumPy copy, ...}."""
        d: dict[str, Any] = {"step": self.t, "lr": float(self.lr)}
        for s in self.SLOTS:
            for k, a in self.state[s].items():
                d[f"{s}/{k}"] = to_numpy(a).copy()
        return d

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (keys and shapes must match exactly)."""
        where = f"{type(self).__name__}.load_state_dict"
        want = {"step", "lr"} | {f"{s}/{k}" for s in self.SLOTS for k in self.shapes}
        missing, extra = sorted(want - set(d)), sorted(set(d) - want)
        if missing or extra:
            raise ValueError(
                f"{where}: state does not match this optimizer's parameters; "
                f"missing keys {missing[:5]}, unexpected keys {extra[:5]}"
            )
        for s in self.SLOTS:
            for k, a in self.state[s].items():
                xp = get_array_module(a)
                v = xp.asarray(d[f"{s}/{k}"], dtype=a.dtype)
                if tuple(v.shape) != tuple(a.shape):
                    raise ValueError(
                        f"{where}: {s}/{k} has shape {tuple(v.shape)}, expected {tuple(a.shape)}"
                    )
                a[...] = v
        self.t, self.lr = int(d["step"]), float(d["lr"])

    def _decayed(self, p: Any, g: Any) -> Any:
        """L2 regularisation folded into the gradient: g + weight_decay * p."""
        return g + self.weight_decay * p if self.weight_decay != 0 else g

"""Optimizers over `dict[str, array]` parameters, following torch.optim's update equations.

    opt = Adam(model.params, lr=1e-3)
    loss, grads = model.loss_and_grads(batch)
    clip_grad_norm(grads, 1.0)               # grad_norm.py
    opt.step(model.params, grads)            # updates the arrays in place
    opt.lr = schedule.lr(step)               # a schedule sets the learning rate between steps

Every update works in place on the parameter arrays (the model holds the same arrays) and on
state arrays of the parameters' own array module and dtype, so nothing moves to the host
during training. Optimizer state is one array per (slot, parameter), e.g. "exp_avg/enc.emb.W";
`state_dict()` returns those as host NumPy copies together with the step count and current lr,
and `load_state_dict` puts them back for an exact resume.

The checks of the hyper-parameters live in `_optim_checks.py`, and the gradient norm and its
clipping in `grad_norm.py` (importable from here as before).
"""

from __future__ import annotations

import math
from typing import Any

from minis2s import backend, validate
from minis2s.backend import get_array_module, to_numpy
from minis2s.train._optim_checks import (
    check_betas,
    check_decay,
    check_eps,
    check_hyper,
    check_momentum,
    check_range,
)
from minis2s.train.grad_norm import check_arrays
from minis2s.train.grad_norm import clip_grad_norm as clip_grad_norm
from minis2s.train.grad_norm import global_norm as global_norm

Params = dict[str, Any]


class Optimizer:
    """Shared machinery: per-parameter state slots, input checks, state_dict round trip."""

    SLOTS: tuple[str, ...] = ()  # names of the per-parameter state arrays

    def __init__(self, params: Params, lr: float, weight_decay: float) -> None:
        check_hyper(type(self).__name__, lr=lr, weight_decay=weight_decay)
        check_arrays(type(self).__name__, "params", params)
        self._check_dtype_range(params)  # before any state array is made of those values
        self.lr = lr
        self.weight_decay = weight_decay
        self.t = 0  # number of steps taken
        self.shapes = {k: tuple(p.shape) for k, p in params.items()}
        self.state = {s: {k: self._init_slot(s, p) for k, p in params.items()} for s in self.SLOTS}

    def _check_dtype_range(self, params: Params) -> None:
        """The hyper-parameters that the update uses as scalars of the parameters' dtype fit
        it (`check_range`); `params` are checked arrays. SGD has none."""

    def _init_slot(self, slot: str, p: Any) -> Any:
        return get_array_module(p).zeros_like(p)

    def step(self, params: Params, grads: Params) -> None:
        """One update of every parameter in place, using `grads` (same keys and shapes)."""
        self._check(params, grads)
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


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD.

    Equations (dampening 0; b starts at 0, so b_1 = g_1 as in torch):
        g_t = grad + weight_decay * p_{t-1}
        b_t = momentum * b_{t-1} + g_t
        d_t = g_t + momentum * b_t  if nesterov  else  b_t      (d_t = g_t when momentum = 0)
        p_t = p_{t-1} - lr * d_t
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        check_momentum("SGD", momentum)
        validate.boolean("SGD", "nesterov", nesterov)
        if nesterov and momentum <= 0:
            raise ValueError(f"SGD: nesterov=True needs momentum > 0; got momentum={momentum}")
        self.momentum, self.nesterov = momentum, nesterov
        self.SLOTS = ("momentum_buffer",) if momentum != 0 else ()
        super().__init__(params, lr, weight_decay)

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        g = self._decayed(p, g)
        if self.momentum != 0:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g


def adam_update(
    p: Any,
    g: Any,
    m: Any,
    v: Any,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    t: int,
) -> None:
    """Step t of Adam on one parameter array, in place on p, m and v; g is not modified.

    Equations (t counts steps from 1; m and v start at 0):
        g_t = grad + weight_decay * p_{t-1}                  (L2 decay, skipped when 0)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        p_t = p_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    Shapes: p, g, m, v all of one shape (any), one dtype. The hyper-parameters are Python
    floats, so float32 arrays are updated in float32 (torch.optim.Adam's arithmetic, term by
    term). The "numba" backend replaces this with a one-pass twin (`kernels/numba_optim.py`).
    """
    xp = get_array_module(p)
    if weight_decay != 0:
        g = g + weight_decay * p
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    bias1, bias2 = 1 - beta1**t, 1 - beta2**t
    denom = xp.sqrt(v) / math.sqrt(bias2) + eps
    p -= (lr / bias1) * (m / denom)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with L2 weight decay added to the gradient, as torch.optim.Adam.

    Equations (t counts steps from 1; m and v start at 0):
        g_t = grad + weight_decay * p_{t-1}
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        p_t = p_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)
    """

    SLOTS = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        check_betas(type(self).__name__, betas)
        check_eps(type(self).__name__, eps)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), eps
        super().__init__(params, lr, weight_decay)

    def _check_dtype_range(self, params: Params) -> None:
        check_range(type(self).__name__, params, self.eps)

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        self._adam(p, g, state, self.weight_decay)

    def _adam(self, p: Any, g: Any, state: dict[str, Any], weight_decay: float) -> None:
        m, v = state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = self.betas
        update = backend.current().kernel("optim.adam_update", adam_update)  # numba: one pass
        update(p, g, m, v, self.lr, beta1, beta2, self.eps, weight_decay, self.t)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW.

    Equations (t counts steps from 1; m and v start at 0):
        p'  = p_{t-1} * (1 - lr * weight_decay)          decay applied to the weights, not to g
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        p_t = p' - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def step(self, params: Params, grads: Params) -> None:
        """One update of every parameter in place, using `grads` (same keys and shapes)."""
        check_decay(self.lr, self.weight_decay)  # each step: a schedule sets lr between them
        super().step(params, grads)

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        if self.weight_decay != 0:
            p *= 1 - self.lr * self.weight_decay
        self._adam(p, g, state, 0.0)  # the decay is done: none folded into g


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as torch.optim.Adagrad with lr_decay 0.

    Equations (s starts at initial_accumulator_value):
        g_t = grad + weight_decay * p_{t-1}
        s_t = s_{t-1} + g_t^2
        p_t = p_{t-1} - lr * g_t / (sqrt(s_t) + eps)
    """

    SLOTS = ("sum",)

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        eps: float = 1e-10,
        initial_accumulator_value: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        check_eps("Adagrad", eps)
        check_hyper("Adagrad", initial_accumulator_value=initial_accumulator_value)
        self.eps, self.initial_accumulator_value = eps, initial_accumulator_value
        super().__init__(params, lr, weight_decay)

    def _check_dtype_range(self, params: Params) -> None:
        check_range("Adagrad", params, self.eps, self.initial_accumulator_value)

    def _init_slot(self, slot: str, p: Any) -> Any:
        return get_array_module(p).full_like(p, self.initial_accumulator_value)

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        xp = get_array_module(p)
        g = self._decayed(p, g)
        s = state["sum"]
        s += g * g
        p -= self.lr * (g / (xp.sqrt(s) + self.eps))


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad}


def make_optimizer(name: str, params: Params, **kw: Any) -> Optimizer:
    """The optimizer called `name` ("sgd", "adam", "adamw", "adagrad") over `params`."""
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(
            f"make_optimizer: unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    return OPTIMIZERS[key](params, **kw)

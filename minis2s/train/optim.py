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

Here are the update rules, each with its equations; what every optimizer shares (the state
slots, the checks of `step`'s arguments, the state_dict round trip) is the `Optimizer` base in
`optim_base.py`. The checks of the hyper-parameters live in `_optim_checks.py`, and the gradient
norm and its clipping in `grad_norm.py` (importable from here as before).
"""

from __future__ import annotations

import math
from typing import Any

from minis2s import backend, validate
from minis2s.backend import get_array_module
from minis2s.train._optim_checks import (
    check_betas,
    check_decay_range,
    check_eps,
    check_hyper,
    check_momentum,
    check_range,
)
from minis2s.train.grad_norm import clip_grad_norm as clip_grad_norm
from minis2s.train.grad_norm import global_norm as global_norm
from minis2s.train.optim_base import Optimizer, Params


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
    term). The "numba" backend replaces this with a one-pass twin (`kernels/numba_optim.py`),
    the "cupy" backend with one fused kernel (`kernels/cupy_optim.py`).
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
        check_decay_range(type(self).__name__, params, self.weight_decay)  # L2 decay is in g

    def _update(self, p: Any, g: Any, state: dict[str, Any]) -> None:
        self._adam(p, g, state, self.weight_decay)

    def _adam(self, p: Any, g: Any, state: dict[str, Any], weight_decay: float) -> None:
        m, v = state["exp_avg"], state["exp_avg_sq"]
        beta1, beta2 = self.betas
        # numba and cupy: one pass over the arrays
        update = backend.current().kernel("optim.adam_update", adam_update)
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

    def _check_dtype_range(self, params: Params) -> None:
        check_range(type(self).__name__, params, self.eps)  # decay scales p, never enters g * g

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
        check_range(type(self).__name__, params, self.eps, self.initial_accumulator_value)
        check_decay_range(type(self).__name__, params, self.weight_decay)

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

"""The checks of the optimizers' hyper-parameters, apart from their update equations: each value
refused with a message that names the optimizer, the argument and the range it must lie in."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from minis2s.config_error import ConfigError


def check_hyper(where: str, **values: float) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not (isinstance(v, Real) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{where}: {name} must be a finite number >= 0; got {v!r}")


def check_momentum(where: str, momentum: float) -> None:
    """SGD's momentum in [0, 1): b_t = momentum * b_{t-1} + g_t weighs the gradient of k steps
    ago by momentum^k, which at 1 or above never fades, so the weights never settle and the steps
    grow without bound where a gradient keeps its sign (torch.optim.SGD takes it; Adam's betas
    and label smoothing stop below 1 here too)."""
    check_hyper(where, momentum=momentum)
    if momentum >= 1:
        raise ConfigError(where, "momentum", momentum, "must be in [0, 1) (0.9 is usual): at 1 "
                          "or above the gradients of past steps never fade and the updates grow "
                          "without bound", layout="{field} {body}; got {value_r}")  # fmt: skip


def check_eps(where: str, eps: float) -> None:
    """eps > 0: an entry whose gradient has always been 0 (the embedding's pad row, a token not
    seen yet) has sqrt(v) = 0, and its step 0 / (0 + eps) is 0 only if eps is not 0."""
    if isinstance(eps, bool) or not (isinstance(eps, Real) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"{where}: eps must be a finite number > 0; got {eps!r}")
    if eps == 0:
        raise ValueError(
            f"{where}: eps must be > 0; got 0, which makes the step of a parameter whose "
            "gradient has been 0 so far (the embedding's pad row) 0 / 0 = NaN"
        )


def check_betas(where: str, betas: tuple[float, float]) -> None:
    ok = (
        isinstance(betas, tuple | list)
        and len(betas) == 2
        and all(isinstance(b, Real) and 0 <= b < 1 for b in betas)
    )
    if not ok:
        raise ValueError(f"{where}: betas must be two numbers in [0, 1); got {betas!r}")


def check_range(where: str, params: dict[str, Any], eps: float, accumulator: float = 0.0) -> None:
    """eps, and Adagrad's initial accumulator value, within the range of the parameters' dtype,
    where the update uses them as scalars of that dtype: float32 rounds eps = 1e-46 to 0, so a
    parameter whose gradient has been 0 (the embedding's pad row) would step 0 / (0 + 0) = NaN;
    and makes an accumulator of 1e39 inf, so every step would be g / (inf + eps) = 0. `params`
    passed check_arrays (Optimizer.__init__ calls this after it)."""
    for dtype in sorted({np.dtype(p.dtype) for p in params.values()}, key=str):
        tiny, largest = float(np.finfo(dtype).tiny), float(np.finfo(dtype).max)
        if eps < tiny:
            raise ValueError(
                f"{where}: eps={eps:g} is below {dtype.name}'s smallest normal number "
                f"{tiny:.3g}, the parameters' dtype, where it rounds to 0 or loses its digits; "
                f"give eps >= {tiny:.3g} (the default is 1e-8 for Adam, 1e-10 for Adagrad)"
            )
        if accumulator > largest:
            raise ValueError(
                f"{where}: initial_accumulator_value={accumulator:g} is beyond {dtype.name}'s "
                f"largest number {largest:.3g}, the parameters' dtype, where it is inf and every "
                "step g / (inf + eps) is 0; give a smaller one"
            )


ADAPTIVE = ("adam", "adagrad")  # the optimizers that divide each step by the gradient's size


def check_decay(
    lr: float, weight_decay: float, where: str = "AdamW", peak: bool = False, optimizer: str = ""
) -> None:
    """ValueError (with `peak`, a ConfigError of weight_decay) when lr * weight_decay >= 1, the
    decay too strong to train with, for each way `optimizer` (a name of OPTIMIZERS; "" for
    `where`'s, lowercased) decays:

    - AdamW and SGD multiply every weight by 1 - lr * weight_decay at each step
      (SGD's p - lr * (grad + weight_decay * p) is p * (1 - lr * weight_decay) - lr * grad): at
      a product >= 1 that zeroes the weights or flips their sign at every update.
    - Adam and Adagrad (ADAPTIVE) add weight_decay * p to the gradient and divide the step by
      the gradient's own size, so their step is about lr whatever the decay; the decay holds
      each weight where grad + weight_decay * p averages 0, within |grad| / weight_decay of 0.
      At lr * weight_decay >= 1 that is less than one step, lr * |grad|, for every gradient
      entry below 1 (cross-entropy's, a mean over tokens, are): the weights stay at 0 and the
      model cannot learn. (torch.optim.Adam takes any weight_decay >= 0; 1e-5 to 1e-2 is usual.)

    `where` names the caller: the optimizers check each step's rate; TrainConfig, with `peak`,
    the schedule's peak (its lr) before training, as a ConfigError of weight_decay that
    `minis2s train` words in its options (--lr x --weight-decay)."""
    if lr * weight_decay < 1:
        return
    at = " (at the schedule's peak)" if peak else ""

    def body(product: str, decay: str, rate: str, lower: str) -> str:  # settings named as given
        said = f"{product} = {lr:g} * {weight_decay:g} = {lr * weight_decay:g} >= 1{at}"
        if (optimizer or where).lower() in ADAPTIVE:
            return (f"{said} holds the weights at 0, so the model cannot learn (L2 decay keeps "
                    f"each weight within |grad| / {decay} of 0, less than one step of {rate} x "
                    f"|grad|); lower {decay} below 1 / {rate} = {1 / lr:g} (1e-5 to 1e-2 is "
                    "usual)")  # fmt: skip
        return (f"{said} would zero the weights or flip their sign at every update (they are "
                f"multiplied by 1 - {product}); lower {lower}")  # fmt: skip

    python = body(
        "lr * weight_decay", "weight_decay", "lr", "the weight decay or the learning rate"
    )
    if not peak:
        raise ValueError(f"{where}: {python}")
    cli = body("--lr x --weight-decay", "--weight-decay", "--lr", "--weight-decay or --lr")
    raise ConfigError(where, "weight_decay", weight_decay, python, "{body}",
                      f"with --optimizer {optimizer or 'adamw'}, {cli}")  # fmt: skip


def check_decay_range(where: str, params: dict[str, Any], weight_decay: float) -> None:
    """Adam's and Adagrad's L2 decay term, weight_decay * |p|, squarable in the parameters'
    dtype: past sqrt(max) (1.8e19 in float32) g * g is inf, the second moment (the sum) is inf
    for good and every step g / inf is 0, silently. lr * weight_decay < 1 (check_decay) leaves
    this only to an lr below ~1e-19; `params` passed check_arrays. One host reduction a
    parameter, once, when the optimizer is built."""
    if weight_decay == 0:
        return
    for k, p in params.items():
        if p.size == 0:
            continue
        root = math.sqrt(float(np.finfo(p.dtype).max))
        largest = float(abs(p).max())
        if weight_decay * largest > root:
            raise ValueError(
                f"{where}: weight_decay={weight_decay:g} times |{k}| up to {largest:.3g} is "
                f"beyond {root:.3g}, the largest number {np.dtype(p.dtype).name} can square: "
                "the second moment of g = grad + weight_decay * p would be inf and every step 0; "
                f"give a weight_decay below {root / largest:.3g}"
            )

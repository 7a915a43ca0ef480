"""When training has diverged: the checks that stop a run, each raising NonFiniteLoss with what
went wrong, where the last good checkpoint is (`last_words`, the trainer's) and what to try.

An update is refused when its loss or gradient norm is NaN or infinite, when its loss is so large
that its perplexity overflows float64, or when the norm it is made with (after any clipping) is
too large for the dtype to square; a save, when an update left NaN or infinity in the
parameters; a dev evaluation, when its figures are NaN or infinite, or its loss so large that its
perplexity overflows float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss or gradient norm, or a dev loss so large that
    its perplexity overflows float64."""


# log of float64's largest number: a mean loss above it has an infinite perplexity
LOSS_OF_OVERFLOWING_PERPLEXITY = math.log(np.finfo(np.float64).max)


def check_update(
    step: int, loss: float, norm: float, clip: float, dtype: Any, last_words: Callable[[], str]
) -> None:
    """NonFiniteLoss unless update `step` (its loss, its gradient norm before clipping) may be
    made in `dtype` with `clip` (0: off)."""
    if not (math.isfinite(loss) and math.isfinite(norm)):
        raise NonFiniteLoss(
            f"step {step}: loss {loss}, gradient norm {norm}. Training stopped; "
            f"{last_words()}. Try a lower --lr or --clip"
        )
    if loss > LOSS_OF_OVERFLOWING_PERPLEXITY:
        # finite, but parameters blown up by a huge step: every unit saturated, the gradient
        # small, and the updates would go on and a mid-epoch save (max_steps) would keep them
        raise NonFiniteLoss(
            f"step {step}: loss {loss:.3g} nats a token, a perplexity past float64's range: "
            f"training has diverged and stopped; {last_words()}. Try a lower --lr or --clip"
        )
    limit = math.sqrt(np.finfo(dtype).max)
    if (norm if clip == 0 else min(norm, clip)) > limit:  # the norm of the update's gradient
        # Adam's g * g would overflow to inf and freeze the weight for good, silently
        fix = "--clip (it is off)" if clip == 0 else f"a --clip below {limit:.3g} (it is {clip:g})"
        raise NonFiniteLoss(
            f"step {step}: gradient norm {norm:.3g}, beyond what {np.dtype(dtype).name} can "
            f"square; training has diverged and stopped; {last_words()}. Try a lower --lr, or "
            f"{fix}"
        )


def check_params(norm: float, step: int, which: str, last_words: Callable[[], str]) -> None:
    """NonFiniteLoss, before checkpoint `which` is saved at `step`, when the global norm `norm`
    of the parameters is not finite (an update overflowed): a checkpoint on disk is always one
    the run can go on from."""
    if not math.isfinite(norm):
        raise NonFiniteLoss(
            f"step {step}: the parameters hold NaN or infinity (an update overflowed), so they "
            f"were not saved to {which}/; training stopped; {last_words()}. Try a lower --lr or "
            "--clip"
        )


def check_dev(
    dev: dict[str, float], metric: str, where: str, what: str, last_words: Callable[[], str]
) -> None:
    """NonFiniteLoss when the dev figures `dev` (at `where`: "epoch 3") are those of a model
    that has diverged, so that `what` ("this epoch") is not saved."""
    # parameters that are finite but overflow on use; the loss first, named when both are NaN
    for k in ("loss", metric):
        if k in dev and not math.isfinite(dev[k]):
            raise NonFiniteLoss(
                f"{where}: dev {k} {dev[k]}: the model has diverged; training stopped without "
                f"saving {what}; {last_words()}. Try a lower --lr or --clip"
            )
    # finite, but a mean above ~709.78 nats is a perplexity past float64 (uniform is log V):
    # parameters blown up by a huge step score the references at probability ~exp(-1e20)
    if "loss" in dev and dev["loss"] > LOSS_OF_OVERFLOWING_PERPLEXITY:
        raise NonFiniteLoss(
            f"{where}: dev loss {dev['loss']:.4g} nats a token, a perplexity past float64's "
            f"range: the model has diverged; training stopped without saving {what}; "
            f"{last_words()}. Try a lower --lr or --clip"
        )

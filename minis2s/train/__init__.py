"""Training: optimizers, gradient clipping, lr and teacher-forcing schedules, checkpoints.

The trainer loop lives in `minis2s.train.trainer` and is imported from there, so that this
package stays importable without the model code.
"""

from minis2s.train import checkpoint
from minis2s.train.grad_norm import clip_grad_norm
from minis2s.train.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    make_optimizer,
)
from minis2s.train.schedule import (
    Constant,
    EarlyStopping,
    Exponential,
    ReduceOnPlateau,
    Warmup,
    make_lr_schedule,
    sampling_probability,
)

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Constant",
    "EarlyStopping",
    "Exponential",
    "Optimizer",
    "ReduceOnPlateau",
    "Warmup",
    "checkpoint",
    "clip_grad_norm",
    "make_lr_schedule",
    "make_optimizer",
    "sampling_probability",
]

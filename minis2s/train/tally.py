"""The train figures of a log line (train_loss, tokens_per_s and the gradient norms), from running
sums over the updates since the run's previous line: an epoch's updates, or with --eval-every N
those since the previous evaluation.

The sums live in the trainer's state, so a checkpoint keeps them, and a line interrupted and
resumed logs the figures of all its updates, not only of those after the interruption. Their
keys say "epoch" because a line covered an epoch before --eval-every; checkpoints keep the names.
"""

from __future__ import annotations

import math
from typing import Any

# The gradient norms are each update's global norm before clipping: their sum, largest, and how
# many updates --clip scaled down.
SUMS = {"epoch_tokens": 0, "epoch_nll": 0.0, "epoch_seconds": 0.0, "epoch_updates": 0,
        "epoch_grad_norm": 0.0, "epoch_grad_norm_max": 0.0, "epoch_clipped": 0}  # fmt: skip


def add(s: dict[str, Any], n: int, loss: float, norm: float, clip: float, seconds: float) -> None:
    """Count one update into the sums of state `s`: its `n` target tokens, their mean loss, its
    gradient norm before clipping (`clip` 0: off), and `seconds`, the line's time so far."""
    s["epoch_tokens"], s["epoch_nll"], s["epoch_seconds"] = (
        s["epoch_tokens"] + n, s["epoch_nll"] + loss * n, seconds
    )  # fmt: skip
    s["epoch_updates"] += 1
    s["epoch_grad_norm"] += norm
    s["epoch_grad_norm_max"] = max(s["epoch_grad_norm_max"], norm)
    s["epoch_clipped"] += bool(clip > 0 and norm > clip)


def figures(s: dict[str, Any], clip: float) -> dict[str, float]:
    """The line's train figures: train_loss, the token-weighted mean of its updates' losses, and
    tokens_per_s, then the gradient norms (`grad_figures`)."""
    return {
        "train_loss": s["epoch_nll"] / max(s["epoch_tokens"], 1),
        "tokens_per_s": s["epoch_tokens"] / max(s["epoch_seconds"], 1e-9),
    } | grad_figures(s, clip)


def grad_figures(s: dict[str, Any], clip: float) -> dict[str, float]:
    """grad_norm, the mean over the line's updates of the global norm before clipping,
    grad_norm_max, and with --clip, clipped, the share of updates it scaled down (none of them
    for an epoch resumed from a checkpoint older than these sums with no update left to run)."""
    updates = s["epoch_updates"]
    if updates == 0:
        return {}
    grads = {"grad_norm": s["epoch_grad_norm"] / updates, "grad_norm_max": s["epoch_grad_norm_max"]}
    return grads | ({"clipped": s["epoch_clipped"] / updates} if clip > 0 else {})


def progress(s: dict[str, Any], loss: float, norm: float) -> dict[str, str]:
    """The progress bar's figures after an update: its loss and gradient norm, and the line's
    perplexity and tokens/s so far."""
    rate = s["epoch_tokens"] / max(s["epoch_seconds"], 1e-9)
    ppl = math.exp(min(s["epoch_nll"] / s["epoch_tokens"], 50))
    return {
        "loss": f"{loss:.3f}",
        "ppl": f"{ppl:.2f}",
        "tok_s": f"{rate:.0f}",
        "grad": f"{norm:.3g}",
    }

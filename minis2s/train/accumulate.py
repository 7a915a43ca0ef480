"""Gradient accumulation: one update from the gradients of K batches (TrainConfig.accum_steps).

A model's `loss_and_grads(batch)` is the mean cross-entropy per target token of the batch, and
its gradient. The per-token mean over a group of batches, with n_i target tokens in batch i and
N = sum_i n_i, is

    L = sum_i (n_i / N) L_i        dL/dθ = sum_i (n_i / N) dL_i/dθ

so the group's gradient is exactly that of one batch holding all their sentences (masked padding
adds nothing to a loss or a gradient), up to float rounding. Weighting each batch by 1/K instead
would overweight the tokens of short batches. The sum goes into one dict as each batch is done,
scaled and added one array at a time: memory holds one set of gradients besides the batch's own
(and one array being added), whatever K.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def groups(batches: Sequence[Any], k: int) -> list[list[Any]]:
    """`batches` cut into runs of `k` consecutive batches, one per update; the last run holds
    what is left (1 to k batches)."""
    return [list(batches[i : i + k]) for i in range(0, len(batches), k)]


def group_loss_and_grads(model: Any, group: Sequence[Any], **kw: Any) -> tuple[float, dict]:
    """The per-token mean loss over all target tokens of `group` (a non-empty sequence of
    batches) and its gradient for every parameter, from `model.loss_and_grads(batch, **kw)` run
    on each batch in turn (its random draws in that order).

    A group of one batch returns that batch's loss and gradients as they are, bit for bit.
    """
    if len(group) == 1:
        return model.loss_and_grads(group[0], **kw)
    n_total = sum(b.n_tokens for b in group)
    nll, total = 0.0, {}
    for batch in group:
        loss, grads = model.loss_and_grads(batch, **kw)
        w = batch.n_tokens / n_total  # this batch's share of the group's tokens
        # one array at a time, each let go once added (pop), so no set of scaled copies is made
        # and none is held through the next batch's backward pass
        for k in list(grads):
            if k in total:
                total[k] += w * grads.pop(k)  # in place: total's arrays are its own (made below)
            else:
                total[k] = w * grads.pop(k)
        nll += loss * batch.n_tokens
    return nll / n_total, total

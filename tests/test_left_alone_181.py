"""Items left alone by earlier passes (helper-181): the Adam subclass that is not AdamW keeps
Adam's L2 decay-term check, and a source row of all padding is refused by the model's batch
checks as decoding refuses it. Each test fails on the code before its change."""

import numpy as np
import pytest

from minis2s.train.optim import Adam, AdamW


class _AdamWithLogging(Adam):
    """A user's Adam: same L2 decay (folded into g), so the same bound on its decay term."""


def test_a_subclass_of_adam_keeps_adams_decay_term_check():
    """weight_decay * |p| = 4e19 * 0.5 = 2e19 is past sqrt(float32 max) ~ 1.8e19, so g * g of
    g = grad + weight_decay * p is inf; `type(self) is Adam` spared every subclass, not AdamW
    alone. The message names the class the user built."""
    p = {"W": np.full(3, 0.5, np.float32)}
    assert 4e19 * 0.5 > float(np.sqrt(np.finfo(np.float32).max))
    with pytest.raises(ValueError, match=r"_AdamWithLogging: weight_decay=4e\+19 .* float32"):
        _AdamWithLogging(p, lr=1e-30, weight_decay=4e19)


def test_adamw_decay_does_not_enter_g_so_it_has_no_decay_term_bound():
    """AdamW multiplies the weights by 1 - lr * weight_decay; g * g never sees the decay."""
    p = {"W": np.full(3, 0.5, np.float32)}
    AdamW(p, lr=1e-30, weight_decay=4e19)

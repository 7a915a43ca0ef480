"""A cell's step backward passes (`step_backward`, `step_backward_data`, and the numba twin of
the latter) refuse a step of N = 0 rows with the words step_forward uses: a cache of no rows can
only be built by hand (step_forward refuses x (0, D)), and was taken before, giving back empty
gradients. Built here from a real one-row step by slicing each per-row field to no rows."""

import numpy as np
import pytest

from minis2s.kernels import numba_gru, numba_lstm, numba_rnn
from minis2s.layers import gru, lstm, rnn

D, H = 3, 2
TWINS = {rnn: numba_rnn, lstm: numba_lstm, gru: numba_gru}


def empty_step(mod, dtype):
    """(dstate of no rows, a step cache of no rows) for the cell `mod`, in `dtype`."""
    r = np.random.default_rng(0)
    p = mod.init(D, H, r, dtype)
    x, h = r.standard_normal((1, D)).astype(dtype), r.standard_normal((1, H)).astype(dtype)
    _, cache = mod.step_forward(x, (h, h.copy()) if mod is lstm else h, p)
    cache = cache._replace(**{f: a[:0] for f, a in cache._asdict().items() if f != "p"})
    dh = np.zeros((0, H), dtype)
    return ((dh, dh.copy()) if mod is lstm else dh), cache


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mod", [rnn, lstm, gru], ids=lambda m: m.__name__.split(".")[-1])
def test_a_step_backward_of_no_rows_is_refused_as_step_forward_refuses_it(mod, dtype):
    dstate, cache = empty_step(mod, dtype)
    name = mod.__name__.split(".")[-1]
    for where, backward in (
        ("step_backward", mod.step_backward),
        ("step_backward_data", mod.step_backward_data),
        ("step_backward_data", TWINS[mod].step_backward_data),
    ):
        message = rf"^{name}\.{where}: dh has N = 0 sequences; pass a batch of at least one$"
        with pytest.raises(ValueError, match=message):
            backward(dstate, cache)

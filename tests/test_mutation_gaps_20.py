"""Mutation pass 20 over modules no earlier pass named: train/_optim_checks.py (Adam's and
Adagrad's decay term squared in the parameters' dtype). Each test kills a hand-made mutant that
the suite let live, named in its docstring; every expected value is worked out by hand or by an
independent computation, never by the code under test."""

import re

import numpy as np
import pytest

from minis2s.train.optim import Adagrad, Adam

# --- train/_optim_checks.py -----------------------------------------------------------------------

SQRT_F32_MAX = 1.8446743e19  # sqrt(3.4028235e38), the largest float32 whose square is finite


@pytest.mark.parametrize("cls", [Adam, Adagrad])
def test_the_decay_term_bound_reads_a_parameter_of_one_entry(cls):
    """Kills `p.size <= 1` for `p.size == 0` in check_decay_range (a one-entry parameter, a
    bias of one unit, skipped): weight_decay * |p| = 1e-3 * 1e30 = 1e27 > 1.8e19, so g * g of
    g = grad + weight_decay * p is inf in float32."""
    assert 1e-3 * 1e30 > SQRT_F32_MAX
    with pytest.raises(ValueError, match=re.escape("weight_decay=0.001 times |b| up to 1e+30")):
        cls({"b": np.array([1e30], np.float32)}, lr=1e-3, weight_decay=1e-3)


@pytest.mark.parametrize("cls", [Adam, Adagrad])
def test_the_decay_term_bound_reads_a_negative_parameter_by_its_size(cls):
    """Kills `p.max()` for `abs(p).max()` in check_decay_range: the entry -1e30 squares as 1e30
    does (1e-3 * 1e30 = 1e27 > 1.8e19), though the largest entry, 0, is harmless."""
    with pytest.raises(ValueError, match=r"up to 1e\+30"):
        cls({"W": np.array([-1e30, 0.0], np.float32)}, lr=1e-3, weight_decay=1e-3)

"""Tests that kill the mutants of the last session's code (0d4b87a..a8b3c80) which the suite let
through: check_model's sampled mode, the memory refusals of validate.py, the optimizer's
argument checks, the decoding options' checks, and the moved provenance and wordpunct code.
Each test names the mutant behaviour it rules out."""

from __future__ import annotations

import pytest

from minis2s.gradcheck import check_model
from minis2s.train import optim
from minis2s.train.grad_norm import global_norm
from tests.test_gradcheck_sampled import BATCH, SineModel

# --- gradcheck.py: check_model(entries=, directions=)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(entries=0, directions=0), "entries"),
        (dict(entries=0), "entries"),
        (dict(entries=-1), "entries"),
        (dict(entries=2.5), "entries"),
        (dict(entries=True), "entries"),
        (dict(entries="3"), "entries"),
        (dict(entries=3, directions=-1), "directions"),
        (dict(entries=3, directions=1.5), "directions"),
        (dict(entries=3, directions=None), "directions"),
    ],
)
def test_check_model_refuses_a_sample_that_checks_nothing_or_is_no_count(kw, name):
    """entries=0 with directions=0 (or directions=-1) compared empty vectors and passed a wrong
    gradient; entries=-1 or 2.5 was NumPy's error naming neither argument."""
    with pytest.raises(ValueError, match=f"check_model: {name}"):
        check_model(SineModel(wrong_at=17), BATCH, **kw)


# --- train/grad_norm.py: check_arrays


class TorchLike:
    """An array whose dtype is no NumPy dtype (torch.Tensor's has no `.kind`)."""

    dtype = type("dtype", (), {"__str__": lambda self: "torch.float32"})()
    shape = (2,)


@pytest.mark.parametrize(
    "call",
    [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1), global_norm],
    ids=["SGD", "Adam", "global_norm"],
)
def test_arrays_whose_dtype_is_not_numpys_are_refused_naming_them(call):
    """A torch tensor given as a parameter was an AttributeError ('torch.dtype' object has no
    attribute 'kind') from inside check_arrays."""
    with pytest.raises(ValueError, match=r"\['w'\] is a torch.float32 array"):
        call({"w": TorchLike()})

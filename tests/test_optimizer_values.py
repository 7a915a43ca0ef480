"""Values of the training and decoding options that look like nonsense, each refused, or taken
and documented, as tests/test_cli_bad_values.py's convention has it (a one-line error naming the
option and its range; a value that means something is taken, and the README says what).

--momentum >= 1 (TrainConfig, optim.SGD): refused, as Adam's betas >= 1 and label_smoothing 1
are. b_t = momentum * b_{t-1} + g_t weighs the gradient of k steps ago by momentum^k, which at 1
or above never fades: every step moves by all the past gradients (or more), so the weights never
settle, and the updates grow without bound where a gradient keeps its sign. PyTorch's SGD takes
any momentum >= 0; this library refuses what cannot train, as it refuses a negative coverage
penalty.

A negative --alpha (the exponent of --length-penalty gnmt, log p / ((5 + |y|) / 6)^alpha) is
taken: it ranks longer outputs down by more than no penalty does (Hugging Face's
length_penalty < 0 does the same), a setting with a use, so the README and --help say so.
"""

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.cli_parser import build_parser
from minis2s.decode.beam import penalised
from minis2s.train import optim
from minis2s.train.config import TrainConfig
from tests.tiny_run import TINY

README = " ".join((Path(__file__).parent.parent / "README.md").read_text("utf-8").split())


def params() -> dict:
    return {"W": np.ones((2, 3)), "b": np.zeros(3, np.float32)}


@pytest.mark.parametrize("momentum", [1, 1.0, 1.5, 2.5, 1e300])
def test_sgd_refuses_a_momentum_of_1_or_more(momentum):
    with pytest.raises(ValueError, match=r"^SGD: momentum must be in \[0, 1\)"):
        optim.SGD(params(), lr=0.1, momentum=momentum)
    with pytest.raises(ValueError, match=r"^TrainConfig: momentum must be in \[0, 1\)"):
        TrainConfig(optimizer="sgd", lr=0.1, momentum=momentum)


@pytest.mark.parametrize("momentum", [0, 0.0, 0.5, 0.9, 0.999, np.float32(0.9)])
def test_sgd_takes_a_momentum_below_1(momentum):
    assert optim.SGD(params(), lr=0.1, momentum=momentum).momentum == momentum
    assert TrainConfig(optimizer="sgd", lr=0.1, momentum=momentum).momentum == momentum


@pytest.mark.parametrize("momentum", [-1.0, math.nan, math.inf, "0.9", True])
def test_the_other_bad_momenta_are_refused_as_before(momentum):
    with pytest.raises(ValueError, match=r"^SGD: momentum must be"):
        optim.SGD(params(), lr=0.1, momentum=momentum)


def test_the_command_line_refuses_momentum_1_in_one_line(tmp_path, capsys):
    argv = ["train", *TINY, "--optimizer", "sgd", "--momentum", "1", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("minis2s train: error: "), err
    assert err.startswith("minis2s train: error: --momentum 1: must be in [0, 1)"), err
    assert not (tmp_path / "r").exists()


def test_the_readme_gives_momentums_range():
    assert "`--momentum` must be in [0, 1)" in README


@pytest.mark.parametrize("alpha", [-0.5, -2.0])
def test_a_negative_alpha_ranks_longer_outputs_down_more_than_no_penalty(alpha):
    """What the README says of it: below log p itself, and lower the longer the output, for the
    same log p."""
    lengths = range(1, 30)
    scores = [penalised(-3.0, n, "gnmt", alpha) for n in lengths]
    assert all(s < -3.0 for s in scores[1:]) and scores == sorted(scores, reverse=True)
    no_penalty = [penalised(-3.0, n, "gnmt", 0.0) for n in lengths]
    assert no_penalty == [-3.0] * len(no_penalty)


def test_help_and_readme_say_what_a_negative_alpha_does():
    translate = build_parser().commands["translate"]
    [action] = [a for a in translate._actions if "--alpha" in a.option_strings]
    assert "negative" in action.help and "shorter" in action.help
    assert "a negative `--alpha` ranks longer outputs down" in README


# --- the params dict is checked once at construction, and nothing is refused the later for it -


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad])
def test_an_optimizer_checks_its_params_once(cls, monkeypatch):
    from minis2s.train import _optim_checks, optim_base

    calls = []
    real = optim_base.check_arrays

    def counted(where, name, arrays):
        calls.append((where, name))
        return real(where, name, arrays)

    for module in (optim_base, _optim_checks):  # wherever the name is imported (the old code: both)
        if hasattr(module, "check_arrays"):
            monkeypatch.setattr(module, "check_arrays", counted)
    cls(params(), lr=0.1)
    assert calls == [(cls.__name__, "params")]


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad])
@pytest.mark.parametrize("bad", [{}, None, {"W": [1.0]}, {"W": np.ones(2, np.int64)}])
def test_bad_params_are_refused_by_name(cls, bad):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: params"):
        cls(bad, lr=0.1)


@pytest.mark.parametrize(
    "cls, kw, words",
    [
        (optim.Adam, {"eps": 1e-46}, "eps=1e-46 is below float32's smallest normal"),
        (optim.AdamW, {"eps": 1e-46}, "eps=1e-46 is below float32's smallest normal"),
        (optim.Adagrad, {"eps": 1e-46}, "eps=1e-46 is below float32's smallest normal"),
        (
            optim.Adagrad,
            {"initial_accumulator_value": 1e39},
            "initial_accumulator_value=1e+39 is beyond",
        ),
    ],
)
def test_values_beyond_the_params_dtype_are_refused_before_any_state_is_made(cls, kw, words):
    """float32 params (b): eps would round to 0 there, an accumulator of 1e39 to inf; refused
    before the state arrays are filled with them (which would warn of an overflow first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"^{cls.__name__}: {re.escape(words)}"):
            cls(params(), lr=0.1, **kw)

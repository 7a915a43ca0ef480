"""Two items the last stop's note left alone: train's refusal of momentum without SGD names
the options typed, and translate's length note names a default as the default."""

from __future__ import annotations

import pytest

from minis2s.cli import main
from minis2s.train.config import TrainConfig
from tests.tiny_run import TINY, never_ending, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("left_alone") / "run")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--momentum", "0.9"], "--momentum 0.9: is for --optimizer sgd; the default --optimizer "
         "adam has no momentum: add --optimizer sgd, or drop --momentum"),
        (["--nesterov"], "--nesterov: is for --optimizer sgd; the default --optimizer adam has no "
         "momentum: add --optimizer sgd --momentum M, or drop --nesterov"),
        (["--momentum", "0.9", "--nesterov"], "--momentum 0.9: is for --optimizer sgd, as is "
         "--nesterov; the default --optimizer adam has no momentum: add --optimizer sgd, or drop "
         "--momentum and --nesterov"),
        (["--optimizer", "adamw", "--momentum=.5"], "--momentum .5: is for --optimizer sgd; "
         "--optimizer adamw has no momentum: add --optimizer sgd, or drop --momentum"),
    ],
)  # fmt: skip
def test_momentum_without_sgd_names_the_options_typed(options, message, tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path / "r"), *options]) == 2
    assert capsys.readouterr().err == f"minis2s train: error: {message}\n"
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(momentum=0.9), "optimizer='adam' with momentum=0.9, nesterov=False"),
        (dict(optimizer="AdamW", nesterov=True), "optimizer='adamw' with momentum=0.0, "
         "nesterov=True"),
    ],
)  # fmt: skip
def test_momentum_without_sgd_keeps_pythons_words_in_python(fields, message):
    with pytest.raises(ValueError) as e:
        TrainConfig(**fields)
    assert (
        str(e.value) == f"TrainConfig: momentum and nesterov are for optimizer='sgd'; got {message}"
    )


@pytest.fixture(scope="module")
def no_eos(run, tmp_path_factory):
    """The run made never to choose </s>, so that every output is cut at the maximum length."""
    return never_ending(run, tmp_path_factory.mktemp("left_alone") / "no-eos")


@pytest.mark.parametrize(
    "options, limit",
    [
        ([], "the default --max-len-a 2 x source length + the default --max-len-b 10"),
        (["--max-len-a", "1.5"], "--max-len-a 1.5 x source length + the default --max-len-b 10"),
        (["--max-len-b", "3"], "the default --max-len-a 2 x source length + --max-len-b 3"),
        (["--max-len-a", "0", "--max-len-b", "1"], "--max-len-a 0 x source length + --max-len-b 1"),
    ],
)
def test_the_length_note_names_a_default_as_the_default(no_eos, options, limit, capsys):
    assert main(["translate", "--checkpoint", str(no_eos), *options, "123456"]) == 0
    err = capsys.readouterr().err
    assert f"note: the output reached the maximum length ({limit}) without </s>: cut there\n" in err

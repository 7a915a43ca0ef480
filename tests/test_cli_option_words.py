"""A bad value that the command line passes on to TrainConfig or ModelConfig is refused in the
command line's words, naming the option as typed (`--lr -1: must be ...`), not the config's
field (`TrainConfig: lr must be ...`); the Python API keeps the config's words."""

import re

import pytest

from minis2s.cli import build_parser
from minis2s.models.config import ModelConfig
from minis2s.train.config import TrainConfig
from tests.refusals import refusal

TINY = ["--task", "reverse-digits", "--train-size", "20", "--dev-size", "5", "--epochs", "1",
        "--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]  # fmt: skip

# option -> a bad value that the parser lets through and a config refuses, with the options it
# needs beside it to reach that check; the message's own explanation it must keep
CASES = {
    "--epochs": (["0"], "must be >= 1"),
    "--momentum": (["1", "--optimizer", "sgd"], "must be in [0, 1)"),
    "--batch-size": (["0"], "--tokens-per-batch"),
    "--accum-steps": (["0"], "must be >= 1"),
    "--patience": (["-1"], "must be >= 0"),
    "--max-steps": (["-1"], "must be >= 0"),
    "--keep-checkpoints": (["-1"], "must be >= 0"),
    "--dev-size": (["0"], "must be >= 1"),
    "--tokens-per-batch": (["-1"], "must be >= 0"),
    "--metric": (["nonesuch"], "choose one of"),
    "--optimizer": (["nonesuch"], "choose one of"),
    "--lr-schedule": (["nonesuch"], "choose one of"),
    "--sampling-schedule": (["nonesuch", "--teacher-forcing", "0.5"], "choose one of"),
    "--freeze-embeddings": (["nonesuch"], "choose one of"),
    "--lr": (["-1"], "must be a finite number > 0"),
    "--weight-decay": (["-1"], "must be a finite number >= 0"),
    "--clip": (["nan"], "must be a finite number >= 0"),
    "--teacher-forcing": (["2"], "must be in [0, 1]"),
    "--label-smoothing": (["1"], "must be in [0, 1)"),
    "--lr-decay": (["2", "--lr-schedule", "exponential"], "must be in (0, 1]"),
    "--min-lr": (["1", "--lr-schedule", "exponential"], "must be in [0,"),
    "--lr-patience": (["-1"], "must be >= 0"),
    "--warmup-steps": (["0", "--lr-schedule", "warmup"], "must be >= 1"),
    "--sampling-steps": (["0", "--teacher-forcing", "0.5", "--sampling-schedule", "linear"],
                         "must be >= 1"),
    "--sampling-k": (["2", "--teacher-forcing", "0.5", "--sampling-schedule", "exponential"],
                     "must be in (0, 1]"),
    "--cell": (["nonesuch"], "choose one of"),
    "--attention": (["nonesuch"], "choose one of"),
    "--bridge": (["nonesuch"], "choose one of"),
    "--init": (["nonesuch"], "choose one of"),
    "--output-bias": (["nonesuch"], "choose one of"),
    "--emb": (["0"], "must be >= 1"),
    "--hidden": (["0"], "must be >= 1"),
    "--enc-layers": (["0"], "must be >= 1"),
    "--dec-layers": (["0"], "must be >= 1"),
    "--dropout": (["1.5"], "must be in [0, 1)"),
    "--init-scale": (["-1"], "must be > 0"),
    "--forget-bias": (["inf"], "must be a finite number within float32"),
}  # fmt: skip

# refusals of a setting (a flag, or a value that needs others) and the option each names
SETTINGS = [
    (["--optimizer", "sgd", "--nesterov"], "--nesterov: needs --momentum > 0"),
    (["--cell", "gru", "--bridge", "learned_h"], "--bridge learned_h: "),
    (["--bridge", "last", "--enc-layers", "2"], "--bridge last: needs --enc-layers =="),
    (["--attention", "dot"], "--attention dot: "),
    (["--tie-embeddings", "--emb", "4"], "--tie-embeddings: needs --emb == --hidden"),
]


def python_spelling(line: str) -> bool:
    """Whether `line` says TrainConfig or ModelConfig, or sets a keyword (`lr=`,
    `input_feed=False`) or a field (`lr_schedule='exponential'`)."""
    return "Config" in line or re.search(r"\w=", line) is not None


def config_options() -> list[str]:
    """train's options made from TrainConfig and ModelConfig fields, from the parser."""
    train = build_parser().commands["train"]
    return [
        a.option_strings[0]
        for group in train._action_groups
        if group.title in ("TrainConfig", "ModelConfig")
        for a in group._group_actions
        if a.nargs != 0 and a.dest != "seed" and a.dest != "eval_every"  # argparse's types
    ]


# options whose refusals keep the config's words on the command line (none now)
KEPT: list[str] = []


def test_every_config_option_with_a_value_has_a_case():
    assert sorted(config_options()) == sorted([*CASES, *KEPT])


@pytest.mark.parametrize("option", sorted(CASES))
def test_a_config_refusal_names_the_option_as_typed(tmp_path, capsys, option):
    (value, *beside), explanation = CASES[option]
    argv = ["train", *TINY, "--out", str(tmp_path / "run"), *beside, option, value]
    line = refusal(capsys, argv)
    assert line.startswith(f"minis2s train: error: {option} {value}: "), line
    assert explanation in line, line
    assert not python_spelling(line), line


@pytest.mark.parametrize("options,named", SETTINGS)
def test_a_config_refusal_of_a_setting_names_its_option(tmp_path, capsys, options, named):
    line = refusal(capsys, ["train", *TINY, "--out", str(tmp_path / "run"), *options])
    assert line.startswith(f"minis2s train: error: {named}"), line
    assert not python_spelling(line), line


@pytest.mark.parametrize(
    "make,words",
    [
        (lambda: TrainConfig(lr=-1.0), "TrainConfig: lr must be a finite number > 0; got -1.0"),
        (lambda: TrainConfig(metric="x"), "TrainConfig: metric='x'; choose one of"),
        (lambda: TrainConfig(epochs=0), "TrainConfig: epochs must be >= 1; got 0"),
        (lambda: TrainConfig(optimizer="sgd", momentum=1.0),
         "TrainConfig: momentum must be in [0, 1)"),
        (lambda: TrainConfig(optimizer="sgd", nesterov=True),
         "TrainConfig: nesterov=True needs momentum > 0"),
        (lambda: ModelConfig(5, 5, dropout=1.5), "ModelConfig: dropout must be in [0, 1); got 1.5"),
        (lambda: ModelConfig(5, 5, attention="none"),
         "with attention='none' pass input_feed=False"),
        (lambda: ModelConfig(5, 5, tie_embeddings=True), "ModelConfig: tie_embeddings needs emb"),
    ],
)  # fmt: skip
def test_the_python_api_keeps_the_configs_words(make, words):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value).startswith(words) or words in str(e.value), str(e.value)


def test_a_config_error_survives_pickling_with_its_field():
    """Errors cross process boundaries (an ensemble's runs): the field and words come back."""
    import pickle

    with pytest.raises(ValueError) as e:
        TrainConfig(lr=-1.0)
    back = pickle.loads(pickle.dumps(e.value))
    assert (str(back), back.field, back.body) == (str(e.value), "lr", e.value.body)


def test_the_readme_quotes_the_command_lines_words_and_the_apis(tmp_path, capsys):
    from pathlib import Path

    readme = " ".join(Path(__file__).parents[1].joinpath("README.md").read_text().split())
    line = refusal(capsys, ["train", *TINY, "--out", str(tmp_path / "run"), "--lr", "-1"])
    with pytest.raises(ValueError) as e:
        TrainConfig(lr=-1.0)
    assert f"`{line}`" in readme and f"`{e.value}`" in readme, line


@pytest.mark.parametrize(
    "command,field,words",
    [
        ("train", "batch_size", "--batch-size 0: must be >= 1"),
        ("train", "tgt_vocab", "ModelConfig: tgt_vocab must be >= 1; got 0"),  # the data's
        ("score", "batch_size", "ModelConfig: batch_size must be >= 1; got 0"),  # no config's
    ],
)
def test_only_an_option_a_config_field_makes_is_named(command, field, words):
    from minis2s.cli_options import option_words
    from minis2s.config_error import ConfigError

    e = ConfigError("ModelConfig", field, 0, "must be >= 1")
    assert option_words(e, build_parser().commands[command]) == words

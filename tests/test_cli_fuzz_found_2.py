"""What a second run of the command-line fuzzer found, on the options this stop touched
(--weight-decay with each --optimizer, --lr and --lr-schedule; --beam and --nbest on a tiny
vocabulary; --resume and --init-from of a run whose saved config was edited by hand): each a
command line that gave a traceback, or a message that sent the user nowhere. One test per
finding; its docstring is the command line."""

import glob
import json

import pytest

from minis2s.cli import main
from tests.test_cli_fuzz_found import TINY
from tests.test_cli_fuzz_found import corpus as _corpus_fixture

corpus = _corpus_fixture  # the first fuzz findings' tiny corpus (8 pairs of a, b, c)


# a saved train option edited by hand to a value of the wrong type (the Python API's resume
# tests take the same list)
HAND_EDITS = [
    ("weight_decay", None),
    ("weight_decay", "nan"),
    ("weight_decay", True),
    ("lr", "x"),
    ("optimizer", 3),
    ("warmup_steps", 1.5),
]


@pytest.fixture
def edited_run(corpus, tmp_path):
    """A run trained on `corpus`, and a function that rewrites its saved train options (in every
    checkpoint's state.json, as a hand edit of the run would)."""
    out = tmp_path / "run"
    assert main(["train", "--data", corpus, *TINY, "--out", str(out)]) == 0

    def edit(**train_options) -> str:
        for path in glob.glob(str(out / "**" / "state.json"), recursive=True):
            with open(path) as f:
                state = json.load(f)
            state["config"]["train"].update(train_options)
            with open(path, "w") as f:
                json.dump(state, f)
        return str(out)

    return edit


def _refusal(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "adagrad"])
def test_resume_of_a_run_saved_with_too_strong_a_decay_names_the_run(
    edited_run, corpus, tmp_path, capsys, optimizer
):
    """minis2s train --out RUN --resume  (RUN's state.json edited to weight_decay 1e6)

    said "--weight-decay 1000000: ... lower --weight-decay below 1 / --lr = 500", an option the
    user never gave, and one a resume refuses to change ("checkpoint was trained with
    train.weight_decay=1000000.0, this run asks ..."): advice that led nowhere. Now the refusal
    names the saved run, and the way on: a new run from its parameters, --init-from."""
    run = edited_run(weight_decay=1e6, optimizer=optimizer)
    assert main(["train", "--epochs", "2", "--quiet", "--show", "0", "--out", run, "--resume"]) == 2
    err = _refusal(capsys)
    assert run in err and "--init-from" in err, err
    assert "weight_decay" in err and "lower --weight-decay" not in err, err
    way_on = err.split("--init-from ")[1].split()[0]  # the advice works
    new = ["--init-from", way_on, "--out", str(tmp_path / "new")]
    assert main(["train", "--data", corpus, *TINY, *new]) == 0


@pytest.mark.parametrize("field,value", HAND_EDITS)
def test_resume_of_a_run_whose_saved_option_has_the_wrong_type_is_one_line(
    edited_run, capsys, field, value
):
    """minis2s train --out RUN --resume  (RUN's state.json edited to weight_decay null, "nan",
    true; lr "x"; optimizer 3; warmup_steps 1.5)

    raised TrainConfig's TypeError (weight_decay must be a number; got None) as a traceback
    from train_commands._run_options. Now one line naming the run and the way on."""
    run = edited_run(**{field: value})
    assert main(["train", "--epochs", "2", "--quiet", "--show", "0", "--out", run, "--resume"]) == 2
    err = _refusal(capsys)
    assert run in err and field in err and "--init-from" in err, err


def test_init_from_a_run_saved_with_too_strong_a_decay_trains_with_its_own(
    edited_run, corpus, tmp_path, capsys
):
    """minis2s train --data tiny.tsv --out NEW --init-from RUN  (RUN saved with weight_decay
    1e6), and the same with --weight-decay 1e6 given

    A fine-tune has its own optimizer options, so RUN's decay is not its: it trains (exit 0);
    given again on the command line, the decay is refused as any new run's is, by its option."""
    run = edited_run(weight_decay=1e6)
    argv = ["train", "--data", corpus, *TINY, "--init-from", run]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "b"), "--weight-decay", "1e6"]) == 2
    assert _refusal(capsys).startswith("minis2s train: error: --weight-decay 1e6")

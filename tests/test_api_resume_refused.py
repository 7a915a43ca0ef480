"""pipeline.train(..., resume=True) of a run whose saved train options TrainConfig now refuses
(lr x weight_decay >= 1 under the weight-decay rule, or a state.json edited by hand:
weight_decay null, "nan", true; lr "x"; optimizer 3; warmup_steps 1.5): the Python side of
tests/test_cli_fuzz_found_2.py. It read "checkpoint was trained with train.weight_decay=None,
this run asks 0.0; resume with the run's own options", options no TrainConfig takes, naming
neither the run nor a way on; now a ValueError naming the run, the saved field and the way on
in train's keywords (init_from=RUN/last, a new out_dir), which trains."""

import glob
import json
import os
import shutil

import pytest

from minis2s import pipeline
from minis2s.train.config import TrainConfig
from tests.test_cli_fuzz_found_2 import HAND_EDITS

TSV = "".join(f"{s}\t{s[::-1]}\n" for s in ("a b", "c", "b c a", "a", "c b", "a a b", "b", "c c"))
MODEL = {"hidden": 8, "emb": 8}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[pipeline.Data, str]:
    """The data of a tiny corpus, and a run trained on it for one epoch."""
    root = tmp_path_factory.mktemp("api-resume-refused")
    (root / "tiny.tsv").write_text(TSV)
    data = pipeline.load_data(data=str(root / "tiny.tsv"))
    pipeline.train(data, MODEL, TrainConfig(epochs=1), str(root / "run"), progress=False)
    return data, str(root / "run")


@pytest.fixture
def edited_run(trained, tmp_path):
    """A copy of the trained run, and a function that rewrites its saved train options (in every
    checkpoint's state.json, as a hand edit of the run would) and returns its directory."""
    data, run = trained
    out = str(tmp_path / "run")
    shutil.copytree(run, out)

    def edit(**train_options) -> str:
        for path in glob.glob(os.path.join(out, "**", "state.json"), recursive=True):
            with open(path) as f:
                state = json.load(f)
            state["config"]["train"].update(train_options)
            with open(path, "w") as f:
                json.dump(state, f)
        return out

    return data, edit


def _refusal(data: pipeline.Data, run: str) -> str:
    """resume=True's refusal of `run`, which leaves the run as it was."""
    log = open(os.path.join(run, "log.jsonl")).read()
    with pytest.raises(ValueError) as refused:  # not a TypeError from inside TrainConfig
        pipeline.train(data, MODEL, TrainConfig(epochs=2), run, resume=True, progress=False)
    assert open(os.path.join(run, "log.jsonl")).read() == log
    return str(refused.value)


def _check_way_on(data: pipeline.Data, said: str, run: str, new: str) -> None:
    """`said` names the way on in train's keywords, not the command line's, and it trains."""
    assert "--" not in said, said  # no --resume, --init-from, --weight-decay
    way_on = os.path.join(run, "last")
    assert f"init_from={way_on!r}" in said and "out_dir=" in said, said
    translator = pipeline.train(data, MODEL, TrainConfig(epochs=1), new, init_from=way_on,
                                progress=False)  # fmt: skip
    assert translator.config["init_from"]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "adagrad"])
def test_resume_of_a_run_saved_with_too_strong_a_decay_names_the_run(
    edited_run, tmp_path, optimizer
):
    """pipeline.train(data, ..., out_dir=RUN, resume=True)  (RUN's state.json: weight_decay 1e6)

    asked the caller to resume "with the run's own options", which TrainConfig refuses (lr x
    weight_decay >= 1); now the refusal names the run, weight_decay, and init_from."""
    data, edit = edited_run
    run = edit(weight_decay=1e6, optimizer=optimizer)
    said = _refusal(data, run)
    assert run in said and "weight_decay" in said, said
    _check_way_on(data, said, run, str(tmp_path / "new"))


@pytest.mark.parametrize("field,value", HAND_EDITS)
def test_resume_of_a_run_whose_saved_option_has_the_wrong_type_names_the_run(
    edited_run, tmp_path, field, value
):
    """pipeline.train(data, ..., out_dir=RUN, resume=True)  (RUN's state.json edited to
    weight_decay null, "nan", true; lr "x"; optimizer 3; warmup_steps 1.5)

    read "checkpoint was trained with train.weight_decay=None, this run asks ...; resume with
    the run's own options", naming neither the run nor an option TrainConfig takes."""
    data, edit = edited_run
    run = edit(**{field: value})
    said = _refusal(data, run)
    assert run in said and field in said, said
    _check_way_on(data, said, run, str(tmp_path / "new"))


def test_init_from_a_run_saved_with_too_strong_a_decay_trains_with_its_own(edited_run, tmp_path):
    """pipeline.train(data, ..., out_dir=NEW, init_from=RUN)  (RUN saved with weight_decay 1e6)

    A fine-tune has its own optimizer options (its tcfg), so RUN's decay is not its: it trains,
    and records its own weight_decay. (Passes on the code before: pinned.)"""
    data, edit = edited_run
    run = edit(weight_decay=1e6, optimizer="adamw")
    new = str(tmp_path / "new")
    translator = pipeline.train(data, MODEL, TrainConfig(epochs=1, weight_decay=1e-4), new,
                                init_from=run, progress=False)  # fmt: skip
    assert translator.config["train"]["weight_decay"] == 1e-4
    assert translator.config["init_from"]

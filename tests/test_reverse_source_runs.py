"""`train --reverse-source` end to end (tests/test_reverse_source.py has the model's own
tests): the run's config records it, translate reads the run, --resume refuses the other value,
a run saved before the option existed reads as not reversed, and --init-from keeps the starting
run's reading."""

import json

import pytest

from minis2s import fine_tune
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.train import checkpoint
from tests.tiny_run import TINY, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("reversed") / "run", "--reverse-source")


def test_train_records_the_option_and_translate_reads_the_run(run, capsys):
    assert checkpoint.load_config(run / "last")["model"]["reverse_source"] is True
    assert Translator.load(run).model.cfg.reverse_source is True
    assert main(["translate", "--checkpoint", str(run), "123", "4567"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert main(["translate", "--checkpoint", str(run), "--show-attention", "123"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["1", "2", "3"]


def test_train_help_has_both_forms(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--reverse-source, --no-reverse-source" in out and "Sutskever" in out


def test_resume_with_the_option_changed_is_refused(run, capsys):
    assert main(["train", *TINY, "--resume", "--no-reverse-source", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint was trained with model.reverse_source=True" in err
    assert "this run asks model.reverse_source=False" in err


def test_a_run_saved_before_the_field_resumes_and_translates_as_not_reversed(tmp_path, capsys):
    """A checkpoint whose config lacks reverse_source (an older minis2s's): translate reads it as
    False, --resume goes on without the option and refuses --reverse-source."""
    out = tmp_path / "old"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    for name in ("last", "best"):
        state = out / name / "state.json"
        saved = json.loads(state.read_text())
        assert saved["config"]["model"].pop("reverse_source") is False
        state.write_text(json.dumps(saved))
    assert Translator.load(out).model.cfg.reverse_source is False
    assert main(["train", *TINY, "--resume", "--reverse-source", "--out", str(out)]) == 2
    assert "trained with model.reverse_source=False" in capsys.readouterr().err
    assert main(["train", *TINY, "--epochs", "2", "--resume", "--out", str(out)]) == 0


def test_init_from_keeps_the_starting_run_s_reading_and_refuses_another(run, tmp_path, capsys):
    """A run started from another keeps its model, reverse_source included: its parameters
    learnt to read the source one way; the other way is refused, as any model change but
    dropout is, and the same way is accepted."""
    assert fine_tune.model_options(fine_tune.load_run(run), {})["reverse_source"] is True
    new = str(tmp_path / "new")
    assert main(["train", *TINY, "--init-from", str(run), "--no-reverse-source", "--out",
                 new]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--no-reverse-source (model option reverse_source)" in err
    assert "has reverse_source True" in err
    assert main(["train", *TINY, "--init-from", str(run), "--reverse-source", "--out", new]) == 0
    assert checkpoint.load_config(f"{new}/last")["model"]["reverse_source"] is True


def test_a_bidirectional_encoder_read_reversed_gets_a_note_and_a_one_way_one_none(tmp_path, capsys):
    """Reversed, a bidirectional encoder (the default) is the plain one with its directions
    exchanged (test_reverse_source_equivalence.py): only another draw, which a user asking for
    Sutskever's trick is told, with the flag that gives it; a one-way encoder is not."""
    assert main(["train", *TINY, "--reverse-source", "--out", str(tmp_path / "bi")]) == 0
    err = capsys.readouterr().err
    assert "only exchanges its two directions" in err and "add --no-bidirectional" in err
    assert main(["train", *TINY, "--reverse-source", "--no-bidirectional",
                 "--out", str(tmp_path / "one-way")]) == 0  # fmt: skip
    assert "exchanges its two directions" not in capsys.readouterr().err

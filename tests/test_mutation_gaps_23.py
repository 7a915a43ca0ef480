"""Mutation pass 23 over the six modules that changed most since the pass that last covered
them: train/checkpoint.py and train/resume.py (pass 9), data/loading.py and fine_tune.py (pass
10), layers/attention.py (pass 8) and data/corpus_lines.py (pass 17); attention.py let live no
mutant that changes a result. Each test kills a hand-made mutant that the suite let live, named
in its docstring; every expected value is worked out by hand, never by the code under test."""

from __future__ import annotations

import dataclasses
import re
import types

import numpy as np
import pytest

from minis2s import fine_tune
from minis2s.data.corpus_lines import CorpusError, read_lines
from minis2s.data.loading import Data, load_data
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig
from minis2s.train import checkpoint, resume
from minis2s.train.config import TrainConfig

# --- train/checkpoint.py --------------------------------------------------------------------------


@pytest.mark.parametrize("only", ["state.json", "params.npz"])
def test_a_folder_with_one_of_a_checkpoints_files_does_not_block_an_output(tmp_path, only):
    """Kills `any(...)` for `all(...)` in checkpoint.blocked_above: a folder holding a
    state.json of some other program (or a params.npz alone) is no checkpoint, and an output
    inside it is written there, not refused."""
    (tmp_path / only).write_text("{}")
    assert checkpoint.blocked_above(tmp_path / "runs" / "x") is None
    (tmp_path / ({"state.json", "params.npz"} - {only}).pop()).write_text("{}")
    assert checkpoint.blocked_above(tmp_path / "runs" / "x") == ("checkpoint", str(tmp_path))


# --- train/resume.py ------------------------------------------------------------------------------


def test_a_resume_given_a_bad_option_of_its_own_is_refused_in_that_options_words(tmp_path):
    """Kills `k not in saved and not _same(...)` for `or` in check_saved_train: the run's saved
    options are good and the one given (patience -1, which a resume may change) is at fault, so
    the refusal is TrainConfig's, of patience, not the run's 'saved with train options'."""
    saved = dataclasses.asdict(TrainConfig())
    with pytest.raises(ValueError, match="patience") as refused:
        resume.check_saved_train(str(tmp_path), saved, saved | {"patience": -1})
    assert "saved with train options" not in str(refused.value)


def test_a_run_saved_with_one_training_pair_of_one_token_resumes(tmp_path):
    """Kills `value < 2` for `value < 1` in check_saved_data: train_size 1 and max_len 1 are
    counts load_data takes, so a run saved with them is no edited file."""
    resume.check_saved_data(str(tmp_path), {"min_freq": 1, "train_size": 1, "max_len": 1})
    with pytest.raises(ValueError, match="train_size 0 is no count"):
        resume.check_saved_data(str(tmp_path), {"train_size": 0})


def test_a_trainer_state_of_an_older_minis2s_without_its_newer_entries_resumes(tmp_path):
    """Kills `elif k in OPTIONAL` for `not in`, and deleting its refusal, in _check_like: a
    checkpoint of an older minis2s has no 'record', 'best_tiebreak' or epoch sums in its
    trainer_state, whose defaults the trainer puts back, so it resumes; one without its step,
    which no minis2s writes, is refused naming the entry."""
    want = {"step": 0, "record": None, "best_tiebreak": None, "epoch_tokens": 0}
    old = checkpoint.Checkpoint({}, {}, {}, {"step": 7}, None)
    resume.check_saved_state(str(tmp_path), old, {}, {}, want)
    with pytest.raises(ValueError, match=r"has no trainer_state\['step'\]"):
        resume.check_saved_state(str(tmp_path), old._replace(trainer_state={}), {}, {}, want)


# --- data/corpus_lines.py -------------------------------------------------------------------------


def test_a_corpus_path_below_a_file_is_refused_naming_it(tmp_path):
    """Kills deleting the `except OSError` refusal of open_binary (it returned None, and
    read_lines failed inside on `with None`): a.tsv/b.tsv, a.tsv being a file, is a CorpusError
    that names the path and the system's reason."""
    (tmp_path / "a.tsv").write_text("x\ty\n")
    path = tmp_path / "a.tsv" / "b.tsv"
    with pytest.raises(CorpusError, match=re.escape(f"{path}: cannot read the file (Not a dir")):
        read_lines(path)


def test_a_nul_byte_is_named_on_its_own_line(tmp_path):
    """Kills `nul or ...` for `nul and b"\\x00" in b` in read_lines: the file holds a NUL, on
    line 2 (byte 2 of 'x\\0y'), and line 1, which holds none, is read."""
    with pytest.raises(CorpusError, match=re.escape(":2: a NUL byte (byte 2 of the line)")):
        read_lines(_file(tmp_path, b"ab\tcd\nx\x00y\tz\n"))


def test_utf16_text_a_third_of_whose_bytes_are_nul_is_named_utf16(tmp_path):
    """Kills `3 * n > len` for `3 * n >= len` in nul_fix: 'ab' and a CJK character in UTF-16LE
    are 6 bytes, 2 of them NUL (the ASCII letters' high bytes), and the fix is to convert from
    UTF-16LE."""
    with pytest.raises(CorpusError, match="iconv -f UTF-16LE -t UTF-8"):
        read_lines(_file(tmp_path, "ab\u4e2d".encode("utf-16-le")))


def test_32_bit_integers_one_byte_in_four_nul_are_no_utf16(tmp_path):
    """Kills `4 * n >= len` for `3 * n >= len` in nul_fix: 32-bit integers 0x00030201 are one
    NUL in four bytes, less than UTF-16's one in two (or a third, with other scripts mixed in),
    so the file is asked about as no text, not called UTF-16."""
    with pytest.raises(CorpusError, match="is it a text file") as refused:
        read_lines(_file(tmp_path, np.full(3, 0x00030201, "<u4").tobytes()))
    assert "UTF-16" not in str(refused.value)


def _file(tmp_path, data: bytes):
    (tmp_path / "c.tsv").write_bytes(data)
    return tmp_path / "c.tsv"


# --- data/loading.py ------------------------------------------------------------------------------


def test_data_built_by_hand_has_skipped_no_pairs():
    """Kills `skipped: int = 1` for `= 0` in Data: a Data made by hand (pipeline.train takes
    one), without load_data's max_len, dropped no training pair longer than it."""
    vocab = Vocab.build([["a"]])
    data = Data([("a", "a")], [], [], vocab, vocab, "char", 0, "mine")
    assert data.skipped == 0


def test_a_train_size_past_a_corpus_says_dev_was_held_out_of_it(tmp_path):
    """Kills `task is not None` for `task is None` in load_data's call of _warn_of_train_size:
    a corpus of 40 distinct pairs without dev_data has 2 (5%) held out for dev, so train_size
    1000 warns of 38 pairs, and says why there are not 40."""
    (tmp_path / "c.tsv").write_text("".join(f"w{i}\tv{i}\n" for i in range(40)))
    with pytest.warns(UserWarning, match=re.escape(
        "train_size=1000 asks for more than the 38 training pairs there are (5% of the corpus "
        "held out for dev); all 38 are used")):  # fmt: skip
        load_data(data=str(tmp_path / "c.tsv"), train_size=1000)


def test_a_train_size_past_a_corpus_says_how_many_pairs_max_len_dropped(tmp_path):
    """Kills `n_long > 1` for `n_long > 0` in _warn_of_train_size (`>= 0` told of 0 dropped in
    the test above): of 4 pairs, one of 8 characters is past max_len 3, so the warning says the
    1 dropped; with dev_data given none is held out."""
    (tmp_path / "c.tsv").write_text("ab\tcd\nef\tgh\nij\tkl\nabcdefgh\tx\n")
    (tmp_path / "d.tsv").write_text("x\ty\n")
    said = "asks for more than the 3 training pairs there are (1 longer than max_len dropped); all"
    with pytest.warns(UserWarning, match=re.escape(said)):
        load_data(data=str(tmp_path / "c.tsv"), dev_data=str(tmp_path / "d.tsv"), max_len=3,
                  train_size=1000)  # fmt: skip


def test_a_dev_corpus_of_one_training_pair_is_warned_of_as_one(tmp_path):
    """Kills `n == 2` for `n == 1` in _warn_of_trained: a dev_data of the one pair 'a b', which
    the training data holds too, is 'the dev_data pair', not 'all 1 dev_data pairs'."""
    (tmp_path / "c.tsv").write_text("a\tb\nc\td\n")
    (tmp_path / "d.tsv").write_text("a\tb\n")
    with pytest.warns(UserWarning, match=r"^the dev_data pair is also in the training pairs"):
        load_data(data=str(tmp_path / "c.tsv"), dev_data=str(tmp_path / "d.tsv"))


# --- fine_tune.py ---------------------------------------------------------------------------------


def test_fine_tune_load_run_names_a_missing_run_in_python_words(tmp_path):
    """Kills `cli: bool = True` for `= False` in fine_tune.load_run: called from Python (as
    _check_max_len's refusal tells a caller to: start = fine_tune.load_run(RUN)), a missing run
    is named as pipeline.train's init_from, not train's --init-from."""
    with pytest.raises(FileNotFoundError, match=re.escape(f"init_from {tmp_path / 'x'}: no such")):
        fine_tune.load_run(tmp_path / "x")


def _start(**options) -> fine_tune.Start:
    """A Start whose run has ModelConfig(**options); model_options reads nothing else of it."""
    model = types.SimpleNamespace(cfg=ModelConfig(src_vocab=9, tgt_vocab=9, **options))
    return fine_tune.Start("runs/x/best", types.SimpleNamespace(model=model))


def test_model_options_refuse_a_size_other_than_the_runs_unless_told_not_to_check():
    """Kills `check: bool = False` for `= True` in fine_tune.model_options: by default an option
    given that is not the run's (hidden 8 on a run of hidden 4) is refused, as the parameters
    keep their shapes; dropout may change; check=False (a resumed fine-tuning) merges them."""
    start = _start(hidden=4)
    with pytest.raises(ValueError, match=r"model_options hidden=8: runs/x/best has hidden 4"):
        fine_tune.model_options(start, {"hidden": 8})
    assert fine_tune.model_options(start, {"dropout": 0.5})["dropout"] == 0.5
    assert fine_tune.model_options(start, {"hidden": 8}, check=False)["hidden"] == 8


def test_a_switch_given_to_init_from_is_named_as_typed():
    """Kills deleting either line of model_options' switch branch (`--no-` for False, and the
    switch named without a value): train --init-from RUN --no-bidirectional on a bidirectional
    run is refused as --no-bidirectional, and --bidirectional on a run without as itself."""
    with pytest.raises(ValueError, match=r"^--no-bidirectional \(model option bidirectional\): "
                                         r"runs/x/best has bidirectional True.*leave "
                                         r"--no-bidirectional out"):  # fmt: skip
        fine_tune.model_options(_start(bidirectional=True), {"bidirectional": False}, cli=True)
    with pytest.raises(ValueError, match=r"^--bidirectional \(model option bidirectional\): "):
        fine_tune.model_options(_start(bidirectional=False), {"bidirectional": True}, cli=True)


def test_a_fine_tuning_from_python_is_refused_in_python_words():
    """Kills `cli: bool = True` for `= False` in read_as_run and in check_kind: called from
    Python, data whose vocabularies min_freq shaped is named as load_data's keyword, and
    feature frames for a text model name the run as init_from, not train's --init-from."""
    vocab = Vocab.build([["a"]])
    data = Data([("a", "a")], [], [], vocab, vocab, "char", 0, "mine", options={"min_freq": 2})
    with pytest.raises(ValueError, match=r"^load_data's min_freq=2 shaped the data's vocab"):
        fine_tune.read_as_run(data, _start())
    said = "init_from runs/x/best: that model reads text as its sources, but the sources of mine"
    with pytest.raises(ValueError, match=re.escape(said + " are (S, 3) feature frames")):
        fine_tune.check_kind(_start(), 3, "mine")

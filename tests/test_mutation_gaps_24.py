"""Mutation pass 24 over six modules that no earlier pass had named: api.py, pipeline.py,
train/config.py, models/config.py, train/checkpoint_sections.py and train_commands.py. Each test
kills a one-line mutant that the suite let live, named in its docstring; every expected value is
worked out by hand, never by the code under test. Left alone: batch_size defaults of translate
and score (the batch changes no output), zip's strict in translate (one hypothesis list per
source by construction), _start's FileNotFoundError (_earlier_runs raised it already), _a_float's
`return False` made `pass` (None is as false), and three tuning defaults that no document states
(TrainConfig.warmup_steps and sampling_steps, ModelConfig.hidden), whose test would copy them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from minis2s import pipeline
from minis2s.api import Translation, Translator
from minis2s.cli import main
from minis2s.cli_parser import build_parser
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.checkpoint_sections import check_sections
from minis2s.train.config import TrainConfig, sampling_eps
from tests.tiny_run import TINY


def _digits(longest: int | None = None) -> Translator:
    """An untrained model of the digits (its outputs are noise; the checks are on its inputs),
    whose config records `longest` as the longest training source (none if None)."""
    v = Vocab("0123456789")
    config = {} if longest is None else {"data": {"longest_source": longest}}
    return Translator(Seq2Seq(ModelConfig(len(v), len(v), emb=4, hidden=4)), v, v, config=config)


# --- api.py ---------------------------------------------------------------------------------------


def test_encode_sources_counts_by_default_and_names_a_place_from_zero():
    """Kills `count: bool = False` and `first: int = 1` in Translator.encode_sources: called as
    documented, its tokens count towards `source_tokens` and `unknown` ("x" is no digit), and
    an empty source is named by its index in the list given, sources[1] (sentence 2)."""
    tr = _digits()
    ids, mask, toks = tr.encode_sources(["12", "3x4"])
    assert toks == [["1", "2"], ["3", "x", "4"]] and mask.sum() == 5
    assert (tr.source_tokens, tr.unknown) == (5, 1)
    with pytest.raises(ValueError, match=r"sources\[1\] \(sentence 2\) is empty"):
        tr.encode_sources(["12", ""])


def test_encode_sources_refuses_an_empty_list():
    """Kills the deleted `raise` of `len(sources) == 0` in encode_sources: no sentences is a
    ValueError that says so, not (0, 0) arrays to decode."""
    with pytest.raises(ValueError, match="translate: no source sentences given"):
        _digits().encode_sources([])


def test_a_model_of_one_feature_per_frame_reads_arrays():
    """Kills `src_features > 1` for `> 0` in encode_sources: a model of F = 1 feature per frame
    reads (S, 1) arrays, padded to (N, S_max, 1), rather than refusing them as not text."""
    v = Vocab("0123456789")
    tr = Translator(Seq2Seq(ModelConfig(0, len(v), src_features=1, emb=4, hidden=4)), None, v)
    x, mask, _ = tr.encode_sources([np.ones((3, 1)), np.ones((2, 1))])
    assert x.shape == (2, 3, 1) and mask.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_an_ensembles_longest_source_is_its_members_largest():
    """Kills the deleted `return` of the members' figure in Translator.longest_source (it read
    the first run's config) and `None in figures` for `not in`: an ensemble notes a source as
    long only past every member's longest, and has no figure if a member has none."""
    ens = _digits(longest=3)  # as load_ensemble makes it: the first member's config
    ens.members = [_digits(longest=3), _digits(longest=7)]
    assert ens.longest_source == 7
    ens.members = [_digits(longest=3), _digits()]
    assert ens.longest_source is None


def test_evaluate_translations_scores_bleu_and_chrf_unless_told_not_to():
    """Kills `bleu: bool = True` made False in Translator.evaluate_translations: as documented,
    the figures hold BLEU and chrF (sacrebleu is a test dependency); outputs equal to their
    references score 100 on both."""
    pairs = [("12345", "54321"), ("6789", "9876")]
    outs = [Translation(r, list(r), 0.0, 0.0, list(s), None) for s, r in pairs]
    figures = _digits().evaluate_translations(pairs, outs)
    assert figures["bleu"] == pytest.approx(100) and figures["chrf"] == pytest.approx(100)
    assert "bleu" not in _digits().evaluate_translations(pairs, outs, bleu=False)


# --- pipeline.py ----------------------------------------------------------------------------------


def test_a_fine_tuning_warns_of_unknown_tokens_on_one_side_only():
    """Kills `any(...)` for `all(...)` in pipeline._tell_start: a fine-tuning whose training
    targets hold tokens its start's vocabulary lacks (and whose sources hold none) warns, which
    progress=False (--quiet) does not hide, rather than printing a line that it hides."""
    entry = {"path": "runs/a", "params": "best", "unknown": {"src": 0.0, "tgt": 0.25}}
    with pytest.warns(UserWarning, match=r"25\.0% of the target tokens"):
        pipeline._tell_start(entry, progress=False)


def _train(data, out, epochs: int, resume: bool = False) -> None:
    tcfg = TrainConfig(epochs=epochs, batch_size=8, dev_size=4)
    pipeline.train(data, {"hidden": 4, "emb": 4}, tcfg, str(out), resume=resume, progress=False)


def _source_of(run) -> dict | None:
    return json.loads((run / "last" / "state.json").read_text())["config"]["data"].get("source")


def test_a_resume_on_data_built_by_hand_keeps_the_runs_recorded_source(tmp_path):
    """Kills `"source" in meta["data"]` for `not in` in pipeline._run_meta (the recorded source
    was dropped from the resumed run's checkpoints) and `"source" not in saved...` for `in` (a
    KeyError resuming a run that recorded none): a Data without a source (built by hand) goes on
    with the run's, and a run without one stays without. Also kills TrainConfig's
    keep_checkpoints default 1: README says the default, 0, writes no steps/ folder."""
    data = pipeline.load_data(task="reverse-digits", train_size=8)
    by_hand = data._replace(source=None)
    run, other = tmp_path / "run", tmp_path / "other"
    _train(data, run, epochs=1)
    _train(by_hand, run, epochs=2, resume=True)
    assert _source_of(run) == {"task": "reverse-digits"}
    assert not (run / "steps").exists()  # keep_checkpoints 0, the default, writes no steps/
    _train(by_hand, other, epochs=1)
    _train(by_hand, other, epochs=2, resume=True)
    assert _source_of(other) is None


# --- train/config.py ------------------------------------------------------------------------------


def test_tokens_per_batch_alone_is_refused_naming_the_default_batch_size_it_says():
    """Kills another default than 64 for TrainConfig.batch_size: the refusal of tokens_per_batch
    alone says that batch_size is 64 unless given, and the value it names is that 64."""
    with pytest.raises(ValueError) as e:
        TrainConfig(tokens_per_batch=500)
    said = str(e.value)
    assert "batch_size is 64 unless given" in said
    assert "got batch_size=64, tokens_per_batch=500" in said


def test_the_documented_defaults(capsys):
    """Kills another default than README's for TrainConfig.dev_size ("--dev-size, default
    1000") and than `minis2s tasks --help`'s "as train --seed does (default 0)" for
    TrainConfig.seed: `minis2s tasks --write` and a train run without --seed draw one split."""
    assert TrainConfig().dev_size == 1000
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tasks", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert f"as train --seed does (default {TrainConfig().seed})" in said


def test_teacher_forcing_zero_always_feeds_the_models_own_tokens():
    """Kills `0.0 < teacher_forcing` for `0.0 <=` in TrainConfig: teacher_forcing is in [0, 1],
    and 0 (the reference is never fed, at the schedule's end) is taken; below 0 is refused."""
    t = TrainConfig(teacher_forcing=0.0, sampling_schedule="constant")
    assert sampling_eps(t, step=0) == 1.0  # eps = 1 - teacher_forcing from the start
    with pytest.raises(ValueError, match=r"teacher_forcing.*must be in \[0, 1\]"):
        TrainConfig(teacher_forcing=-0.1)


def test_a_linear_sampling_schedule_over_one_update():
    """Kills `sampling_steps < 2` for `< 1` in TrainConfig: sampling_steps must be >= 1, and 1
    (eps reaches 1 - teacher_forcing after the first update) is taken."""
    t = TrainConfig(teacher_forcing=0.5, sampling_schedule="linear", sampling_steps=1)
    assert [sampling_eps(t, step) for step in (0, 1, 2)] == [0.0, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"sampling_steps.*must be >= 1"):
        TrainConfig(teacher_forcing=0.5, sampling_schedule="linear", sampling_steps=0)


# --- models/config.py -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["init_scale", "forget_bias"])
def test_init_scale_and_forget_bias_take_float32s_largest_number(name):
    """Kills `abs(x) <= FLOAT32_MAX` made `<`: the bound is "|x| <= 3.4e38", float32's largest
    finite number (written into float32 weights as itself), and the next float64 above it is
    refused."""
    top = float(np.finfo(np.float32).max)
    assert getattr(ModelConfig(10, 10, **{name: top}), name) == top
    with pytest.raises(ValueError, match=rf"{name}.*within float32"):
        ModelConfig(10, 10, **{name: float(np.nextafter(top, np.inf))})


# --- train/checkpoint_sections.py ----------------------------------------------------------------


@pytest.mark.parametrize("trainer_state", [5, [1, 2], "epoch 3"])
def test_a_trainer_state_that_is_no_dict_is_refused_naming_the_file(tmp_path, trainer_state):
    """Kills the deleted check of trainer_state in check_sections: a state.json whose
    trainer_state is not a dict is refused naming the file and the section, not read by the
    trainer as one; null (an average's) is no trainer state and passes."""
    file = tmp_path / "last" / "state.json"
    with pytest.raises(ValueError, match=r"state\.json: its trainer_state is .*not a dict"):
        check_sections(file, {"config": {}, "trainer_state": trainer_state})
    check_sections(file, {"config": {}, "trainer_state": None})


# --- train_commands.py ----------------------------------------------------------------------------


def test_a_refused_model_is_refused_before_the_frozen_embeddings_note(tmp_path, capsys):
    """Kills the deleted `pipeline.check_new_model` in train_commands.train: a model that
    cannot be built (--tie-embeddings with --emb != --hidden) is refused before the note that
    --freeze-embeddings tgt keeps a random start, which would lead a user to the wrong fix."""
    sizes = ["--train-size", "8", "--emb", "4", "--hidden", "8"]
    wiring = ["--tie-embeddings", "--freeze-embeddings", "tgt"]
    args = ["train", "--task", "reverse-digits", *sizes, *wiring, "--out", str(tmp_path / "r")]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "--tie-embeddings: needs --emb == --hidden" in err and "note:" not in out + err


def test_a_shared_embedding_run_feeds_its_input_and_gets_no_frozen_note(tmp_path, capsys):
    """Kills `and` for `or` in two of train_commands' conditions: a new run not given
    --input-feed keeps ModelConfig's documented default, input feeding, unless --attention none
    (`... == "none" or "input_feed" not in ...` turned it off for every such run); and
    --share-embeddings without --freeze-embeddings gets no note that a frozen matrix stays at
    its random start (`... and src is None or tgt is None` printed one whenever no
    --tgt-vectors was given)."""
    run = tmp_path / "r"
    assert main(["train", *TINY, "--share-vocab", "--share-embeddings", "--out", str(run)]) == 0
    assert "note:" not in capsys.readouterr().out
    state = json.loads((run / "last" / "state.json").read_text())
    assert state["config"]["model"]["input_feed"] is True

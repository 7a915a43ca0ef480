"""Mutation pass over the code of 7ba0f85..213cef7: each test kills a hand-made mutant that the
suite let live (ConfigError and the command line's option words, the decoding checks' `where`,
the --split train pairs, the ensemble's train_size rule, the optimizers' checks, the background
runs)."""

import os
import pickle
import subprocess
import sys
import types

import pytest

from minis2s import validate
from minis2s.cli import build_parser
from minis2s.cli_options import option_words
from minis2s.models.config import ModelConfig
from minis2s.train.config import TrainConfig
from minis2s.train.frozen_embeddings import frozen_params
from minis2s.validate import TooLarge
from tests import conftest
from tests.background import Run
from tests.refusals import refusal
from tests.test_decoding_check_words import PAIRS, translator

TINY = ["--task", "reverse-digits", "--train-size", "20", "--dev-size", "5", "--epochs", "1",
        "--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]  # fmt: skip


# --- ConfigError and option_words --------------------------------------------------------------


def test_a_refusal_without_an_owner_starts_with_its_field():
    """Kills ce1 (config_error.py: "owner: said" whatever the owner): frozen_params' refusals
    have no owner, and read `freeze_embeddings='src': ...`, not `: freeze_embeddings=...`."""
    model = ModelConfig(0, 5, emb=4, hidden=4, src_features=3)
    with pytest.raises(ValueError) as e:
        frozen_params(TrainConfig(freeze_embeddings="src"), model)
    assert str(e.value).startswith("freeze_embeddings='src': this model reads"), e.value


def test_a_pickled_config_error_keeps_its_command_line_words():
    """Kills ce3 (ConfigError.__reduce__ without cli_body): an error that crossed a process
    comes back with the words the command line gives it (--lr-schedule, not lr_schedule=)."""
    with pytest.raises(ValueError) as e:
        TrainConfig(lr_schedule="exponential", lr_decay=2.0)
    train = build_parser().commands["train"]
    back = pickle.loads(pickle.dumps(e.value))
    assert option_words(back, train) == option_words(e.value, train)
    assert "--lr-schedule exponential" in option_words(back, train)


def test_a_value_that_g_would_round_is_named_as_typed(tmp_path, capsys):
    """Kills co8 (_as_typed: f"{value:g}" always): --dropout 1.2345678 is not `--dropout
    1.23457`, a value the user never typed."""
    argv = ["train", *TINY, "--out", str(tmp_path / "r"), "--dropout", "1.2345678"]
    line = refusal(capsys, argv)
    assert "error: --dropout 1.2345678: must be in [0, 1)" in line, line


def test_a_word_with_spaces_at_its_ends_is_quoted(tmp_path, capsys):
    """Kills co10 (_as_typed quotes only ''): `--metric ' bleu'` shows the space that made it
    no metric; bare, `--metric  bleu:` hides it."""
    line = refusal(capsys, ["train", *TINY, "--out", str(tmp_path / "r"), "--metric", " bleu"])
    assert "error: --metric ' bleu': choose one of" in line, line


# --- the decoding checks' `where` --------------------------------------------------------------


def test_evaluate_names_itself_for_a_float_nbest():
    """Kills dc4 (check_method's nbest check as translate's): evaluate lets nbest=1.0 past its
    own nbest != 1 test; the integer check must still say evaluate."""
    with pytest.raises(ValueError) as e:
        translator().evaluate(PAIRS, nbest=1.0)
    assert str(e.value).startswith("evaluate: nbest must be an integer"), e.value


@pytest.fixture
def tr_in_memory_for_two_beams(monkeypatch):
    """A translator, built, on a machine whose memory holds the beams of 2 sentences of
    beam_size 4, not of 3."""
    tr = translator()
    V = tr.model.cfg.tgt_vocab
    monkeypatch.setattr(validate, "memory_bytes", lambda: 8 * 2 * 4 * V)
    return tr


def test_a_beam_too_large_for_the_largest_batch_is_refused_before_decoding(
    tr_in_memory_for_two_beams,
):
    """Kills dc13 and api3 (check_for_model with N = 1): 3 sources in one batch of beams that
    fit for one sentence only were refused by beam_search, mid-decoding, in its own name."""
    with pytest.raises(TooLarge) as e:
        tr_in_memory_for_two_beams.translate(["12", "34", "56"], method="beam", beam_size=4)
    assert str(e.value).startswith("translate: beam_size=4: 3 x 4 hypotheses"), e.value


def test_a_beam_that_fits_the_batch_and_sampling_are_decoded(tr_in_memory_for_two_beams):
    """Kills api2 (N = batch_size, not the largest batch: one source was checked as 64) and
    dc11 (check_for_model for sampling too, as a beam of the default size 5)."""
    tr = tr_in_memory_for_two_beams
    assert len(tr.translate(["12"], method="beam", beam_size=4)) == 1
    assert len(tr.translate(["12", "34", "56"], method="sample")) == 3


# --- tests/background.py and conftest's background runs ---------------------------------------


def _python(code: str, timeout_s: float = 60) -> Run:
    return Run([sys.executable, "-c", code], timeout_s=timeout_s)


def test_a_background_run_gives_its_status_and_output_to_every_waiter():
    """Kills bg4 (wait reads again, from the files the first wait closed) and bg6 (read
    without seeking back: empty output)."""
    run = _python("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)")
    assert run.wait() == (3, "out\n", "err\n")
    assert run.wait() == (3, "out\n", "err\n")


def test_a_background_run_starts_once(tmp_path):
    """Kills bg5 (start runs the command again): conftest starts it, and its test's wait must
    not start a second copy (two gradchecks on two cores, the suite's own held back)."""
    log = tmp_path / "log"
    run = _python(f"open({str(log)!r}, 'a').write('ran\\n')")
    run.start()
    run.start()
    run.wait()
    assert log.read_text() == "ran\n"


def test_a_background_run_yields_to_the_suite():
    """Kills bg1 (no nice): the run takes the cores the suite leaves idle (POSIX's nice)."""
    ours = os.nice(0)
    status, out, _ = _python("import os; print(os.nice(0))").wait()
    assert (status, int(out)) == (0, min(ours + 10, 19))


def test_a_background_run_past_its_time_is_stopped():
    """Kills bg3 (wait with no timeout: a hung run holds the session for ever) and bg7 (the
    run left behind once its wait gave up)."""
    run = _python("import time; time.sleep(60)", timeout_s=0.5)
    with pytest.raises(subprocess.TimeoutExpired):
        run.wait()
    process = run._started[0]
    assert process.poll() is not None  # killed, not left running


def test_stop_kills_a_run_still_going():
    """Kills bg2 (stop kills only a run that has ended): an interrupted session leaves no
    run behind."""
    run = _python("import time; time.sleep(60)")
    run.start()
    process = run._started[0]
    run.stop()
    assert process.poll() is not None


class _Item:
    """What conftest's hooks read of a collected test: its module, and its background mark."""

    def __init__(self, module, marked: bool):
        self.module, self.marked = module, marked

    def get_closest_marker(self, name: str):
        return "mark" if name == "background" and self.marked else None


class _Spy:
    """A BACKGROUND stand-in that records what the hooks did to it."""

    def __init__(self):
        self.calls: list[str] = []

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")


def test_the_tests_that_wait_for_a_run_go_last():
    """Kills cf1 (the marked tests sorted first: each run would have no time beside the suite)."""
    plain, marked = types.ModuleType("plain"), types.ModuleType("marked")
    items = [_Item(marked, True), _Item(plain, False), _Item(marked, True), _Item(plain, False)]
    order = list(items)
    conftest.pytest_collection_modifyitems(items)
    assert items == [order[1], order[3], order[0], order[2]]


def test_the_runs_of_marked_tests_start_at_collection_and_stop_at_the_end(monkeypatch):
    """Kills cf2 (never started at collection: each run starts only when its test waits, the
    overlap lost), cf3 (never stopped: an interrupted session leaves a run behind) and cf4 (every
    module's BACKGROUND read, also of modules with no marked test, which have none)."""
    monkeypatch.setattr(conftest, "_numba_is_cold", lambda: False)  # the suite's own warm-up:
    monkeypatch.setattr(conftest, "WARM_NUMBA", _Spy())  # neither started nor stopped here
    spy = _Spy()
    marked, plain = types.ModuleType("marked"), types.ModuleType("plain")  # plain: no BACKGROUND
    marked.BACKGROUND = spy
    session = types.SimpleNamespace(items=[_Item(plain, False), _Item(marked, True)])
    conftest.pytest_collection_finish(session)
    assert spy.calls == ["start"]
    conftest.pytest_sessionfinish(session)
    assert spy.calls == ["start", "stop"]


# --- beam search's alpha, and the command line's words for it ----------------------------------


@pytest.mark.parametrize("alpha", [10.0, -10.0])
def test_alpha_at_the_ends_of_its_range_is_taken(alpha):
    """Kills bm6 (check_alpha refusing |alpha| >= MAX_ALPHA): [-10, 10] holds both ends, as the
    refusal of 11 says."""
    tr = translator()
    out = tr.translate(["12"], method="beam", beam_size=2, length_penalty="gnmt", alpha=alpha)
    assert len(out) == 1


def test_the_command_line_names_alpha_out_of_range_as_typed(capsys):
    """Kills bm7 (check_alpha's message starting ': ' when `where` is empty): refused before
    the checkpoint is read, so a run that does not exist is enough."""
    argv = ["translate", "--checkpoint", "no-such-run", "--beam", "2", "--length-penalty",
            "gnmt", "--alpha", "11", "12"]  # fmt: skip
    line = refusal(capsys, argv)
    assert line.startswith("minis2s translate: error: --alpha must be in [-10, 10]"), line


# --- the step limit: its boundary, and the options' values as typed -----------------------------


def test_a_limit_of_exactly_the_most_steps_is_taken(capsys):
    """Kills cm4 (check_steps refusing a limit >= MAX_STEPS): 0 x |src| + 1,000,000 steps is the
    most allowed, not one too many; the run that does not exist is what is refused."""
    argv = ["translate", "--checkpoint", "no-such-run", "--max-len-a", "0", "--max-len-b",
            "1000000", "12"]  # fmt: skip
    line = refusal(capsys, argv)
    assert "no run or checkpoint at no-such-run" in line, line


@pytest.mark.parametrize(
    "options, words",
    [
        (["--max-len-a", "0", "--max-len-b", "1000001"],
         "--max-len-a 0 and --max-len-b 1000001 allow up to 1,000,001 output tokens"),
        (["--max-len-a", "1234567"],
         "--max-len-a 1234567 and --max-len-b 10 allow up to 1,234,577 output tokens"),
    ],
)  # fmt: skip
def test_a_step_limit_refusal_gives_the_values_as_typed(capsys, options, words):
    """The bug a mutant of TooManySteps.named showed: `{v:g}` and `{limit:.3g}` turned
    --max-len-b 1000001 into `--max-len-b 1e+06 ... allow up to 1e+06 output tokens ...; at most
    1,000,000 decoding steps`, a value the user never typed and a limit that reads as allowed."""
    argv = ["translate", "--checkpoint", "no-such-run", *options, "12"]
    line = refusal(capsys, argv)
    assert f"error: {words} (a * |src| + b) for a source (1 token);" in line, line  # cm12: tokens


def test_the_decode_functions_check_the_longest_sources_steps(monkeypatch):
    """Kills cm7 (length_limits checking a source of 1 token): called directly, greedy and
    beam_search refuse 200,000 x 22 tokens + 10 steps before they encode anything."""
    from minis2s.data.batching import pad
    from minis2s.decode import beam_search, greedy

    model = translator().model
    monkeypatch.setattr(model, "encode", lambda *a: pytest.fail("encoded past the check"))
    ids, mask = pad([[4], [5] * 22])
    for decode in (greedy, beam_search):
        with pytest.raises(ValueError, match="at most 1,000,000 decoding steps"):
            decode(model, ids, mask, max_len_a=200000.0)


def test_translate_names_the_source_too_long_for_the_step_limit():
    """Kills cm8 (TooManySteps saying 'a source' though it knows which): the Python API's
    refusal names translate's own index, sources[1]."""
    with pytest.raises(ValueError) as e:
        translator().translate(["5", "1234567890123456789012"], max_len_a=200000.0)
    assert "for sources[1] (22 tokens)" in str(e.value), e.value


def test_a_step_limit_refusal_survives_pickling_in_its_callers_words():
    """Kills cm9 (TooManySteps.__reduce__ without where and names): an error that crossed a
    process comes back naming the call and options it named, not decode's max_len_a."""
    from minis2s.decode.common import TooManySteps

    e = TooManySteps(22, 4400010.0, 200000.0, 10, 1, "translate", ("--max-len-a", "--max-len-b"))
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and (back.where, back.names) == (e.where, e.names)


def test_a_command_names_the_too_long_source_by_its_place():
    """Kills cmd2 (translate_naming numbering the source by its index among those given): a
    blank line 2 left out, the long source is line 3 of the input, not line 2."""
    from minis2s.command_translations import translate_naming

    long = "1234567890123456789012"
    with pytest.raises(ValueError) as e:
        translate_naming(translator(), ["5", long], {"max_len_a": 200000.0}, "line", places=[0, 2])
    assert "for line 3 (22 tokens)" in str(e.value), e.value


# --- --split train, and an ensemble's train_size -----------------------------------------------

TASK = "reverse-digits"


def _config(train_size=None, task=TASK, seed=0, **data):
    """A run's config as evaluate and score read it: its data's task, options, seed."""
    options = {} if train_size is None else {"train_size": train_size}
    return {"data": {"name": task, "options": options, **data}, "train": {"seed": seed}}


def _tr(*configs):
    """A Translator as note_train_size reads it: one run's config, or an ensemble's members."""
    members = [types.SimpleNamespace(config=c) for c in configs] if len(configs) > 1 else None
    return types.SimpleNamespace(config=configs[0], members=members)


def _split_train(checkpoint):
    return types.SimpleNamespace(split="train", task=TASK, checkpoint=checkpoint)


def _whole():
    from minis2s.data.tasks import get_task

    return len(get_task(TASK).generate(seed=0)["train"])


def test_no_note_for_a_run_that_trained_on_the_whole_split(capsys):
    """Kills ec9 (note_train_size silent only above the split's size): --train-size equal to the
    split's size cut nothing, and 'the first N of the task's N' would say it did."""
    from minis2s.evaluate_commands import note_train_size

    note_train_size(_tr(_config(_whole())), _split_train("runs/a"))
    assert capsys.readouterr().err == ""


def test_an_ensemble_with_a_member_of_every_pair_is_read_on_the_others_pairs(capsys):
    """Kills ec12 (a member without --train-size as None among the sizes: a TypeError), ec20
    ('the others it never saw' for an ensemble) and en7 (shared_train_config taking the member
    of every pair as the smallest): the pairs are the 64 the other member trained on."""
    from minis2s.ensemble_commands import shared_train_config
    from minis2s.evaluate_commands import note_train_size

    tr = _tr(_config(), _config(64))
    assert shared_train_config(tr, TASK) is tr.members[1].config
    note_train_size(tr, _split_train(["runs/a", "runs/b"]))
    err = capsys.readouterr().err
    assert f"(--train-size 64 and {_whole()})" in err, err
    assert "the others some member never saw" in err, err


def test_the_smallest_train_size_is_of_a_member_on_the_task():
    """Kills en9 (shared_train_config reading every member, also one trained on another
    task, whose --train-size says nothing of this task's split)."""
    from minis2s.ensemble_commands import shared_train_config

    tr = _tr(_config(10, task="copy"), _config(64))
    assert shared_train_config(tr, TASK) is tr.members[1].config


def test_a_run_saved_before_fingerprints_is_read_on_its_training_seeds_split():
    """Kills ec14 (split_seed taking seed 0 for such a run): `train --task --seed 3` drew its
    data with seed 3."""
    from minis2s.evaluate_commands import split_seed

    config = _config(seed=3)
    del config["data"]["options"]
    assert split_seed(config, TASK) == 3


def test_members_of_other_splits_are_named_by_the_seeds_that_drew_them():
    """Kills en3 and en10 (every member called '--seed N' by its training seed): a run of
    load_data(seed=0) trained with TrainConfig(seed=2) was not `train --seed 2`'s split."""
    from minis2s.data.provenance import fingerprint
    from minis2s.data.tasks import get_task
    from minis2s.ensemble_commands import check_task_seeds

    old = _config(seed=1)  # saved before fingerprints: its training seed drew its split
    drawn_0 = _config(seed=2, train=fingerprint(get_task(TASK).generate(seed=0)["train"]))
    with pytest.raises(ValueError) as e:
        check_task_seeds(_tr(old, drawn_0), TASK, ["runs/a", "runs/b"])
    assert "runs/a (--seed 1) and runs/b (its split drawn with seed 0)" in str(e.value), e.value


def test_the_options_that_differ_are_named_train_size_first_and_unset():
    """Kills enc3 (the options in alphabetical order: --train-size, the usual cause, not first)
    and enc5 (an option one run left out as 'None', not 'unset')."""
    from minis2s._ensemble_checks import options_difference

    a = {"data": {"options": {"min_freq": 2, "train_size": 64}}}
    b = {"data": {"options": {"train_size": 96}}}
    assert options_difference(a, b) == "--train-size 64 and 96, --min-freq 2 and unset"


def test_the_fix_for_members_of_other_options_names_the_first_run():
    """Kills enc8 (--init-from naming the other run): the advice is to train from the first
    member, whose vocabularies the others must read."""
    from minis2s._ensemble_checks import check_members
    from minis2s.data.vocab import Vocab

    def member(tokens, train_size):
        vocab = Vocab(tokens)
        return types.SimpleNamespace(src_vocab=vocab, tgt_vocab=vocab, config=_config(train_size))

    with pytest.raises(ValueError) as e:
        check_members(["runs/a", "runs/b"], [member("01", 64), member("10", 96)])
    assert "from runs/a with train --init-from runs/a" in str(e.value), e.value


def test_a_member_on_no_split_of_the_task_is_named():
    """Kills en1 (check_task_seeds re-raising split_seed's refusal bare): of an ensemble's
    members, the refusal says which one trained on pairs of no seed's split."""
    from minis2s.ensemble_commands import check_task_seeds

    stray = _config(train="not the fingerprint of any split")
    with pytest.raises(ValueError) as e:
        check_task_seeds(_tr(_config(seed=0), stray), TASK, ["runs/a", "runs/b"])
    assert str(e.value).startswith(f"runs/b: --task {TASK}: the run's training pairs"), e.value


# --- the momentum refusal ---------------------------------------------------------------------


def test_trainconfig_refuses_momentum_1_for_sgd_in_any_case():
    """Kills tc2 (TrainConfig checking momentum for optimizer 'sgd' only as written): it takes
    'SGD' too, whose momentum 1 would otherwise be refused by SGD itself, mid-run."""
    with pytest.raises(ValueError, match=r"^TrainConfig: momentum must be in \[0, 1\)"):
        TrainConfig(optimizer="SGD", lr=0.1, momentum=1.0)


def test_the_momentum_refusal_gives_the_value():
    """Kills oc4 (check_momentum's layout without '; got {value_r}'): the message says what was
    given, as every other range refusal does."""
    import numpy as np

    from minis2s.train import optim

    params = {"W": np.zeros((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"^SGD: momentum must be in \[0, 1\).*; got 1\.5$"):
        optim.SGD(params, lr=0.1, momentum=1.5)


# --- the configs' words: the command line's, and Python's ------------------------------------


@pytest.mark.parametrize(
    "options, words",
    [
        (["--lr-schedule", "exponential", "--min-lr", "1"],
         "--min-lr 1: must be in [0, --lr] = [0, "),
        (["--teacher-forcing", "0.5", "--sampling-schedule", "exponential", "--sampling-k", "2"],
         "--sampling-k 2: must be in (0, 1] for --sampling-schedule exponential"),
    ],
)  # fmt: skip
def test_a_range_that_names_another_setting_names_it_as_an_option(tmp_path, capsys, options, words):
    """Kills tc5 and tc8 (min_lr's and sampling_k's refusals without their cli_body): on the
    command line the bound is --lr and the schedule --sampling-schedule, not lr and 'the
    exponential schedule'."""
    line = refusal(capsys, ["train", *TINY, "--out", str(tmp_path / "r"), *options])
    assert f"error: {words}" in line, line


def test_modelconfig_quotes_a_setting_it_refuses():
    """Kills mc4 (SETTING's layout with the bare value): Python's words are bridge='learned_h',
    a keyword as the user wrote it."""
    with pytest.raises(ValueError) as e:
        ModelConfig(5, 5, cell="gru", bridge="learned_h")
    assert str(e.value).startswith("ModelConfig: bridge='learned_h' differs"), e.value

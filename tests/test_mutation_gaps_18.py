"""Mutation pass over modules no earlier pass named: data/corpus_splits.py (a corpus's dev held
out), load_run.py (which checkpoint Translator.load reads, and what of its state.json it refuses),
_ensemble_checks.py (load_ensemble's refusals) and run_checks.py (a run's options before it
begins); data/encoded.py, data/provenance.py, kernels/dtypes.py, layers/lstm.py and layers/gru.py
let no mutant live. Each test kills a hand-made mutant that the suite let live, named in its
docstring; every expected value is worked out by hand, never by the code under test."""

import os
import shutil

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.data.corpus_splits import held_out
from minis2s.data.loading import load_data
from minis2s.load_run import a_file
from tests.tiny_run import copy_with_state

# --- data/corpus_splits.py ------------------------------------------------------------------------


def _repeated_pairs(distinct: int, copies: int) -> list[tuple[str, str]]:
    """`distinct` pairs, each `copies` times, the copies interleaved."""
    return [(f"s{k}", f"t{k}") for _ in range(copies) for k in range(distinct)]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_held_out_pair_leaves_training_with_every_copy(seed):
    """Kills `held_out: [i for i in order if i not in dev_rows]` (only the held-out row itself
    taken out of training, its copies kept: dev would score pairs the model trained on). 40
    distinct pairs, each 3 times: dev holds 40 // 20 = 2 of them, training the other 38, each
    with its 3 copies."""
    pairs = _repeated_pairs(40, 3)
    train_rows, dev_rows = held_out(pairs, seed)
    dev_pairs = {pairs[i] for i in dev_rows}
    assert not dev_pairs & {pairs[i] for i in train_rows}
    assert len(train_rows) == (40 - len(dev_pairs)) * 3


@pytest.mark.parametrize("seed", [0, 3])
def test_dev_holds_a_twentieth_of_the_distinct_pairs_not_of_the_rows(seed):
    """Kills `max(1, len(pairs) // 20)` (dev sized by the corpus's rows: a corpus of many copies
    held out 3 times as many pairs, and trained on fewer). 40 distinct pairs, each 3 times (120
    rows): dev holds 40 // 20 = 2 distinct pairs, not 120 // 20 = 6."""
    pairs = _repeated_pairs(40, 3)
    _, dev_rows = held_out(pairs, seed)
    assert len(dev_rows) == 2 and len({pairs[i] for i in dev_rows}) == 2


def test_a_dev_corpus_given_as_two_tsv_files_is_warned_of_without_the_training_corpus_words(
    tmp_path,
):
    """Kills `_words: if key == "test_data"` (a dev corpus given as two files whose source
    lines hold one TAB each, warned of with the training corpus's advice, 'and a dev or test
    corpus as dev_data= or test_data=': a dev corpus cannot take another dev corpus)."""
    (tmp_path / "train.tsv").write_text("a b\tc d\ne f\tg h\n")
    (tmp_path / "dev.src").write_text("a\tb\nc\td\n")
    (tmp_path / "dev.tgt").write_text("x\ny\n")
    with pytest.warns(UserWarning, match="every line holds one TAB") as said:
        load_data(
            data=str(tmp_path / "train.tsv"),
            dev_data=[str(tmp_path / "dev.src"), str(tmp_path / "dev.tgt")],
        )
    said = str(said[0].message)
    assert "give a TSV corpus as one path alone (dev_data=FILE); read as" in said, said


# --- load_run.py ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run (tests/tiny_run.py), its path."""
    from tests.tiny_run import train_tiny

    return train_tiny(tmp_path_factory.mktemp("gaps-18") / "run")


def test_a_checkpoint_that_records_no_dtype_loads_as_float32(run, tmp_path):
    """Kills `ckpt.config.get("dtype", "float64")` (a checkpoint written before dtypes were
    recorded, float32 models all, loaded as float64: twice the memory, other numbers)."""
    copy = copy_with_state(run, tmp_path, lambda config: config.pop("dtype", None))
    assert Translator.load(copy).model.dtype == np.float32


@pytest.mark.parametrize("longest", [0, True])
def test_a_longest_source_that_is_no_count_of_tokens_is_refused(run, tmp_path, longest):
    """Kills `longest < 0` for `longest < 1` (0 taken: every source noted as longer than any
    training source) and `isinstance(longest, int)` for `type(longest) is int` (true, a bool, is
    an int to isinstance: taken as 1)."""
    copy = copy_with_state(
        run, tmp_path, lambda config: config["data"].update(longest_source=longest)
    )
    with pytest.raises(ValueError, match=r"longest_source'\] is .*not a count of tokens"):
        Translator.load(copy)


def test_the_last_checkpoint_with_a_trailing_slash_loads_with_which_last(run):
    """Kills `os.path.basename(path) != "last"` for the normpath's (`runs/x/last/`, as a shell
    completes it, refused with which='last' as if it named another checkpoint)."""
    last = os.path.join(str(run), "last")
    loaded = Translator.load(last + os.sep, which="last")
    assert loaded.config == Translator.load(last, which="last").config


def test_a_kept_checkpoint_given_with_which_last_names_its_runs_last(run, tmp_path):
    """Kills `for d in (parent,)` (a run's steps/step-N given with which='last': the run two
    levels up not found, so the fix said 'give a run directory' instead of naming its last/)."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.copytree(copy / "best", copy / "steps" / "step-1")
    with pytest.raises(ValueError) as e:
        Translator.load(copy / "steps" / "step-1", which="last")
    assert f"give {copy / 'last'}, or leave which out" in str(e.value), str(e.value)


def test_a_checkpoint_left_as_its_old_copy_by_a_cut_save_loads_by_its_own_path(run, tmp_path):
    """Kills `if not os.path.exists(path):` without `checkpoint.exists(path)` (runs/x/last, of
    which a save cut between its two renames left only .last.old, refused as 'no such
    directory', where loading the run finds it)."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "last").rename(copy / ".last.old")
    loaded = Translator.load(copy / "last", which="last")
    assert loaded.config == Translator.load(run, "last").config


def test_a_file_refused_after_an_option_is_named_after_it_with_a_space():
    """Kills the dropped space after the option (`--checkpointlog.jsonl is a file`)."""
    said = a_file(os.path.join("nowhere", "log.jsonl"), "--checkpoint")
    assert said.startswith(f"--checkpoint {os.path.join('nowhere', 'log.jsonl')} is a file, ")


# --- _ensemble_checks.py --------------------------------------------------------------------------


def _member(tokens, source, options):
    """What check_members reads of a Translator: vocabularies, tokenizer and config."""
    from types import SimpleNamespace

    from minis2s.data.tokenize import get_tokenizer
    from minis2s.data.vocab import Vocab

    config = {"data": {"source": source, "options": options}}
    vocab = Vocab(tokens)
    return SimpleNamespace(
        src_vocab=vocab, tgt_vocab=vocab, tokenizer=get_tokenizer("word"), config=config
    )


def test_members_of_other_data_and_options_are_told_of_the_data_not_of_init_from():
    """Kills `if options:` for `elif options:` (members trained on other data with other
    options told to fine-tune one from the other, which trains on the first's data and does not
    make the data the same): the data named, and no --init-from."""
    from minis2s._ensemble_checks import check_members

    a = _member(["x", "y"], {"task": "sort"}, {"train_size": 64})
    b = _member(["y", "x"], {"task": "reverse-digits"}, {"train_size": 96})
    with pytest.raises(ValueError) as e:
        check_members(["runs/a", "runs/b"], [a, b])
    said = str(e.value)
    assert "trained on other data (task sort and task reverse-digits)" in said, said
    assert "--init-from" not in said, said


def test_bpe_tokenizers_of_other_merges_are_a_difference():
    """Kills `if False:` for `if a.merges != b.merges:` (members whose BPE merges differ, so one
    text gives each other pieces, taken as one tokenizer)."""
    from minis2s._ensemble_checks import tokenizer_difference
    from minis2s.data.bpe import bpe_tokenizer

    one, two = bpe_tokenizer([("a", "b")]), bpe_tokenizer([("a", "b"), ("ab", "c")])
    assert tokenizer_difference(one, two) == "different BPE merges (1 and 2 merges)"
    assert tokenizer_difference(one, bpe_tokenizer([("a", "b")])) is None


def test_a_member_saved_before_runs_recorded_their_data_has_no_data_difference():
    """Kills `if sa is None and sb is None:` (one member's config without data.source, a run
    saved before minis2s recorded it, compared with the other's: a TypeError, not None)."""
    from minis2s._ensemble_checks import data_difference

    recorded = {"data": {"source": {"task": "sort"}}}
    assert data_difference(recorded, {"data": {}}) is None
    assert data_difference({}, recorded) is None


# --- run_checks.py --------------------------------------------------------------------------------


def test_a_pair_that_fills_tokens_per_batch_exactly_fits():
    """Kills `need >= tokens_per_batch` (a pair needing exactly the batch's room refused): S = 3,
    T = 2 + </s> = 3, max = 3 fits 3 and not 2."""
    from minis2s.run_checks import check_batch_room

    pair = (["a", "b", "c"], ["x", "y"])
    check_batch_room([pair], 3)
    with pytest.raises(ValueError, match="needs max\\(S, T\\) = 3 padded tokens"):
        check_batch_room([pair], 2)


def test_tokens_per_batch_of_one_is_not_told_to_drop_pairs_longer_than_zero():
    """Kills the `--max-len {tokens_per_batch - 1}` fix given for 1 too (--max-len 0, which is
    refused: every target needs 2 with </s>)."""
    from minis2s.run_checks import check_batch_room

    with pytest.raises(ValueError) as e:
        check_batch_room([(["a"], ["x"])], 1)
    assert str(e.value).endswith("raise it to 2 or more"), str(e.value)


@pytest.mark.parametrize("cli", [False, True])
def test_adamw_without_decay_is_refused_for_a_new_run_in_any_case_and_not_on_resume(cli):
    """Kills `if str(tcfg.optimizer).lower()` without lower() ('AdamW' let through) and the
    dropped `resume` (an old run of AdamW without decay refused when it resumes)."""
    from types import SimpleNamespace

    from minis2s.run_checks import check_adamw_decay

    for name in ("adamw", "AdamW"):
        tcfg = SimpleNamespace(optimizer=name, weight_decay=0)
        check_adamw_decay(tcfg, True, cli=cli)
        with pytest.raises(ValueError, match="weight.decay 0 is Adam"):
            check_adamw_decay(tcfg, False, cli=cli)
    check_adamw_decay(SimpleNamespace(optimizer="adamw", weight_decay=0.01), False, cli=cli)


def test_a_dangling_symlink_where_a_new_run_writes_best_is_refused(tmp_path):
    """Kills `os.path.exists(folder)` for `lexists` (a best/ that is a link to nothing, which the
    run's first save would replace, let through)."""
    from minis2s.run_checks import check_no_run

    os.symlink(tmp_path / "nowhere", tmp_path / "best")
    with pytest.raises(FileExistsError, match="best is not a checkpoint"):
        check_no_run(str(tmp_path))


def test_one_kept_checkpoint_of_an_earlier_run_is_one_checkpoint(tmp_path):
    """Kills the plural for one (`holds 1 checkpoints`)."""
    from minis2s.run_checks import check_no_run

    (tmp_path / "steps" / "step-0000007").mkdir(parents=True)
    with pytest.raises(FileExistsError) as e:
        check_no_run(str(tmp_path))
    assert "holds 1 checkpoint kept by an earlier run" in str(e.value), str(e.value)
    (tmp_path / "steps" / "step-0000009").mkdir()
    with pytest.raises(FileExistsError, match="holds 2 checkpoints kept"):
        check_no_run(str(tmp_path))


def test_a_built_in_tokenizer_in_another_unicode_form_is_recordable():
    """Kills `tok == built_in` for `built_in._replace(form=tok.form)` (the word tokenizer
    reading NFKC, which a checkpoint records by name and form, refused as one of the user's own);
    a tokenizer of one's own of a built-in name is still refused."""
    from minis2s.data.tokenize import Tokenizer, get_tokenizer
    from minis2s.run_checks import check_recordable

    check_recordable(get_tokenizer("word")._replace(form="NFKC"))
    with pytest.raises(ValueError, match="of your own cannot be recorded"):
        check_recordable(Tokenizer("word", str.split, " ".join))


@pytest.mark.parametrize("blank", [" ", "\t", "  \n"])
def test_a_blank_out_dir_is_refused_before_a_run_makes_it(blank):
    """Kills `if not os.fspath(out_dir):` without strip() (pipeline.train's out_dir ' ' made a
    folder named ' ' where Python ran)."""
    from minis2s.run_checks import check_train_arguments
    from minis2s.train.config import TrainConfig

    data = load_data(task="reverse-digits", train_size=4)
    with pytest.raises(ValueError, match="a blank path; pass the run directory"):
        check_train_arguments(data, {}, TrainConfig(), blank)

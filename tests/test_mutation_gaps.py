"""Boundaries of today's checks that a mutation test found untested: each test here failed on a
one-line mutant of the library (a `>` made `>=`, a limit doubled, a figure taken of the wrong
side or member) that every other test passed."""

import io
import os
import shutil
import warnings

import numpy as np
import pytest

from minis2s import long_sources, metrics, pipeline, scoring
from minis2s._ensemble_checks import check_distinct
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.corpus import read_corpus
from minis2s.load_run import a_file
from minis2s.long_sources import LongSourceWarning
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.run_checks import check_train_arguments
from minis2s.train.config import TrainConfig
from minis2s.train.divergence import NonFiniteLoss, check_update
from minis2s.train.optim import Adagrad
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("gaps") / "run")


def test_adagrad_takes_float32s_largest_accumulator_and_refuses_just_past_it():
    """float32's largest number is finite there (its square root, the first step's divisor, is
    too); 3.5e38 is past it and rounds to inf."""
    p = {"W": np.ones(3, np.float32)}
    Adagrad(p, initial_accumulator_value=float(np.finfo(np.float32).max))
    with pytest.raises(ValueError, match=r"initial_accumulator_value=3.5e\+38 is beyond float32"):
        Adagrad(p, initial_accumulator_value=3.5e38)


@pytest.mark.parametrize("optimizer", ["adamw", "AdamW"])
def test_train_config_refuses_an_adamw_decay_factor_of_exactly_one(optimizer):
    """lr * weight_decay = 1 multiplies every weight by 0 at each update (the optimizer's name is
    taken in any case, as everywhere in TrainConfig)."""
    with pytest.raises(ValueError, match=r"lr \* weight_decay = 0.5 \* 2 = 1 >= 1"):
        TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=2.0)
    TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=1.99)


def test_a_loss_just_past_float64s_perplexity_stops_the_update():
    """709.78 nats a token is where exp overflows float64; 710 is past it."""
    with pytest.raises(NonFiniteLoss, match=r"step 3: loss 710 nats a token"):
        check_update(3, 710.0, 1.0, 0.0, np.float32, lambda: "")


def test_the_longest_source_is_the_sources_not_the_targets():
    assert long_sources.record([([1, 2, 3], [1]), ([1], [1, 2, 3, 4, 5])]) == 3


@pytest.mark.parametrize("config", [None, [], {"data": {"longest_source": True}}, {"data": 5}])
def test_a_config_without_an_integer_figure_records_none(config):
    """True is an int to isinstance, but no length; a model built by hand has no config."""
    assert long_sources.recorded(config) is None


def test_a_note_of_more_long_sources_than_it_shows_counts_the_rest():
    names = [f"line {i}" for i in range(1, 13)]
    text = long_sources.note(names, list(range(20, 32)), 9, "line", "tokens")
    assert text.startswith("12 lines are longer than any training source (at most 9 tokens)")
    assert "line 10 (29) and 2 more;" in text and "line 11" not in text


def test_an_ensembles_longest_source_is_its_members_largest_or_none(run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same run twice
        ens = Translator.load_ensemble([run, run])
    longest = ens.longest_source
    assert isinstance(longest, int)
    second = ens.members[1]
    second.config = {**second.config, "data": {**second.config["data"], "longest_source": 10**6}}
    assert ens.longest_source == 10**6
    second.config = {**second.config, "data": {}}  # a member saved before the figure
    assert ens.longest_source is None


def test_a_checkpoint_named_twice_is_noted_however_its_path_is_spelled(tmp_path):
    """runs/d1/best and runs/d1/./best are one directory; the note names both as given."""
    d = tmp_path / "best"
    d.mkdir()
    with pytest.warns(UserWarning, match=r"^first and second are the same checkpoint twice"):
        check_distinct(["first", "second"], [str(d), os.path.join(str(tmp_path), ".", "best")])


def test_a_byte_order_mark_on_a_text_stdin_is_dropped_too(run, capsys, monkeypatch):
    """A text stream in stdin's place (a notebook's, a test's) has no .buffer: its lines lose a
    BOM as the bytes' do, and translate as without it."""
    assert main(["translate", "--checkpoint", str(run), "12", "345"]) == 0
    plain = capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("\ufeff12\n\ufeff345\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    result = capsys.readouterr()
    assert result.out == plain.out and "not in the vocabulary" not in result.err


def test_the_note_of_many_blank_lines_names_ten_then_elides(run, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" * 12))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    err = capsys.readouterr().err
    assert "12 of the 12 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ...) have no token" in err


def test_translate_dash_names_lines_as_reading_stdin_does(run, capsys, monkeypatch):
    """`translate -` reads stdin as `translate` alone does: its blank lines are lines."""
    monkeypatch.setattr("sys.stdin", io.StringIO("\n12\n"))
    assert main(["translate", "--checkpoint", str(run), "-"]) == 0
    assert "note: 1 of the 2 lines (1) has no token" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["who\tBo\nOslo\n", "who\tis\tBo\nwhere\tis\tOslo\n"])
def test_a_side_is_tabbed_only_with_one_tab_on_every_line(tmp_path, source):
    """A TAB on some lines, or two on every line, is no TSV corpus's line: no warning."""
    src, tgt = tmp_path / "src.txt", tmp_path / "tgt.txt"
    src.write_text(source, encoding="utf-8")
    tgt.write_text("Bo\nOslo\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_corpus([src, tgt])


def test_the_train_size_warning_says_what_left_fewer_pairs(tmp_path):
    """Held out for dev only for a corpus without dev_data (a task has its own dev split);
    pairs dropped by max_len counted, and not named when none were."""
    with pytest.warns(UserWarning, match="^train_size=") as w:
        pipeline.load_data(task="reverse-digits", train_size=10**7)
    assert "held out" not in str(w[0].message) and "dropped" not in str(w[0].message)
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train.write_text("ab\tba\ncd\tdc\nabcdefgh\thgfedcba\n", encoding="utf-8")
    dev.write_text("ef\tfe\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="^train_size=") as w:
        pipeline.load_data(data=str(train), dev_data=str(dev), train_size=50)
    assert str(w[0].message).endswith("than the 3 training pairs there are; all 3 are used")
    with pytest.warns(UserWarning, match=r"the 2 training pairs there are \(1 longer than"):
        pipeline.load_data(data=str(train), dev_data=str(dev), train_size=50, max_len=4)


def test_load_data_refuses_a_share_vocab_or_target_vocab_of_the_wrong_kind(tmp_path):
    corpus = tmp_path / "c.tsv"
    corpus.write_text("ab\tba\ncd\tdc\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"load_data: share_vocab='no'; give True or False"):
        pipeline.load_data(data=str(corpus), dev_data=str(corpus), share_vocab="no")
    with pytest.raises(ValueError, match=r"load_data: vocabs is \(None, None\)"):
        pipeline.load_data(data=str(corpus), dev_data=str(corpus), vocabs=(None, None))


def test_plots_check_a_path_like_out_and_plot_logs_out(run, tmp_path):
    pytest.importorskip("matplotlib")
    from minis2s import viz

    with pytest.raises(ValueError, match="plot_attention: out .*has no extension"):
        viz.plot_attention([[1.0]], ["a"], ["x"], out=tmp_path / "attention")
    with pytest.raises(ValueError, match="plot_log: out .*has no extension"):
        viz.plot_log(str(run), out=str(tmp_path / "log"))
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="^attention_text: weights is None"):
        viz.attention_text(None, ["a"], ["x"])


def test_places_of_the_wrong_length_are_refused_even_when_their_distinct_ones_fit(run):
    """[0, 1, 1] has 2 distinct places, but 3 of them for 2 sources."""
    tr = Translator.load(run)
    with pytest.raises(ValueError, match="translate: places is .*give 2 distinct integers"):
        tr.translate(["12", "345"], places=[0, 1, 1])


def test_a_string_for_a_bool_is_told_why_it_is_not_one():
    from minis2s import validate

    with pytest.raises(ValueError, match=r"give True or False, not a string: .*'no' too"):
        validate.boolean("f", "flag", "no")
    with pytest.raises(ValueError, match=r"f: flag=0; give True or False$"):
        validate.boolean("f", "flag", 0)


def test_a_file_named_from_inside_its_checkpoint_or_run_names_the_directory_dot(
    run, capsys, monkeypatch
):
    """`state.json` given from inside best/ (or `--run log.jsonl` from inside the run): the
    holder is '.', not an empty name."""
    monkeypatch.chdir(run / "best")
    assert a_file("state.json").endswith("give ., the checkpoint that holds it")
    monkeypatch.chdir(run)
    assert main(["average", "--run", "log.jsonl", "--out", "avg"]) == 2
    assert "give the run that holds it, --run ." in capsys.readouterr().err


def test_a_file_beside_only_a_last_checkpoint_names_its_run(run, tmp_path):
    """A run stopped before its first dev evaluation has last/ and no best/."""
    shutil.copytree(run / "last", tmp_path / "last")
    (tmp_path / "log.jsonl").write_text("", encoding="utf-8")
    text = a_file(str(tmp_path / "log.jsonl"))
    assert f"give {tmp_path}, the run that holds it" in text


def test_train_argument_checks_take_a_path_and_refuse_other_kinds(tmp_path):
    data = pipeline.load_data(task="reverse-digits", train_size=8)
    check_train_arguments(data, {}, TrainConfig(), tmp_path / "run")  # a Path is a path
    with pytest.raises(ValueError, match="pipeline.train: out_dir is "):
        check_train_arguments(data, {}, TrainConfig(), 5)
    with pytest.raises(ValueError, match="pipeline.train: model_options is "):
        check_train_arguments(data, [("hidden", 8)], TrainConfig(), tmp_path / "run")


def test_score_with_text_escapes_a_carriage_return():
    """A CR inside a text, written as is, ends the line for a reader splitting on it."""
    from minis2s.evaluate_commands import _as_column

    assert _as_column("a\rb\nc\td\\") == "a\\rb\\nc\\td\\\\"


def test_summarize_and_metrics_name_what_has_no_length():
    with pytest.raises(ValueError, match="summarize: scores is .*generator"):
        scoring.summarize(s for s in [])
    with pytest.raises(ValueError, match="exact_match: refs is NoneType"):
        metrics.exact_match(["a"], None)


def test_a_feature_models_long_source_is_counted_in_frames(run):
    v = Translator.load(run).tgt_vocab
    model = Seq2Seq(ModelConfig(0, len(v), src_features=4, emb=4, hidden=4))
    frames = Translator(model, None, v, config={"data": {"longest_source": 3}})
    with pytest.warns(LongSourceWarning, match=r"^sources\[0\] has 5 frames, longer than"):
        frames.translate([np.zeros((5, 4), np.float32)])


@pytest.mark.parametrize(
    "argv",
    [
        ["average", "--run", "", "--out", "avg"],
        ["train", "--task", "copy", "--init-from", "", "--out", "ft"],
        ["plot", "--log", "{run}", "--out", ""],
        ["bench", "--json", ""],
        ["translate", "--checkpoint", "{run}", "--phrase-table", "", "12"],
    ],
)
def test_the_other_path_options_refuse_an_empty_path(run, argv, capsys, tmp_path, monkeypatch):
    """As tests/test_user_inputs.py's, for the path options it does not give ''."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main([a.format(run=run) for a in argv])
    assert e.value.code == 2
    assert "an empty path (an unset shell variable?)" in capsys.readouterr().err


def test_the_recorded_longest_source_counts_the_first_training_pair(tmp_path):
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    train.write_text("123456789\t987654321\n12\t21\n34\t43\n", encoding="utf-8")
    dev.write_text("5\t5\n", encoding="utf-8")
    data = pipeline.load_data(data=str(train), dev_data=str(dev))
    assert [len(s) for s, _ in data.train] == [9, 2, 2]
    tr = pipeline.train(
        data, {"hidden": 4, "emb": 4}, TrainConfig(epochs=1), str(tmp_path / "r"), progress=False
    )
    assert tr.longest_source == 9


def test_evaluate_refuses_a_bleu_that_is_no_bool_before_translating(run, monkeypatch):
    tr = Translator.load(run)

    def no_translating(*a, **kw):
        raise AssertionError("translated before the check")

    monkeypatch.setattr(tr, "translate", no_translating)
    with pytest.raises(ValueError, match=r"evaluate: bleu='no'; give True or False"):
        tr.evaluate([("12", "21")], bleu="no")


def test_translate_of_an_empty_stdin_is_refused(run, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["translate", "--checkpoint", str(run)]) == 2
    assert (
        "no sentences: give them as arguments or one per line on stdin" in capsys.readouterr().err
    )


def test_nbest_shows_the_attention_of_its_first_hypothesis(run, capsys):
    """The grid under an n-best line is the best hypothesis's, as without --nbest."""
    argv = ["translate", "--checkpoint", str(run), "--beam", "3", "--show-attention", "1234"]
    assert main(argv) == 0
    one = capsys.readouterr().out.split("\n", 1)[1]
    assert main([*argv, "--nbest", "3"]) == 0
    assert capsys.readouterr().out.split("\n", 1)[1] == one


def test_an_ensemble_of_a_run_without_best_warns_once_a_member(run, tmp_path):
    shutil.copytree(run / "last", tmp_path / "last")
    with pytest.warns(UserWarning) as w:
        Translator.load_ensemble([tmp_path, run])
    assert [str(x.message).count("has no best checkpoint yet") for x in w] == [1]


def test_an_average_keeps_its_runs_data_config_beside_the_figure(run, tmp_path):
    from minis2s.train import checkpoint
    from minis2s.train.average import average

    out = average([run / "best", run / "last"], tmp_path / "avg")
    data = checkpoint.load_config(out)["data"]
    assert data == checkpoint.load_config(run / "last")["data"]


def test_evaluate_takes_a_tuple_of_two_pairs(run):
    """Only two strings are one pair: two pairs in a tuple are pairs."""
    tr = Translator.load(run)
    listed = tr.evaluate([("12", "21"), ("345", "543")])
    assert tr.evaluate((("12", "21"), ("345", "543"))) == listed


def test_the_same_checkpoint_twice_is_warned_of_at_the_callers_line(run):
    with pytest.warns(UserWarning, match="the same checkpoint twice") as w:
        Translator.load_ensemble([run, run])
    assert w[0].filename == __file__


def test_score_names_itself_when_refusing_one_string_for_pairs(run):
    with pytest.raises(ValueError, match="^score: pairs is one string"):
        Translator.load(run).score("12")


def test_an_unknown_task_with_a_corpus_option_is_refused_as_unknown_not_a_key_error(capsys):
    """Not a KeyError; and not 'the built-in task 'nope' has its own dev and test splits', of a
    task that does not exist: the unknown name, with the tasks there are."""
    assert main(["train", "--task", "nope", "--tokenizer", "word", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'nope'; choose one of: reverse-digits" in err and "built-in" not in err

"""What a new user hands the Python API by mistake: one string, one pair, a generator or None
where a list of pairs goes, a dict where a TrainConfig goes, a task's name where Data goes. Each
is refused with a message naming the argument and the fix, not an AttributeError or TypeError
from deep inside."""

import numpy as np
import pytest

from minis2s import metrics, pipeline, scoring
from minis2s.api import Translator
from minis2s.cli import main
from minis2s.train.config import TrainConfig
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("api") / "run")


def test_pairs_given_as_one_string_one_pair_or_a_generator_are_named(run):
    tr = Translator.load(run)
    with pytest.raises(ValueError, match="evaluate: pairs is one string"):
        tr.evaluate("12")  # said "pairs[0] is '1'": the first character
    with pytest.raises(ValueError, match=r"score: pairs is one \(source, reference\) pair"):
        tr.score(("12", "21"))
    for where, call in (("evaluate", tr.evaluate), ("score", tr.score)):
        with pytest.raises(ValueError, match=rf"{where}: pairs is generator.*list\(\.\.\.\)"):
            call(p for p in [("12", "21")])  # a TypeError: object of type 'generator' has no len()
        with pytest.raises(ValueError, match=rf"{where}: pairs is None"):
            call(None)
    pairs = np.array([("12", "21"), ("345", "543")])  # (2, 2) strings
    with pytest.raises(ValueError, match=r"pairs is .*array.*pairs\.tolist\(\)") as e:
        tr.evaluate(pairs)  # the hint list(...) gave rows that are arrays, refused again
    assert "list(...)" not in str(e.value)
    assert tr.evaluate(pairs.tolist())["n"] == 2  # what the hint says works


def test_metrics_and_summarize_refuse_what_has_no_length():
    with pytest.raises(ValueError, match="bleu: hyps is generator"):
        metrics.bleu((h for h in ["a b"]), ["a b"])
    with pytest.raises(ValueError, match="summarize: scores is None"):
        scoring.summarize(None)


@pytest.fixture(scope="module")
def data():
    return pipeline.load_data(task="reverse-digits", train_size=32)


@pytest.mark.parametrize(
    "options, tcfg, message",
    [
        (None, TrainConfig(epochs=1), r"model_options is None; pass a dict .*\{\}"),
        ({}, {"epochs": 1}, r"tcfg is a dict; pass a TrainConfig: TrainConfig\(\*\*tcfg\)"),
        ({}, None, r"tcfg is None; pass a TrainConfig"),
        ({"hidden": 8}, TrainConfig(epochs=1).to_dict(), r"TrainConfig\(\*\*tcfg\)"),
    ],
)
def test_pipeline_train_names_an_argument_of_the_wrong_type(data, options, tcfg, message, tmp_path):
    """A dict for the TrainConfig, or None for the model options, was an AttributeError from
    deep inside train ('dict' object has no attribute 'optimizer'); now refused before anything
    is written."""
    out = tmp_path / "r"
    with pytest.raises(ValueError, match=message):
        pipeline.train(data, options, tcfg, str(out), progress=False)
    assert not out.exists()


def test_pipeline_train_refuses_data_that_is_not_a_data(tmp_path):
    with pytest.raises(ValueError, match=r"data is str 'dates'.*pipeline\.load_data"):
        pipeline.train("dates", {}, TrainConfig(epochs=1), str(tmp_path / "r"), progress=False)


def test_pipeline_train_refuses_an_out_dir_that_is_not_a_path(data):
    with pytest.raises(ValueError, match=r"out_dir is None; pass the run directory"):
        pipeline.train(data, {}, TrainConfig(epochs=1), None, progress=False)


def test_an_ensemble_given_one_run_twice_says_so(run, capsys):
    """`--checkpoint runs/d1 --checkpoint runs/d1` (a typo for d2) decoded with the one run
    alone, silently, and called it an ensemble: a user would read that ensembling gains nothing.
    A note now says so (not refused: twice is also a weight, d1 d1 d2 weighs d1 2/3)."""
    for second in (run, run / "best"):
        with pytest.warns(UserWarning, match="the same checkpoint twice") as w:
            Translator.load_ensemble([run, second])
        assert f"{run}/best" in str(w[0].message)
    assert main(["translate", "--checkpoint", str(run), "--checkpoint", str(run), "12"]) == 0
    assert "note: " in capsys.readouterr().err


@pytest.mark.parametrize("vocabs", ["x", (None,), ("a", "b")])
def test_load_data_names_vocabs_that_are_not_two_vocabularies(vocabs, tmp_path):
    """vocabs='x' was 'not enough values to unpack (expected 2, got 1)', of nothing named."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("ab\tba\ncd\tdc\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"load_data: vocabs is .*; give \(src_vocab, tgt_vocab\)"):
        pipeline.load_data(data=str(corpus), vocabs=vocabs)


def test_plot_attention_of_a_model_without_attention_says_so():
    """Translation.attention is None for a model with attention='none': plot_attention and
    attention_text raised IndexError ('array is 0-dimensional, but 2 were indexed')."""
    from minis2s import viz

    for draw in (viz.attention_text, viz.plot_attention):
        with pytest.raises(ValueError, match=r"weights is None: .*attention='none'"):
            draw(None, ["a"], ["b"])


def test_attention_weights_narrower_than_the_source_are_refused():
    """Fewer columns than source tokens drew each weight under the wrong token (attention_text)
    or failed inside matplotlib; wider ones (padding, </s>) are cut, as before."""
    from minis2s import viz

    with pytest.raises(ValueError, match=r"weights has shape \(2, 1\).*2 source tokens"):
        viz.attention_text([[1.0], [1.0]], ["a", "b"], ["x"])
    with pytest.raises(ValueError, match=r"weights has shape \(3,\)"):
        viz.attention_text([1.0, 0.0, 0.0], ["a"], ["x"])


def test_plots_refuse_an_out_path_they_would_not_write(tmp_path):
    """plot_attention(..., out="attention") wrote attention.png, another file than the one asked
    for (the command line's --out was checked, the Python API's was not)."""
    pytest.importorskip("matplotlib")
    from minis2s import viz

    out = tmp_path / "attention"
    with pytest.raises(ValueError, match="has no extension"):
        viz.plot_attention([[1.0]], ["a"], [], out=str(out))
    assert not (tmp_path / "attention.png").exists()
    with pytest.raises(ValueError, match="does not exist"):
        viz.plot_by_length({"a": []}, out=str(tmp_path / "no" / "x.png"))


def test_plot_by_length_wants_a_dict_of_bands():
    pytest.importorskip("matplotlib")
    from minis2s import viz

    with pytest.raises(ValueError, match=r"plot_by_length: curves is list .*\{label: bands\}"):
        viz.plot_by_length([1, 2])  # AttributeError: 'list' object has no attribute 'items'


def test_resuming_a_run_that_is_not_there_leaves_no_directory(data, tmp_path):
    """pipeline.train(..., resume=True) of a mistyped out_dir made it, with a train.lock, before
    it found nothing to resume (the command line checks first, and made none)."""
    out = tmp_path / "typo"
    with pytest.raises(FileNotFoundError, match="^resume=True: no checkpoint at .*typo/last to"):
        pipeline.train(data, {}, TrainConfig(epochs=1), str(out), resume=True, progress=False)
    assert not out.exists()


def test_translate_places_seed_each_sample_by_its_place_in_the_callers_input(run):
    tr = Translator.load(run)
    kw = {"method": "sample", "seed": 2, "temperature": 5.0}
    four = tr.translate(["345"] * 4, **kw)
    two = tr.translate(["345"] * 2, places=[1, 3], **kw)
    assert [t.text for t in two] == [four[1].text, four[3].text]
    for places in ([0], [0, 0], [0, -1], "ab", [0.0, 1.0]):
        with pytest.raises(ValueError, match="translate: places is .*give 2 distinct integers"):
            tr.translate(["345"] * 2, places=places, **kw)

"""The README's "Decoding, evaluating and ensembles" and "The Python API", walked as a new user
would, with the bad input such a user gives: each refusal names the problem and its fix, and
none blames what the user did not do."""

import os

import pytest

from minis2s.api import Translator
from minis2s.cli import main
from tests.refusals import refusal
from tests.tiny_run import TINY, copy_with_state, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny reverse-digits run (tests/tiny_run.py), its path."""
    return str(train_tiny(tmp_path_factory.mktemp("walkthrough") / "run"))


def test_an_ensemble_of_runs_on_other_data_is_not_blamed_on_their_train_size(tmp_path):
    """Runs of two tasks (other data, so other vocabularies) that also differ in --train-size:
    the refusal says their data differ, not that --train-size made their vocabularies differ,
    nor that --init-from (fine-tuning one task's run on the other) would mend it."""
    digits = train_tiny(tmp_path / "digits")  # TINY: reverse-digits, --train-size 64
    i = TINY.index("--task")
    other = TINY[:i] + ["--task", "sort"] + TINY[i + 2 :]
    i = other.index("--train-size")
    other = other[:i] + ["--train-size", "48"] + other[i + 2 :]
    assert main(["train", *other, "--out", str(tmp_path / "sort")]) == 0
    with pytest.raises(ValueError) as refusal:
        Translator.load_ensemble([str(digits), str(tmp_path / "sort")])
    message = str(refusal.value)
    assert "different source vocabularies" in message
    assert "--train-size" not in message and "--init-from" not in message, message
    assert "task reverse-digits" in message and "task sort" in message, message


@pytest.mark.parametrize("decoder", ["greedy", "beam_search", "sample"])
def test_a_mask_of_fractions_is_refused_as_not_0_or_1_not_as_padding(decoder):
    """decode.greedy(model, x, mask), as the README's training loop calls it, with a mask of
    0.5s (a soft weight, or 1/N by mistake): refused as a mask that must hold 0 and 1, not as a
    sentence of padding only, which it is not."""
    import numpy as np

    from minis2s import decode
    from minis2s.models import ModelConfig, Seq2Seq

    model = Seq2Seq(ModelConfig(src_vocab=10, tgt_vocab=10, emb=4, hidden=4), seed=0)
    src, mask = np.array([[4, 5, 6]]), np.full((1, 3), 0.5)
    extra = {"rng": np.random.default_rng(0)} if decoder == "sample" else {}
    with pytest.raises(ValueError) as refusal:
        getattr(decode, decoder)(model, src, mask, **extra)
    message = str(refusal.value)
    assert "only 0 and 1" in message and "all padding" not in message, message


def test_a_sentence_argument_not_in_utf8_is_refused_as_a_stdin_line_is(run, capsys):
    """`minis2s translate --checkpoint RUN "$(cat latin1.txt)"`: Python reads an argument's
    bytes that are not UTF-8 as lone surrogates, which the model read as <unk> and translated; a
    line of stdin with that byte is refused naming it (README: "a line that is not UTF-8 is an
    error naming it"), and so is the argument, with its place."""
    bad = os.fsdecode(b"12\xe93")  # "12é3" in Latin-1, as the shell passes it to Python
    line = refusal(capsys, ["translate", "--checkpoint", run, "45", bad])
    assert "sentence 2" in line and "not valid UTF-8" in line and "\\xe9" in line, line


def test_a_byte_order_mark_starting_a_sentence_argument_is_dropped_as_on_stdin(run, capsys):
    """`minis2s translate --checkpoint RUN "$(cat note.txt)"` of a file saved with a byte order
    mark: the argument starts with U+FEFF, which a line of stdin drops (README) and which the
    model read as an unknown token, changing its translation. Dropped here too: the output is
    the sentence's own, and no token is counted unknown."""
    assert main(["translate", "--checkpoint", run, "1234", "\ufeff1234"]) == 0
    out, err = capsys.readouterr()
    plain, marked = out.splitlines()
    assert marked == plain and "not in the vocabulary" not in err, (out, err)


def _hand_built():
    """A model and vocabulary built by hand, as the README's training loop builds them."""
    from minis2s.data.vocab import Vocab
    from minis2s.models import ModelConfig, Seq2Seq

    vocab = Vocab.build([list("0123456789")])
    cfg = ModelConfig(src_vocab=len(vocab), tgt_vocab=len(vocab), emb=4, hidden=4)
    return Seq2Seq(cfg, seed=0), vocab


@pytest.mark.parametrize(
    "which, wrong",
    [
        ("model", None),
        ("model", "cfg"),  # the model's ModelConfig for the model
        ("src_vocab", "tokens"),  # the vocabulary's token list for the Vocab
        ("tgt_vocab", "tokens"),
        ("tgt_vocab", "dict"),
    ],
)
def test_a_translator_built_by_hand_refuses_what_is_not_a_model_or_vocab(which, wrong):
    """Translator(model, src_vocab, tgt_vocab) of the training loop's model and Vocabs: given
    the ModelConfig for the model, or a vocabulary's token list for its Vocab, it refused
    nothing and failed later with an AttributeError ('list' object has no attribute
    'count_unknown') from inside translate; refused when built, naming the argument."""
    model, vocab = _hand_built()
    args = {"model": model, "src_vocab": vocab, "tgt_vocab": vocab}
    args[which] = {
        None: None,
        "cfg": model.cfg,
        "tokens": vocab.tokens,
        "dict": {t: i for i, t in enumerate(vocab.tokens)},
    }[wrong]
    with pytest.raises(ValueError, match=rf"^Translator: .*\b{which}\b"):
        Translator(**args).translate(["12"])


def test_plot_names_its_sentence_as_the_option_not_as_translates_sources(run, tmp_path, capsys):
    """`minis2s plot --checkpoint RUN --sentence TEXT` (an ensemble's mean attention, in the
    README's ensemble paragraph): a sentence without a token was refused as "translate:
    sources[0] (sentence 1) is empty", and a long one noted as "sources[0] has 50 tokens", the
    Python API's words for a list the user never wrote; both name --sentence."""
    out = str(tmp_path / "a.png")
    line = refusal(capsys, ["plot", "--checkpoint", run, "--sentence", "", "--out", out])
    assert "--sentence" in line and "sources[0]" not in line and "translate:" not in line, line
    assert main(["plot", "--checkpoint", run, "--sentence", "1" * 50, "--out", out]) == 0
    err = capsys.readouterr().err
    assert "--sentence has 50 tokens" in err and "sources[0]" not in err, err


def test_plot_refuses_a_sentence_for_a_feature_model_naming_the_option(tmp_path, capsys):
    """plot --sentence on a run that reads feature frames: refused naming --sentence and how to
    plot such a model (from Python), not as "translate: sources[0] is text"."""
    i = TINY.index("--task")
    frames = TINY[:i] + ["--task", "noisy-digits"] + TINY[i + 2 :]
    assert main(["train", *frames, "--out", str(tmp_path / "frames")]) == 0
    argv = ["plot", "--checkpoint", str(tmp_path / "frames"), "--sentence", "12", "--out",
            str(tmp_path / "a.png")]  # fmt: skip
    line = refusal(capsys, argv)
    assert "--sentence" in line and "plot_attention" in line and "sources[0]" not in line, line


def test_loading_the_last_checkpoint_of_a_run_without_one_names_the_best_it_has(run, tmp_path):
    """Translator.load(RUN, which="last") of a run whose last/ is gone (deleted to save space)
    but whose best/ is there: refused as "no checkpoint at RUN: expected a run directory (with
    last/ or last/ inside ...)", which both repeated itself and denied the best/ beside it."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "last")
    with pytest.raises(FileNotFoundError) as refusal:
        Translator.load(str(copy), which="last")
    message = str(refusal.value)
    assert "last/ or last/" not in message and "best" in message, message


def test_translate_with_standard_input_closed_is_refused_in_one_line(run, capsys, monkeypatch):
    """`minis2s translate --checkpoint RUN <&-` (no sentence, from a job whose standard input is
    closed, as cron and some service managers start them): Python's sys.stdin is then None, and
    translate stopped with "AttributeError: 'NoneType' object has no attribute 'isatty'"."""
    import sys

    monkeypatch.setattr(sys, "stdin", None)
    line = refusal(capsys, ["translate", "--checkpoint", run])
    assert "standard input" in line and "closed" in line, line


def test_split_train_of_a_run_on_a_tasks_written_files_is_the_pairs_it_trained_on(tmp_path, capsys):
    """The README's ensemble recipe trains each run on `minis2s tasks --write TASK DIR` files;
    `score --task TASK --split train` of such a run (taken for one of the task's seed-0 split,
    with no note) scored the whole training split, 64 pairs trained on and the rest never
    seen, where a run of --task with --train-size 64 is scored on its 64, with a note."""
    assert main(["tasks", "--write", "reverse-digits", str(tmp_path / "rd")]) == 0
    i = TINY.index("--task")
    files = TINY[:i] + TINY[i + 2 :]
    i = files.index("--dev-size")
    files = files[:i] + files[i + 2 :]
    data = [
        "--data",
        str(tmp_path / "rd" / "train.tsv"),
        "--dev-data",
        str(tmp_path / "rd" / "dev.tsv"),
    ]
    assert main(["train", *files, *data, "--out", str(tmp_path / "run")]) == 0  # --train-size 64
    capsys.readouterr()
    argv = ["score", "--checkpoint", str(tmp_path / "run"), "--task", "reverse-digits"]
    assert main([*argv, "--split", "train"]) == 0
    out, err = capsys.readouterr()
    assert "total: pairs=64 " in out.splitlines()[-1], out.splitlines()[-1]
    assert "--split train is the 64 pairs" in err, err


@pytest.mark.parametrize(
    "data, fix",
    [
        (b"12\r345\r", "tr '\\r' '\\n'"),  # old Mac line ends: the whole input one line
        (b"12\n3\r45\n", "delete it"),  # a stray carriage return inside a line
    ],
)
def test_a_carriage_return_inside_a_line_of_stdin_is_refused_as_in_a_corpus(
    run, capsys, monkeypatch, data, fix
):
    """`minis2s translate < file` of a file with old Mac \\r line ends read the whole file as
    one sentence (a word model's tokenizer splits on \\r as on a space, so two sentences gave one
    output line, with no note); a corpus file with them is refused naming file:line and the
    fix (data/corpus_lines.py), and so is such a line of stdin."""
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), "utf-8"))
    line = refusal(capsys, ["translate", "--checkpoint", run])
    assert "stdin:" in line and "carriage return" in line and fix in line, line


@pytest.mark.parametrize(
    "edit",
    [
        lambda config: config["model"].update(hidden="8"),  # a number written as a string
        lambda config: config.update(data="x"),  # not the dict of the run's data
        lambda config: config.update(train="x"),  # evaluate --task reads its seed
        lambda config: config["data"].update(options="x"),  # and its --train-size
        lambda config: config["data"].update(longest_source="x"),  # no note, silently
        lambda config: config["data"].update(longest_source=-5),  # every source noted as long
    ],
)
def test_a_checkpoint_whose_state_was_edited_wrongly_is_refused_naming_its_file(
    run, tmp_path, capsys, edit
):
    """A run whose state.json was edited by hand or written by another program: a model field
    of the wrong type stopped `translate` with a TypeError traceback from ModelConfig, and a data
    config that is not a dict with an AttributeError ('str' object has no attribute 'get'),
    where a config without a model is refused in one line naming the file."""
    copy = copy_with_state(run, tmp_path, edit)
    line = refusal(capsys, ["evaluate", "--checkpoint", str(copy), "--task", "reverse-digits"])
    assert "state.json" in line and "edited" in line, line


@pytest.mark.parametrize("content", ['"x"', '{"format": "minis2s.vocab", "version": 1}'])
def test_a_damaged_vocabulary_file_of_a_run_is_named(run, tmp_path, capsys, content):
    """A run whose src_vocab.json was overwritten (by hand, by another program): refused as
    "not a minis2s vocabulary (...)" without saying which of the run's files that is."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "best" / "src_vocab.json").write_text(content)
    line = refusal(capsys, ["translate", "--checkpoint", str(copy), "12"])
    assert "src_vocab.json" in line, line


def test_parameters_that_do_not_fit_the_config_name_the_member_of_an_ensemble(
    run, tmp_path, capsys
):
    """An ensemble one of whose runs holds parameters of another config (params.npz copied from
    elsewhere): "Seq2Seq: parameter ... has shape ...; was this checkpoint trained with another
    config?" did not say which of the --checkpoint runs it was."""
    import shutil

    import numpy as np

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / "best" / "params.npz"
    params = dict(np.load(path))
    params["bridge.b"] = params["bridge.b"][:3]
    np.savez(path, **params)
    line = refusal(capsys, ["translate", "--checkpoint", run, "--checkpoint", str(copy), "12"])
    assert "parameter bridge.b" in line and str(copy / "best") in line, line


def test_a_line_of_only_a_tab_is_noted_as_blank_not_as_translated_whole(
    tmp_path, capsys, monkeypatch
):
    """For a word model a line holding only whitespace and a TAB has no token: its output is
    empty and a note says so; the TAB note said of it too that it "was translated whole as one
    sentence", which it was not."""
    import io

    corpus = tmp_path / "words.tsv"
    corpus.write_text("".join(f"{a} {b}\t{b} {a}\n" for a in "xyz" for b in "uvw"))
    run = tmp_path / "words"
    argv = ["train", "--data", str(corpus), "--dev-data", str(corpus), "--tokenizer", "word",
            "--epochs", "1", "--hidden", "4", "--emb", "4", "--quiet", "--show", "0"]  # fmt: skip
    assert main([*argv, "--out", str(run)]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b" \t \nx u\n"), "utf-8"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    err = capsys.readouterr().err
    assert "has no token" in err and "TAB" not in err, err

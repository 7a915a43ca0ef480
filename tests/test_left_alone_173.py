"""Small things the closing notes left alone, each a message or a refusal a careful user would
expect: a write into a missing directory names that directory and the user's file (not a hidden
temporary one), `gradcheck --only` says which cases its substring matched, a path option given
what reads as an option (`--out -1`) is refused, a message names a setting the user did not
type as the default it is, and checkpoint.load_config refuses a path that is no path in words."""

import errno
import os

import numpy as np
import pytest

from minis2s import checks, cli_decoding, cli_options, cli_types
from minis2s.cli import build_parser
from minis2s.data.corpus import write_tsv
from minis2s.data.vectors import write_vectors
from minis2s.data.vocab import Vocab
from minis2s.train import checkpoint
from tests.refusals import refusal

# --- an atomic write into a directory that is not there -----------------------------------------


def _save_vocab(path):
    Vocab(["a", "b"]).save(path)


def _save_vectors(path):
    vocab = Vocab(["a", "b"])
    write_vectors(path, vocab, np.ones((len(vocab), 3)))


def _save_tsv(path):
    write_tsv(path, [("a b", "b a")])


WRITERS = [_save_vocab, _save_vectors, _save_tsv]


@pytest.mark.parametrize("write", WRITERS, ids=lambda w: w.__name__)
def test_a_write_into_a_missing_directory_names_it_and_the_users_file(tmp_path, monkeypatch, write):
    """Vocab.save('missing_dir/x.json') said `No such file or directory:
    'missing_dir/.x.json.1358.90976b65.tmp'`, a file the user never named, and write_tsv only
    `No such file or directory: 'missing_dir/x.tsv'`, as if the file were to be read."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        write(os.path.join("missing_dir", "x.out"))
    message = str(e.value)
    assert ".tmp" not in message, message
    assert os.path.join("missing_dir", "x.out") in message, message
    assert "the directory missing_dir does not exist" in message, message
    assert e.value.errno == errno.ENOENT  # a caller can still tell it apart
    assert list(tmp_path.iterdir()) == []  # nothing made, nothing left behind


@pytest.mark.parametrize("write", WRITERS, ids=lambda w: w.__name__)
def test_a_write_below_a_file_names_that_file(tmp_path, monkeypatch, write):
    """`Vocab.save('notes.txt/x.json')`: [Errno 20] Not a directory, naming the temporary file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(NotADirectoryError) as e:
        write(os.path.join("notes.txt", "x.out"))
    message = str(e.value)
    assert ".tmp" not in message and os.path.join("notes.txt", "x.out") in message, message
    assert "notes.txt is a file, not a directory" in message, message
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


# --- gradcheck --only: a substring, and the cases it matched said -----------------------------


def test_gradcheck_only_says_which_cases_its_substring_matched(capsys):
    """`--only 0` ran the two label-smoothing cases without a word of why: a user who meant a
    case's number, or one case, sees the match before the table."""
    names = [name for name, _ in checks._cases()]
    matched = [name for name in names if "0" in name]
    assert len(matched) >= 2  # the point: a short value matches more than one case
    assert checks.run_all(only="0", model=False)
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"--only 0 matches {len(matched)} of {len(names)} cases"), first
    assert all(name in first for name in matched), first


# --- a path option given what reads as an option ----------------------------------------------


@pytest.mark.parametrize("value", ["-1", "-0.5"])  # argparse refuses -1e3, -x itself
def test_a_path_that_reads_as_an_option_is_refused(tmp_path, monkeypatch, capsys, value):
    """`train --out -1` made a directory named -1: argparse takes a token that looks like a
    negative number as a value, so a value left out (`--out --epochs 1` is refused by argparse)
    became a path here."""
    monkeypatch.chdir(tmp_path)
    tiny = ["--train-size", "20", "--dev-size", "5", "--epochs", "1", "--hidden", "4", "--quiet"]
    line = refusal(capsys, ["train", "--task", "reverse-digits", *tiny, "--out", value])
    assert f"argument --out: {value} starts with '-'" in line and f"./{value}" in line, line
    assert list(tmp_path.iterdir()) == []
    assert cli_types.path(f"./{value}") == f"./{value}"  # the way out the refusal names


# --- a message names a setting not typed as the default it is ---------------------------------


def test_a_config_message_names_an_untyped_option_as_the_default(capsys):
    """`train --weight-decay 1e20` said "with --optimizer adam", an option not typed."""
    line = refusal(capsys, ["train", "--task", "reverse-digits", "--weight-decay", "1e20"])
    assert "with the default --optimizer adam," in line, line
    typed = ["--optimizer", "adam", "--weight-decay", "1e20"]
    line = refusal(capsys, ["train", "--task", "reverse-digits", *typed])
    assert "with --optimizer adam," in line and "default --optimizer" not in line, line


def test_a_decoding_message_names_an_untyped_option_as_the_default():
    """`translate --beam 2 --alpha 0.6` said it "would be ignored by --length-penalty none"."""
    argv = ["translate", "--checkpoint", "x", "--beam", "2", "--alpha", "0.6"]
    args = build_parser().parse_args(argv)
    with pytest.raises(ValueError, match="ignored by the default --length-penalty none;"):
        cli_decoding.decode_kwargs(args)
    args.length_penalty = "average"
    with pytest.raises(ValueError, match="ignored by --length-penalty average;"):
        cli_decoding.decode_kwargs(args)


def test_the_memory_check_names_the_untyped_sizes_as_defaults(monkeypatch):
    """`--enc-layers 10**12` said "and --dec-layers 1 with --hidden 128", neither typed."""
    import dataclasses

    from minis2s import validate
    from minis2s.models.config import ModelConfig

    monkeypatch.setattr(validate, "memory_bytes", lambda: 2**30)
    model = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    with pytest.raises(ValueError) as e:
        cli_options.check_model_fits(model | {"enc_layers": 10**12})
    message = str(e.value)
    assert message.startswith(
        f"--enc-layers {10**12} and the default --dec-layers {model['dec_layers']} with the "
        f"default --hidden {model['hidden']} need"
    ), message


# --- checkpoint.load_config of no path --------------------------------------------------------


@pytest.mark.parametrize("path", [3, None, "", b"runs/x", "runs/\0x"])
@pytest.mark.parametrize("read", [checkpoint.load_config, checkpoint.load])
def test_reading_a_checkpoint_at_no_path_is_refused_in_words(read, path):
    """load_config(3) raised `expected str, bytes or os.PathLike object, not int`, naming
    neither the function nor the argument."""
    with pytest.raises(ValueError, match=rf"^checkpoint\.{read.__name__}: path is "):
        read(path)

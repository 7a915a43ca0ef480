"""evaluate and score read a --data corpus as train reads one: a field without a token of the
model's tokenizer (spaces only, for a word model) is an error naming its file and line."""

import pytest

from minis2s.cli import main

PAIRS = "".join(f"a{i % 5} b{i % 3}\tc{i % 3} d{i % 5}\n" for i in range(20))


@pytest.fixture(scope="module")
def word_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("words")
    corpus = tmp / "c.tsv"
    corpus.write_text(PAIRS)
    out = tmp / "run"
    options = ["--tokenizer", "word", "--epochs", "1", "--emb", "4", "--hidden", "4", "--quiet"]
    assert main(["train", "--data", str(corpus), *options, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", ["evaluate", "score"])
@pytest.mark.parametrize(("line", "side"), [("a1 b1\t  ", "target"), (" \tc1 d1", "source")])
def test_a_field_with_no_token_is_named_by_file_and_line(word_run, tmp_path, capsys, command,
                                                         line, side):  # fmt: skip
    """A reference of spaces only was the empty output of a word model, so evaluate counted an
    empty output as an exact match; a source of spaces only was refused as "sources[1]
    (sentence 2) is empty", naming no file."""
    corpus = tmp_path / "test.tsv"
    corpus.write_text(f"a1 b1\tc1 d1\n{line}\n")
    assert main([command, "--checkpoint", str(word_run), "--data", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert f"{corpus}:2: the {side} has no word tokens" in err

"""A TSV corpus given as one side of a two-file corpus (`--data train.tsv test.tsv`, two TSV
files taken for two corpora) is refused naming the file, not read line by line as sentences that
hold a TAB."""

import pytest

from minis2s.cli import main
from minis2s.data.corpus import CorpusError, read_corpus


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("side", [0, 1])
def test_a_tsv_file_as_one_side_of_two_files_is_refused(tmp_path, side):
    """`--data train.tsv test.tsv` (two TSV corpora) or a TSV file beside a target file read
    each whole line, TAB and all, as one sentence: a model trained or scored on nonsense, with a
    note on unknown tokens at most. A file whose every line holds one TAB is a TSV corpus."""
    tsv = _write(tmp_path / "pairs.tsv", "12\t21\n345\t543\n")
    plain = _write(tmp_path / "plain.txt", "21\n543\n")
    paths = [plain, plain]
    paths[side] = tsv
    with pytest.raises(CorpusError, match="every line holds one TAB") as e:
        read_corpus(paths)
    assert str(tsv) in str(e.value) and "--data" in str(e.value)


def test_two_plain_files_may_hold_some_tabs(tmp_path):
    src = _write(tmp_path / "src.txt", "a\tb\nc\n")
    tgt = _write(tmp_path / "tgt.txt", "x\ny\n")
    assert read_corpus([src, tgt]) == [("a\tb", "x"), ("c", "y")]


def test_train_on_two_tsv_files_is_refused_naming_the_fix(tmp_path, capsys):
    a = _write(tmp_path / "a.tsv", "12\t21\n345\t543\n")
    b = _write(tmp_path / "b.tsv", "6\t6\n78\t87\n")
    argv = ["train", "--data", str(a), str(b), "--epochs", "1", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{a}: every line holds one TAB" in err


def test_dash_for_a_corpus_names_dev_stdin(tmp_path, monkeypatch):
    """`--data -` (standard input, by the Unix habit that translate follows) said only '-: no
    such file'; /dev/stdin reads it."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CorpusError, match=r"^-: no such file .*give /dev/stdin"):
        read_corpus("-")


def test_train_size_takes_the_first_lines_only_with_dev_data(tmp_path):
    """The behaviour README and --help now say: with dev held out from --data, the training
    pairs are in a shuffle by the seed, so --train-size N draws N of them (the help said 'the
    first N train pairs', read as the file's first N lines); with --dev-data, the first lines."""
    from minis2s.data.loading import load_data

    lines = [(f"{i:03d}", f"{i:03d}"[::-1]) for i in range(100)]
    corpus = _write(tmp_path / "c.tsv", "".join(f"{s}\t{t}\n" for s, t in lines))
    dev = _write(tmp_path / "d.tsv", "999\t999\n")
    assert load_data(data=str(corpus), dev_data=str(dev), train_size=5).train == lines[:5]
    drawn = load_data(data=str(corpus), train_size=5).train
    assert drawn != lines[:5] and drawn == load_data(data=str(corpus), train_size=5).train
    assert drawn != load_data(data=str(corpus), train_size=5, seed=1).train

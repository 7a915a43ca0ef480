"""Two TSV corpora given as the two sides of one (`--data train.tsv test.tsv`) are refused naming
the file, not read line by line as sentences that hold a TAB; one side with a TAB on every line
may be meant, and is read with a warning."""

import pytest

from minis2s.cli import main
from minis2s.data.corpus import CorpusError, read_corpus


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_two_tsv_files_are_refused_as_two_corpora(tmp_path):
    """`--data train.tsv test.tsv` (two TSV corpora) read each whole line, TAB and all, as one
    sentence: a model trained or scored on nonsense, with a note on unknown tokens at most."""
    a = _write(tmp_path / "a.tsv", "12\t21\n345\t543\n")
    b = _write(tmp_path / "b.tsv", "6\t6\n78\t87\n")
    with pytest.raises(CorpusError, match="every line holds one TAB") as e:
        read_corpus([a, b])
    assert str(a) in str(e.value) and str(e.value).endswith("give a TSV corpus as one path alone")


@pytest.mark.parametrize("side", [0, 1])
def test_one_side_with_a_tab_on_every_line_is_read_with_a_warning(tmp_path, side):
    """A source side whose every line holds one TAB can be meant (question<TAB>context, a
    table's key<TAB>value beside its sentence): read as written, TABs inside the sentences, with
    a warning naming the file in case it is a TSV corpus given by mistake (it was refused, with
    no way to train on such a corpus)."""
    tabbed = _write(tmp_path / "tabbed.txt", "who\tBo is here\nwhere\tin Oslo\n")
    plain = _write(tmp_path / "plain.txt", "Bo\nOslo\n")
    paths = [plain, plain]
    paths[side] = tabbed
    with pytest.warns(UserWarning, match="every line holds one TAB") as w:
        pairs = read_corpus(paths)
    assert str(tabbed) in str(w[0].message) and "--" not in str(w[0].message)
    lines = ["who\tBo is here", "where\tin Oslo"]
    assert [p[side] for p in pairs] == lines and [p[1 - side] for p in pairs] == ["Bo", "Oslo"]


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
    assert "(--data FILE), and a dev or test corpus with --dev-data or --test-data" in err


@pytest.mark.parametrize("key", ["data", "dev_data", "test_data"])
def test_load_data_names_the_keyword_the_two_files_came_in(tmp_path, key):
    """A Python caller of load_data reads its keywords (dev_data=FILE), not train's options,
    which it never typed; only the training corpus is told where a dev or test corpus goes."""
    from minis2s.data.loading import load_data

    a = _write(tmp_path / "a.tsv", "12\t21\n345\t543\n")
    b = _write(tmp_path / "b.tsv", "6\t6\n78\t87\n")
    good = _write(tmp_path / "good.tsv", "12\t21\n")
    corpora = {"data": str(good), "dev_data": str(good), key: [str(a), str(b)]}
    test = {"test_data": corpora["test_data"]} if key == "test_data" else {}
    with pytest.raises(CorpusError) as e:
        load_data(data=corpora["data"], dev_data=corpora["dev_data"], **test)
    message = str(e.value)
    assert f"give a TSV corpus as one path alone ({key}=FILE)" in message and "--" not in message
    assert ("dev_data= or test_data=" in message) == (key == "data")


def test_evaluate_names_its_data_option_and_no_dev_data(tmp_path, capsys):
    """evaluate and score have --data and no --dev-data or --test-data: the fix names the one
    option they have."""
    a = _write(tmp_path / "a.tsv", "12\t21\n345\t543\n")
    b = _write(tmp_path / "b.tsv", "6\t6\n78\t87\n")
    run = str(tmp_path / "r")
    train = ["train", "--data", str(_write(tmp_path / "c.tsv", "1\t1\n2\t2\n3\t3\n"))]
    assert main([*train, "--dev-data", str(a), "--epochs", "1", "--quiet", "--out", run]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", run, "--data", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "give a TSV corpus as one path alone (--data FILE)" in err
    assert "--dev-data" not in err


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

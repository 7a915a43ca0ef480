"""`train --resume --out RUN` reads the run's data from where its config says it came from
(data.source: a task's name, or a corpus's absolute paths); a run saved before that, or whose
files are gone, is refused with what it trained on and how to give it."""

import json
import os

import pytest

from minis2s.cli import main
from minis2s.data.loading import load_data

TINY = ["--train-size", "32", "--epochs", "1", "--hidden", "4", "--emb", "4", "--dev-size", "8",
        "--batch-size", "16", "--show", "0", "--quiet"]  # fmt: skip


def epochs(out):
    return [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()]


def drop_source(out):
    """The run as minis2s saved it before it recorded its data's source."""
    path = out / "last" / "state.json"
    state = json.loads(path.read_text())
    del state["config"]["data"]["source"]
    path.write_text(json.dumps(state))


@pytest.fixture
def corpus_run(tmp_path, monkeypatch):
    """A corpus run trained from `tmp_path/a` on relative paths: its --out is tmp_path/a/run."""
    here = tmp_path / "a"
    here.mkdir()
    (here / "c.tsv").write_text("".join(f"{k}{k + 1}\t{k + 1}{k}\n" for k in range(40)))
    (here / "d.tsv").write_text("12\t21\n34\t43\n")
    monkeypatch.chdir(here)
    args = ["train", "--data", "c.tsv", "--dev-data", "d.tsv", *TINY, "--out", "run"]
    assert main(args) == 0
    return here


def test_load_data_says_where_the_data_comes_from(tmp_path, monkeypatch):
    assert load_data(task="reverse-digits", train_size=8).source == {"task": "reverse-digits"}
    (tmp_path / "c.tsv").write_text("ab\tba\ncd\tdc\n")
    monkeypatch.chdir(tmp_path)
    source = load_data(data="c.tsv", dev_data=["c.tsv"]).source
    path = str(tmp_path / "c.tsv")
    assert source == {"data": [path], "dev_data": [path], "test_data": None}


def test_a_task_run_resumes_with_only_its_out(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "reverse-digits", *TINY, "--out", str(out)]) == 0
    config = json.loads((out / "last" / "state.json").read_text())["config"]
    assert config["data"]["source"] == {"task": "reverse-digits"}
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert epochs(out) == [1, 2]
    drop_source(out)
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "3", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "give exactly one of --task" in err
    assert "trained on 'reverse-digits' (a task's name; give --task reverse-digits)" in err
    # given, --task resumes it as before, and the checkpoint it writes records the source
    assert main(["train", "--task", "reverse-digits", "--out", str(out), "--resume",
                 "--epochs", "3", "--quiet"]) == 0  # fmt: skip
    assert main(["train", "--out", str(out), "--resume", "--epochs", "4", "--quiet"]) == 0
    assert epochs(out) == [1, 2, 3, 4]


def test_a_corpus_run_resumes_from_another_directory_with_only_its_out(corpus_run, monkeypatch):
    monkeypatch.chdir(corpus_run.parent)  # "c.tsv" names no file here
    config = json.loads((corpus_run / "run" / "last" / "state.json").read_text())["config"]
    assert config["data"]["source"]["data"] == [str(corpus_run / "c.tsv")]
    assert main(["train", "--out", "a/run", "--resume", "--epochs", "2", "--quiet"]) == 0
    assert epochs(corpus_run / "run") == [1, 2]  # d.tsv was dev: else 5% of c.tsv, refused
    # given explicitly by other (relative) paths to the same files, the data resumes as before
    args = ["--data", "a/c.tsv", "--dev-data", "a/d.tsv", "--epochs", "3", "--quiet"]
    assert main(["train", *args, "--out", "a/run", "--resume"]) == 0
    assert epochs(corpus_run / "run") == [1, 2, 3]


def test_a_corpus_run_whose_file_is_gone_or_changed_is_refused(corpus_run, capsys):
    resume = ["train", "--out", "run", "--resume", "--epochs", "2", "--quiet"]
    os.rename("d.tsv", "moved.tsv")
    assert main(resume) == 2
    err = capsys.readouterr().err
    assert f"--dev-data {corpus_run / 'd.tsv'}, which is gone" in err and "--data FILE" in err
    os.rename("moved.tsv", "d.tsv")
    edited = "99\t99\n" + open("c.tsv").read()  # other data: refused, not used
    with open("c.tsv", "w") as f:
        f.write(edited)
    assert main(resume) == 2
    assert "checkpoint was trained with data.train=" in capsys.readouterr().err
    assert epochs(corpus_run / "run") == [1]


def test_an_old_corpus_run_says_what_it_trained_on(corpus_run, capsys):
    drop_source(corpus_run / "run")
    assert main(["train", "--out", "run", "--resume", "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "this run was trained on 'c' (a corpus read with the char tokenizer" in err
    assert "give --data with that file, and the --dev-data and --test-data" in err


def test_resume_without_out_or_data_asks_for_the_out(capsys):
    assert main(["train", "--resume", "--epochs", "2"]) == 2
    assert (
        "--resume with neither --task nor --data needs the run's --out" in capsys.readouterr().err
    )

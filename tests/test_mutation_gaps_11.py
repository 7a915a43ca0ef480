"""Mutation pass over the command line's decoding output: translate_commands.py (n-best lines,
blank lines, notes), cli_decoding.py, evaluate_commands.py (split read, --split train's first N,
notes, score --with-text) and scoring.py. Each test kills a hand-made mutant that the suite let
live, named in its docstring; every expected value is worked out by hand or read from the task's
own data or the Python API, never from the code under test."""

from __future__ import annotations

import argparse
import io
import re
import types

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.data.tasks import get_task
from minis2s.evaluate_commands import _as_column, note_task, note_train_size
from minis2s.scoring import Score, summarize
from tests.tiny_run import train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("gaps11") / "run")


# --- translate ---------------------------------------------------------------------------------


def test_nbest_lines_give_each_score_to_four_decimals(run, capsys):
    """Rules out the n-best score printed to three decimals (`{t.score:.3f}`)."""
    assert main(["translate", "--checkpoint", str(run), "--beam", "3", "--nbest", "2", "12"]) == 0
    entries = capsys.readouterr().out.rstrip("\n").split(" ||| ")
    outs = Translator.load(run).translate(["12"], method="beam", beam_size=3, nbest=2)[0]
    assert len(entries) == 2
    for entry, hyp in zip(entries, outs, strict=True):
        text, score = entry.split("\t")
        assert text == hyp.text
        assert re.fullmatch(r"-?\d+\.\d{4}", score), score
        assert abs(float(score) - hyp.score) <= 5e-5


# --- score --with-text -------------------------------------------------------------------------


def test_a_texts_own_backslash_is_doubled_in_a_column():
    """Rules out the backslash left single: the text `a\\tb` (backslash, t) would read back as a
    tab, the same column as `a<TAB>b`'s."""
    assert _as_column("a\\tb") == "a" + "\\" + "\\" + "tb"
    assert _as_column("a\tb") == "a" + "\\" + "tb"
    assert _as_column("a\\tb") != _as_column("a\tb")


# --- scoring.summarize -------------------------------------------------------------------------


def test_summary_counts_every_pairs_unknown_tokens():
    """Rules out the unknown count as the largest pair's (max for sum): 1 + 2 = 3."""
    lp = np.log(np.array([0.5, 0.25]))
    scores = [Score(float(lp.sum()), 2, lp, ["a", "</s>"], n) for n in (1, 2)]
    s = summarize(scores)
    assert s.unknown == 3
    assert s.tokens == 4
    assert s.nll == pytest.approx(-2 * (np.log(0.5) + np.log(0.25)))


# --- evaluate's notes --------------------------------------------------------------------------


def test_the_task_note_names_the_split_read(capsys):
    """Rules out the note naming the test split whatever --split says (`split = "test"`)."""
    tr = types.SimpleNamespace(config={"data": {"name": "corpus.tsv"}})
    args = argparse.Namespace(task="reverse-digits", split="dev", checkpoint=["R"])
    note_task(tr, args)
    err = capsys.readouterr().err
    assert "is scored on its seed-0 dev split" in err
    assert "--data DIR/dev.tsv" in err
    assert "test" not in err


def test_no_train_size_note_when_the_run_trained_on_the_whole_split(capsys, monkeypatch):
    """Rules out `n > whole` for `n >= whole`: a run whose --train-size is the whole training
    split read every pair, so no note says it saw only 'the first N of the task's N'."""
    whole = len(get_task("reverse-digits").generate(seed=0)["train"])
    data = {"name": "reverse-digits", "options": {"train_size": whole}}
    monkeypatch.setattr(
        "minis2s.ensemble_commands.shared_train_config", lambda tr, task: {"data": data}
    )
    tr = types.SimpleNamespace(members=None, config={"data": data})
    args = argparse.Namespace(task="reverse-digits", split="train", checkpoint=["R"])
    note_train_size(tr, args)
    assert capsys.readouterr().err == ""
    data["options"]["train_size"] = whole - 1  # one fewer: the note is due
    note_train_size(tr, args)
    assert f"the first {whole - 1} of the task's {whole} training pairs" in capsys.readouterr().err


def test_sampled_lines_past_the_first_chunk_draw_from_their_own_streams(run, capsys, monkeypatch):
    """Rules out a chunk's lines numbered from 0 again (`places = [i ...]`): line 2001 (the
    second chunk's first) would repeat line 1's draws, not the API's for sentence 2001."""
    n = 2001  # one past a chunk of 2000 (command_translations.CHUNK)
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n" * n))
    assert main(["translate", "--checkpoint", str(run), "--sample", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.split("\n")[:n]
    api = Translator.load(run).translate(["123"] * n, method="sample", seed=3)
    assert lines == [h.text for h in api]
    assert api[0].text != api[n - 1].text  # else this test could not tell the streams apart


def test_a_blank_line_holding_a_tab_is_not_named_as_a_tabbed_sentence(
    tmp_path, capsys, monkeypatch
):
    """Rules out the TAB note reading every line (`s if True else ""`): under a word tokenizer a
    line of a TAB alone has no token, is left untranslated as blank, and was not 'translated
    whole'."""
    corpus = tmp_path / "c.tsv"
    corpus.write_text("".join(f"w{k} x{k}\tx{k} w{k}\n" for k in range(40)), encoding="utf-8")
    run = tmp_path / "o"
    argv = ["train", "--data", str(corpus), "--tokenizer", "word", "--epochs", "1", "--hidden",
            "4", "--emb", "4", "--quiet", "--show", "0", "--out", str(run)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("\t\nw1 x1\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n")[0] == ""  # the blank line keeps its place
    assert "1 of the 2 lines (1) has no token" in captured.err
    assert "TAB" not in captured.err


def test_the_train_size_note_names_a_member_that_trained_on_the_whole_split(capsys):
    """Rules out a member without --train-size counted as the smallest N (`or n` for `or
    whole`): an ensemble of runs trained on 10 pairs and on the whole split names both sizes."""
    whole = len(get_task("reverse-digits").generate(seed=0)["train"])
    small = {"data": {"name": "reverse-digits", "options": {"train_size": 10}}}
    every = {"data": {"name": "reverse-digits", "options": {}}}
    members = [types.SimpleNamespace(config=c) for c in (small, every)]
    tr = types.SimpleNamespace(members=members, config=small)
    args = argparse.Namespace(task="reverse-digits", split="train", checkpoint=["A", "B"])
    note_train_size(tr, args)
    err = capsys.readouterr().err
    assert (
        f"every member of the ensemble of A and B trained on (--train-size 10 and {whole})" in err
    )
    assert f"the first 10 of the task's {whole} training pairs; the others some member" in err

"""`minis2s evaluate` says how many outputs the maximum length cut before </s>, in the words of
translate's note (one function words both), once for the whole split; `Translator.evaluate`
returns the count as "cut". The counts come from `Translation.ended` of the same decoding."""

from __future__ import annotations

import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.evaluate_commands import task_split
from minis2s.wording import percent
from tests.tiny_run import never_ending, train_tiny

TIGHT = ["--max-len-a", "0", "--max-len-b", "1"]  # one token: an output that starts with a digit
LIMIT = "--max-len-a 0 x source length + --max-len-b 1"
DEV = ["--task", "reverse-digits", "--split", "dev"]  # 1000 pairs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run trained just enough (3 epochs of 512 pairs, 6 s) that a few outputs start with a
    digit, which TIGHT cuts, while the default limit cuts none (a barely trained tiny run says
    </s> at once)."""
    options = ["--train-size", "512", "--epochs", "3", "--hidden", "32", "--emb", "16"]
    return train_tiny(tmp_path_factory.mktemp("cut_note") / "run", *options)


@pytest.fixture(scope="module")
def no_eos(run, tmp_path_factory):
    """The run made never to choose </s>, so that every output is cut at the maximum length."""
    return never_ending(run, tmp_path_factory.mktemp("cut_note") / "no-eos")


def _dev(run) -> list:
    return task_split(Translator.load(run).config, "reverse-digits", "dev")


def _cut(run, **limit) -> int:
    """How many of the dev outputs Translator.translate (the decoding evaluate scores) left
    without </s> at `limit`."""
    outputs = Translator.load(run).translate([s for s, _ in _dev(run)], **limit)
    return sum(not t.ended for t in outputs)


def test_evaluate_notes_the_outputs_cut_once_for_the_whole_split(run, capsys, monkeypatch):
    """Decoded 300 pairs at a time, the 1000 dev pairs still get one note, with the count out of
    all of them."""
    monkeypatch.setattr("minis2s.command_translations.CHUNK", 300)
    assert main(["evaluate", "--checkpoint", str(run), *DEV, *TIGHT]) == 0
    err = capsys.readouterr().err
    cut, n = _cut(run, max_len_a=0, max_len_b=1), len(_dev(run))
    assert 0 < cut < n == 1000
    note = (f"note: {cut} of the {n} outputs ({percent(cut, n)}) reached the maximum length "
            f"({LIMIT}) without </s>: cut there\n")  # fmt: skip
    assert note in err and err.count("maximum length") == 1


def test_evaluate_names_a_default_limit_as_the_default(no_eos, capsys):
    """As translate's note (the same function): an option at its default is named so."""
    assert main(["evaluate", "--checkpoint", str(no_eos), *DEV, "--max-len-b", "1"]) == 0
    limit = "the default --max-len-a 2 x source length + --max-len-b 1"
    note = (
        f"note: 1000 of the 1000 outputs (100%) reached the maximum length ({limit}) without </s>"
    )
    assert note in capsys.readouterr().err


def test_evaluate_says_nothing_when_no_output_was_cut(run, capsys):
    """The same run at the default limit: no output is cut, and no note is given."""
    assert _cut(run) == 0
    assert main(["evaluate", "--checkpoint", str(run), *DEV]) == 0
    assert "maximum length" not in capsys.readouterr().err
    assert Translator.load(run).evaluate(_dev(run), bleu=False)["cut"] == 0


def test_python_evaluate_returns_the_count_of_outputs_cut(run):
    got = Translator.load(run).evaluate(_dev(run), bleu=False, max_len_a=0, max_len_b=1)
    assert got["cut"] == _cut(run, max_len_a=0, max_len_b=1) > 0
    assert list(got)[-1] == "cut"  # after the figures evaluate gave before it


def test_translate_counts_its_decoded_outputs_not_its_blank_lines(no_eos, capsys, monkeypatch):
    """Out of the outputs decoded: a blank line keeps its (empty) place but is not decoded; one
    output alone is "the output"."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("123\n\n4567\n89\n"))
    assert main(["translate", "--checkpoint", str(no_eos), *TIGHT]) == 0
    err = capsys.readouterr().err
    assert (f"note: 3 of the 3 outputs (100%) reached the maximum length ({LIMIT}) without "
            "</s>: cut there\n") in err  # fmt: skip
    assert main(["translate", "--checkpoint", str(no_eos), *TIGHT, "123"]) == 0
    err = capsys.readouterr().err
    assert f"note: the output reached the maximum length ({LIMIT}) without </s>: cut" in err

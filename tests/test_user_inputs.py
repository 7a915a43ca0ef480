"""What a new user gives the command line by habit or by mistake: `-` for standard input, a file
of a run where the run directory goes. Each gets what was meant, or a message that names the
problem and the fix, not a silent wrong answer."""

import io

import numpy as np
import pytest

from minis2s.api import Translator
from minis2s.cli import main
from minis2s.models import Seq2Seq
from tests.tiny_run import TINY, train_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("user") / "run")


def test_translate_dash_reads_standard_input(run, capsys, monkeypatch):
    """`translate -` reads stdin, as `-` means to cat, sort and sacrebleu; it translated the
    one-character sentence "-" (all <unk>) and left stdin unread."""
    assert main(["translate", "--checkpoint", str(run), "12", "345"]) == 0
    expected = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n345\n"))
    assert main(["translate", "--checkpoint", str(run), "-"]) == 0
    result = capsys.readouterr()
    assert result.out == expected
    assert "not in the vocabulary" not in result.err


def test_a_dash_among_sentences_is_refused(run, capsys):
    """`-` beside sentences cannot mean stdin as well: refused, not translated as a sentence."""
    assert main(["translate", "--checkpoint", str(run), "12", "-"]) == 2
    err = capsys.readouterr().err
    assert "`-` reads the sentences from standard input" in err and "not both" in err


@pytest.mark.parametrize(
    "inside, meant", [("log.jsonl", ""), ("best/state.json", "/best"), ("best/params.npz", "/best")]
)
def test_checkpoint_given_a_file_names_the_directory_to_give(run, inside, meant, capsys):
    """A file of a run (its log, a checkpoint's state.json) was refused as 'no checkpoint
    directory at FILE', a path the user can see exists: now the message says it is a file and
    names the directory that holds it."""
    path = run / inside
    with pytest.raises(NotADirectoryError, match="is a file") as e:
        Translator.load(path)
    assert f"give {run}{meant}" in str(e.value)
    assert main(["translate", "--checkpoint", str(path), "12"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_average_and_init_from_given_a_file_name_the_directory(run, tmp_path, capsys):
    """average and train --init-from said 'no such checkpoint directory' of a file that exists."""
    state = str(run / "best" / "state.json")
    argv = ["average", "--checkpoint", state, "--checkpoint", str(run / "last")]
    assert main([*argv, "--out", str(tmp_path / "avg")]) == 2
    err = capsys.readouterr().err
    assert f"{state} is a file" in err and f"give {run / 'best'}, the checkpoint" in err
    log = str(run / "log.jsonl")
    argv = ["average", "--checkpoint", log, "--checkpoint", str(run / "last")]
    assert main([*argv, "--out", str(tmp_path / "avg")]) == 2
    assert f"give its checkpoints ({run}/best, {run}/last" in capsys.readouterr().err
    assert main(["train", *TINY, "--init-from", log, "--out", str(tmp_path / "ft")]) == 2
    err = capsys.readouterr().err
    assert f"--init-from {log} is a file" in err and f"give {run}, the run" in err


def test_a_blank_line_of_stdin_gives_an_empty_output_line(run, capsys, monkeypatch):
    """A document's blank line (between paragraphs, at its end) refused the whole input, so its
    translation could not be kept line for line with it: now it gives an empty line, and a note
    says which lines were blank."""
    assert main(["translate", "--checkpoint", str(run), "12", "345"]) == 0
    a, b = capsys.readouterr().out.splitlines()
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n\n345\n\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    result = capsys.readouterr()
    assert result.out.splitlines() == [a, "", b, ""]
    assert "note: 2 of the 4 lines (2, 4) have no token: their outputs are empty" in result.err


def test_blank_sentences_keep_their_place_in_nbest_and_attention_output(run, capsys):
    argv = ["translate", "--checkpoint", str(run), "--beam", "2", "--nbest", "2"]
    assert main([*argv, "12", "", "345"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 3 and lines[1] == "" and " ||| " in lines[0] and " ||| " in lines[2]
    assert "1 of the 3 sentences (2) has no token" in out.err
    assert main(["translate", "--checkpoint", str(run), "--show-attention", "12"]) == 0
    alone = capsys.readouterr().out
    assert main(["translate", "--checkpoint", str(run), "--show-attention", "", "12"]) == 0
    assert capsys.readouterr().out == "\n\n" + alone  # an empty output, with an empty grid


def test_a_sentence_without_a_hypothesis_is_named_by_its_line_past_blank_lines(
    run, capsys, monkeypatch
):
    """The error named sources[i] counting only the lines with tokens: past a blank line it
    named the line before the one that failed."""
    real = Seq2Seq.step

    def nan_step(self, y, state, **kw):  # NaN for every sentence whose source is 345
        logp, state, w = real(self, y, state, **kw)
        return logp * np.nan, state, w

    monkeypatch.setattr(Seq2Seq, "step", nan_step)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n345\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 2
    err = capsys.readouterr().err
    assert "line 2 has no hypothesis with a finite score" in err
    assert main(["translate", "--checkpoint", str(run), "", "345"]) == 2
    assert "sentence 2 has no hypothesis with a finite score" in capsys.readouterr().err


def test_only_blank_lines_give_only_empty_lines(run, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    result = capsys.readouterr()
    assert result.out == "\n\n"
    assert "2 of the 2 lines (1, 2) have no token" in result.err


def test_tokenizer_with_a_task_says_the_task_has_its_own(capsys):
    """`--task dates --tokenizer word` was refused as the task having 'its own dev and test
    splits and lengths', which says nothing of a tokenizer."""
    assert main(["train", "--task", "dates", "--tokenizer", "word", "--quiet"]) == 2
    assert "has its own tokenizer (char)" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_translate_reading_a_terminal_says_how_to_end(run, capsys, monkeypatch):
    """`translate --checkpoint RUN` without sentences, typed at a terminal, waited on a blank
    screen: a user who forgot the sentence saw nothing to say that stdin was being read."""
    monkeypatch.setattr("sys.stdin", _Terminal("12\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    err = capsys.readouterr().err
    assert "reading sentences from the terminal, one a line; end with Ctrl-D" in err


def test_translate_reading_a_pipe_prints_no_such_note(run, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    assert "terminal" not in capsys.readouterr().err


def test_a_byte_order_mark_starting_any_stdin_line_is_dropped(run, capsys, monkeypatch):
    """`cat a.txt b.txt | minis2s translate`, b.txt saved with a byte order mark: only the first
    line's was dropped, and b.txt's first sentence was read with an invisible <unk> first."""
    assert main(["translate", "--checkpoint", str(run), "12", "345"]) == 0
    expected = capsys.readouterr().out
    data = "\ufeff12\n\ufeff345\n".encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), "utf-8"))
    assert main(["translate", "--checkpoint", str(run)]) == 0
    result = capsys.readouterr()
    assert result.out == expected and "not in the vocabulary" not in result.err


def test_a_blank_line_leaves_the_other_lines_samples_as_they_were(run, capsys, monkeypatch):
    """Line i samples from default_rng([seed, i]) (README): a blank line before it must not move
    it to stream i - 1, as translating the other lines alone would."""
    tr = Translator.load(run)
    kw = {"method": "sample", "seed": 3, "temperature": 5.0}
    at = [t.text for t in tr.translate(["345"] * 4, **kw)]  # "345" drawn from streams 0..3
    assert len(set(at)) > 1  # else this test could not tell the streams apart
    monkeypatch.setattr("sys.stdin", io.StringIO("345\n\n345\n\n345\n345\n"))
    argv = ["translate", "--checkpoint", str(run), "--sample", "--seed", "3"]
    assert main([*argv, "--temperature", "5"]) == 0
    lines = capsys.readouterr().out.split("\n")[:6]
    assert lines[1] == lines[3] == ""
    kept = tr.translate(["345"] * 6, **kw)
    assert [lines[i] for i in (0, 2, 4, 5)] == [kept[i].text for i in (0, 2, 4, 5)]


def test_average_run_given_a_file_names_its_run(run, tmp_path, capsys):
    log = str(run / "log.jsonl")
    assert main(["average", "--run", log, "--last", "2", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert f"--run {log} is a file" in err and f"--run {run}" in err  # said: no such directory


def test_tasks_write_to_an_empty_path_is_named(capsys):
    """`tasks --write dates "$DIR"` with DIR unset: '[Errno 2] No such file or directory: '''."""
    assert main(["tasks", "--write", "dates", ""]) == 2
    assert "--write: the directory is '' (empty)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "--checkpoint", "", "12"],  # PosixPath('.') has an empty name
        ["vectors", "--checkpoint", "{run}", "--out", ""],  # the same
        ["average", "--checkpoint", "{run}/best", "--checkpoint", "{run}/last", "--out", ""],
        ["train", "--task", "copy", "--out", ""],  # trained into runs/copy, the default
        ["evaluate", "--checkpoint", "{run}", "--data", ""],  # ': no such file'
        ["plot", "--log", "", "--out", "x.png"],
    ],
)
def test_an_empty_path_is_refused_as_such(run, argv, capsys, tmp_path, monkeypatch):
    """`--out "$RUN"` with RUN unset: each path option refuses '' naming it, before anything."""
    monkeypatch.chdir(tmp_path)  # train's default --out, runs/copy, lands here if not refused
    with pytest.raises(SystemExit) as e:
        main([a.format(run=run) for a in argv])
    assert e.value.code == 2
    assert "an empty path (an unset shell variable?)" in capsys.readouterr().err


def test_translator_load_of_an_empty_path_says_so():
    with pytest.raises(FileNotFoundError, match="the path is empty"):
        Translator.load("")


def test_evaluate_names_a_pair_without_a_hypothesis_by_its_number(run, tmp_path, capsys,
                                                                   monkeypatch):  # fmt: skip
    """evaluate names the pair (from 1, as the corpus has them), not sources[i] of a list the
    user never wrote."""
    real = Seq2Seq.step

    def nan_step(self, y, state, **kw):
        logp, state, w = real(self, y, state, **kw)
        return logp * np.nan, state, w

    corpus = tmp_path / "c.tsv"
    corpus.write_text("12\t21\n")
    monkeypatch.setattr(Seq2Seq, "step", nan_step)
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(corpus)]) == 2
    err = capsys.readouterr().err
    assert "pair 1 has no hypothesis with a finite score" in err
    assert "sources[" not in err

"""Mutation pass 25 over three modules that no earlier pass had named: commands.py, cli.py and
data/vectors.py, 30 one-line mutants each. Each test kills a one-line mutant that the suite let
live, named in its docstring; every expected value is worked out by hand, never by the code
under test. Of commands.py's 30, the six that outlived test_tasks, _vectors, _viz, _user_inputs,
_cli_bad_values and _cli fall to test_walkthrough_try, test_pretrained and test_ensemble_runs, so
no test here names it. Left alone in cli.py: `i <= len(argv)` in _stray_checkpoints (a
--checkpoint with no value never reaches it: argparse refuses it first) and the deleted os.dup2
of the BrokenPipeError branch (`minis2s tasks` into a pipe closed before its first write exits
141 with an empty stderr either way; no case found where exit's flush then fails)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from minis2s import cli
from minis2s.data.vectors import read_vectors

# --- cli.py ---------------------------------------------------------------------------------------


def test_threads_is_read_before_the_command_only(monkeypatch):
    """Kills `a == "--" and not a.startswith("-")` for `or` in _set_threads: the scan stops at
    the command, so `--threads 3` typed after it (a sentence after `--`, or translate's own
    words) never sets the BLAS thread count; before the command it does."""
    for var in cli.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    cli._set_threads(["translate", "--checkpoint", "run", "--", "--threads", "3"])
    assert all(var not in cli.os.environ for var in cli.THREAD_VARS)
    cli._set_threads(["--threads", "3", "translate"])
    assert [cli.os.environ[var] for var in cli.THREAD_VARS] == ["3", "3", "3"]


def test_a_refused_thread_count_leaves_the_environment_alone(monkeypatch, capsys):
    """Kills `int(value) >= 0` for `> 0`, and `len(name) > 2 or ..` for `and` (any long option
    read as --threads), in _set_threads: `--threads 0` and `--backend=4` are refused (exit 2),
    and a caller that runs main in its own process keeps its BLAS environment as it was, not
    OPENBLAS_NUM_THREADS=0 or 4 for the next NumPy it starts."""
    for var in cli.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--threads", "0", "tasks"])
    assert exit_.value.code == 2 and "--threads: must be an integer >= 1" in capsys.readouterr().err
    assert all(var not in cli.os.environ for var in cli.THREAD_VARS)
    assert cli.main(["--backend=4", "tasks"]) == 2  # no backend named 4; and no thread count
    assert "unknown backend '4'" in capsys.readouterr().err
    assert all(var not in cli.os.environ for var in cli.THREAD_VARS)


def test_a_warning_not_the_librarys_is_shown_as_python_would(capsys):
    """Kills the deleted `show(message, category, *rest)` in _note: a warning of another library
    (a DeprecationWarning, or a RuntimeWarning that is no overflow) reaches Python's own display
    with its file and line, rather than vanishing; the library's own notes are not shown so."""
    shown = []
    for message, category in [("old API", DeprecationWarning), ("x is slow", RuntimeWarning)]:
        cli._note("train", lambda *a: shown.append(a), [], message, category, "f.py", 3)
    assert shown == [("old API", DeprecationWarning, "f.py", 3),
                     ("x is slow", RuntimeWarning, "f.py", 3)]  # fmt: skip
    assert capsys.readouterr().err == ""


def test_only_options_given_numbers_are_named_in_an_overflow_note():
    """Kills `_is_number` returning True for text that is no number: the note names `--lr 1e20`
    and `--epochs=1` as typed, not `--task copy` or `--quiet` (a flag, followed by an option)."""
    argv = ["train", "--task", "copy", "--quiet", "--lr", "1e20", "--epochs=1"]
    assert cli._numbers_given(argv) == ["--lr 1e20", "--epochs 1"]


def test_python_m_minis2s_cli_runs_the_command():
    """Kills the deleted `sys.exit(main())` under `if __name__ == "__main__"`: `python -m
    minis2s.cli tasks`, as cli.py's docstring names it the entry point, lists the tasks (the
    reverse-digits task among them) rather than printing nothing."""
    done = subprocess.run([sys.executable, "-m", "minis2s.cli", "tasks"], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reverse-digits") or "\nreverse-digits " in done.stdout


# --- data/vectors.py ------------------------------------------------------------------------------


def test_read_vectors_names_the_python_fix_by_default(tmp_path):
    """Kills `cli: bool = True` in read_vectors: called from Python, a file of 2-number vectors
    for a model of emb=3 is refused with ModelConfig's word for the fix (emb=2), not train's
    --emb, an option of a command line the caller never typed."""
    path = tmp_path / "v.txt"
    path.write_text("the 0.1 0.2\ndog 0.3 0.4\n")
    with pytest.raises(ValueError, match="make the model with emb=2") as refused:
        read_vectors(path, dim=3)
    assert "--emb" not in str(refused.value)

"""A fuzzer of the command line, kept as a test: a command, one of its options read from the
parser itself (so an option added later is drawn too), a plausible mistake for its value (0, -1,
nan, a huge number, '', a missing path, a directory, a file of garbage). Whatever the draw,
`minis2s` exits 0, or exits 2 with one line of its own on stderr: never a traceback, nor Python's
multi-line warnings. Only cheap paths: train's data is missing (its options are checked before
its data is read, so it never trains), and the other commands read a tiny run on 8 pairs.

tests/test_cli_fuzz_found.py holds what a longer run of this fuzzer found, one test each."""

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from minis2s.cli import build_parser, main

TSV = "".join(f"{s}\t{s[::-1]}\n" for s in ("a b", "c", "b c a", "a", "c b", "a a b", "b", "c c"))
TINY = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]
COMMANDS = ("train", "translate", "evaluate", "score", "vectors", "average", "tasks")
NUMBERS = ("0", "-1", "-0", "0.5", "2.5", "1e-400", "1e20", "1e309", "nan", "inf", "-inf",
           "99999999999999999999", "0x10", "")  # fmt: skip
PARSER = build_parser()
# the note of translate and evaluate (translate_commands.note_cut) on outputs that ran to the
# maximum length, as the tiny run's do: its own line, in the form of its other notes
CUT_NOTE = re.compile(r"note: .+ reached the maximum length \(.+\) without </s>: cut there")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """A corpus, a run trained on it, and wrong things to give where either is wanted."""
    d = tmp_path_factory.mktemp("cli-fuzz")
    (d / "tiny.tsv").write_text(TSV)
    assert main(["train", "--data", str(d / "tiny.tsv"), *TINY, "--out", str(d / "run")]) == 0
    (d / "garbage").write_bytes(bytes(range(256)))
    (d / "empty").write_text("")
    (d / "notab").write_text("one line without a tab\n")
    (d / "dir").mkdir()
    names = ("tiny.tsv", "run", "garbage", "empty", "notab", "dir", "missing")
    return {name: str(d / name) for name in names} | {"best": str(d / "run" / "best")}


def _base(command: str, f: dict[str, str], out: str) -> list[str]:
    """A command line of `command` that works, but train's, whose --data is missing."""
    return {
        "train": ["--data", f["missing"], *TINY, "--out", out],
        "translate": ["--checkpoint", f["run"]],
        "evaluate": ["--checkpoint", f["run"], "--data", f["tiny.tsv"]],
        "score": ["--checkpoint", f["run"], "--data", f["tiny.tsv"]],
        "vectors": ["--checkpoint", f["run"], "--out", out],
        "average": ["--checkpoint", f["best"], "--out", out],
        "tasks": [],
    }[command]


@st.composite
def command_lines(draw) -> tuple[str, list[str]]:
    """(command, one option as typed with its values): an option of the command's parser, each
    value one of NUMBERS, a path of `files` (by name, as `<run>`: the test fills it in) or one
    of the option's choices."""
    command = draw(st.sampled_from(COMMANDS))
    options = [a for a in PARSER.commands[command]._actions if a.option_strings]
    action = draw(st.sampled_from([a for a in options if "-h" not in a.option_strings]))
    flag = action.option_strings[-1 if action.nargs == 0 else 0]
    values = st.sampled_from(
        [*NUMBERS, *(f"<{n}>" for n in ("tiny.tsv", "best", "garbage", "empty", "notab", "dir")),
         "<missing>", *(action.choices or ())]
    )  # fmt: skip
    count = {None: 1, "?": 1, "+": draw(st.integers(1, 2)), "*": 1}.get(action.nargs, action.nargs)
    return command, [flag, *draw(st.lists(values, min_size=count, max_size=count))]


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's refusals
        status = e.code
    return status, capsys.readouterr().err


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command_lines())
@example(("evaluate", ["--by-length", "99999999999999999999"]))  # test_cli_fuzz_found.py
def test_a_bad_value_gets_exit_0_or_one_line_of_minis2s(
    files, tmp_path, monkeypatch, capsys, drawn
):
    monkeypatch.chdir(tmp_path)  # an --out of NUMBERS (`--out 0`) is written here
    command, option = drawn
    option = [files[v[1:-1]] if v.startswith("<") and v.endswith(">") else v for v in option]
    out = str(tmp_path / f"out-{len(list(tmp_path.iterdir()))}")
    base = _base(command, files, out)
    if option[0] in base and option[0] != "--checkpoint":  # drawn in place of base's own
        i = base.index(option[0])
        base = base[:i] + base[i + (2 if option[1:] else 1) :]  # (a flag has no value)
    text = ["--", "a b"] if command == "translate" else []  # its sentence, after its options
    status, err = _run([command, *base, *option, *text], capsys)
    assert "Traceback" not in err and "Warning:" not in err, err
    assert status in (0, 2), (status, err)
    said = [
        line
        for line in err.splitlines()
        if not line.startswith(("usage: ", " ")) and not CUT_NOTE.fullmatch(line)
    ]
    assert all(line.startswith(f"minis2s {command}: ") for line in said), err  # its own lines
    if status == 2:  # refused in one line (argparse's usage lines before it), after any notes
        assert said and said[-1].startswith(f"minis2s {command}: error: "), err
        assert all(": note: " in line for line in said[:-1]), err

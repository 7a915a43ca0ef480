"""Every option of every command, given a bad value, is refused with one line that names it:
`minis2s CMD: error: ...`, never a traceback, a run to the end on a value that means nothing, or
an allocation that cannot succeed."""

import pytest

from minis2s.cli import main

TINY = [
    "--task", "reverse-digits", "--train-size", "40", "--dev-size", "10", "--epochs", "1",
    "--hidden", "8", "--emb", "8", "--quiet", "--show", "0",
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad-values") / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    return str(out)


def refusal(capsys, argv: list[str]) -> str:
    """The one line of stderr with which `minis2s` refused `argv` (exit status 2)."""
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's refusal
        status = e.code
    err = capsys.readouterr().err
    assert status == 2, f"{argv} was not refused (exit {status}); stderr: {err[-300:]}"
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "options,named",
    [
        (["--beam", "2", "--nbest", "3"], "--nbest 3 is more than --beam 2"),
        (["--sample", "--temperature", "0"], "argument --temperature: must be a finite number > 0"),
        (["--sample", "--temperature", "-1"], "argument --temperature: must be"),
        (["--beam", "2", "--coverage-penalty", "-1"], "argument --coverage-penalty: must be a"),
        (["--max-len-a", "-1"], "argument --max-len-a: must be a finite number >= 0"),
        (["--max-len-a", "0", "--max-len-b", "0"], "--max-len-a 0 and --max-len-b 0"),
    ],
)
def test_decoding_values_are_refused_naming_the_option(run, capsys, options, named):
    line = refusal(capsys, ["translate", "--checkpoint", run, *options, "123"])
    assert line.startswith("minis2s translate: error: ") and named in line, line


def test_a_blank_path_is_refused_as_an_empty_one(run, tmp_path, capsys, monkeypatch):
    """`--out " "` made a directory named " " where the command ran."""
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, ["vectors", "--checkpoint", run, "--out", " "])
    assert "argument --out: a blank path" in line, line
    assert list(tmp_path.iterdir()) == []


def test_a_beam_too_large_to_allocate_is_one_line_not_a_traceback(run, capsys):
    line = refusal(capsys, ["translate", "--checkpoint", run, "--beam", str(10**12), "123"])
    assert line.startswith("minis2s translate: error: out of memory"), line


@pytest.mark.parametrize("option", ["--enc-layers", "--dec-layers"])
def test_a_stack_too_deep_for_memory_is_refused_before_it_is_built(tmp_path, capsys, option):
    """10**12 layers of H = 8 were built one by one for ever (no single allocation too large)."""
    argv = ["train", *TINY, "--out", str(tmp_path / "run"), option, str(10**12)]
    line = refusal(capsys, argv)
    assert line.startswith("minis2s train: error: ") and f"{option} 1000000000000" in line, line
    assert "more than this machine's" in line and not (tmp_path / "run").exists()

"""`refusal`: how the command-line tests read a refusal of `minis2s`."""

from minis2s.cli import main


def refusal(capsys, argv: list[str]) -> str:
    """The last line of stderr with which `minis2s` refused `argv` (exit status 2, argparse's
    own refusals included), checked to hold no traceback."""
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's refusal
        status = e.code
    err = capsys.readouterr().err
    assert status == 2, f"{argv} was not refused (exit {status}); stderr: {err[-300:]}"
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]

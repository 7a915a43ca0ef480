"""The README's promises: its two opening commands, and its gradient-check recipe and training
loop run as shown; every command it shows is one the command line accepts."""

import re
import shlex
from pathlib import Path

import pytest

from minis2s.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_opens_with_install_and_run_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line.startswith("pip install")]
    assert commands[0].startswith('pip install -e ".[all]" && minis2s train --task')
    assert commands[1] == 'pip install -e ".[test]" && python -m pytest'


def test_gradcheck_recipe_runs():
    recipe = README.split("Checking a layer of your own", 1)[1]
    code = re.search(r"```python\n(.*?)```", recipe, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # raises if any rel_error >= 1e-7
    assert set(namespace["errors"]) == {"x", "w"}


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -e ".[test]" && python -m pytest' in ci


def test_the_fused_kernel_shown_is_the_one_in_the_code():
    shown = README.split("### The cupy backend", 1)[1]
    code = re.search(r"```python\n(.*?)```", shown, re.S).group(1)
    source = (Path(__file__).parent.parent / "minis2s/kernels/cupy_lstm.py").read_text("utf-8")
    equations = [line.strip() for line in code.splitlines() if re.match(r"\s+\w+ = ", line)]
    assert len(equations) >= 3
    for line in equations:
        assert f"        {line}\n" in source, line  # a line of the kernel's body


def test_the_training_loop_written_out_runs_and_learns(capsys):
    shown = README.split("The whole training loop, written out", 1)[1]
    code = re.search(r"```python\n(.*?)```", shown, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    losses = [float(line.rsplit(" ", 1)[1]) for line in lines[:4]]
    assert [line.split(":")[0] for line in lines[:4]] == [f"epoch {e}" for e in range(4)]
    assert losses[3] < losses[0] / 2  # it learns (the loss per token starts near log 14 = 2.6)
    assert len(lines) == 5 and lines[4].isdigit()  # a translation: digits only, no specials


def bash_commands() -> list[str]:
    """Every `minis2s ...` command in the README's bash blocks, from "minis2s" to the line's end
    (after `pip install ... &&` or `echo ... |`), its comment dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    lines = [ln for block in blocks for ln in block.splitlines()]
    return [ln[ln.index("minis2s ") :] for ln in lines if re.search(r"(^|&& |\| )minis2s ", ln)]


def test_every_command_in_the_readme_parses(capsys):
    """The README's commands are ones the command line accepts (parsed only: nothing runs);
    "Things to try" alone has 20 and more."""
    commands = bash_commands()
    section = README.split("\n## Things to try\n", 1)[1].split("\n## ", 1)[0]
    assert len([c for c in commands if c in section]) >= 20
    parser = build_parser()
    for line in commands:
        try:
            parser.parse_args(shlex.split(line, comments=True)[1:])
        except SystemExit:  # argparse's exit on a misspelt option or a bad value
            pytest.fail(f"{line}\n{capsys.readouterr().err}")


def test_the_script_of_things_to_try_15_runs(capsys, monkeypatch):
    """Its first update's line, as the table shows it, on 3 updates instead of 301."""
    shown = README.split("Why a larger softmax costs so much", 1)[1]
    code = re.search(r"```python\n(.*?)```", shown, re.S).group(1)
    assert "[:301]" in code
    monkeypatch.setattr("sys.argv", ["x", "shared", "0"])
    monkeypatch.setattr("minis2s.threads.set_blas_threads", lambda n: None)  # the suite's own
    exec(compile(code.replace("[:301]", "[:3]"), "README.md", "exec"), {})
    assert capsys.readouterr().out.split() == "0 dev loss 4.09 |h~| > 0.99: 0.00 enc 0.086".split()

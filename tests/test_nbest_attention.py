"""`translate --show-attention --nbest N` draws one grid under each n-best line, the best
hypothesis's (tests/test_cli.py and test_mutation_gaps.py hold the grid to be that one): the
help and the README say so, and the README's way to see every hypothesis's weights in Python
gives each its own grid."""

import re
from pathlib import Path

from minis2s import viz
from minis2s.api import Translator
from minis2s.cli_parser import build_parser
from tests.tiny_run import train_tiny

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_help_says_which_hypothesis_the_grid_is():
    translate = build_parser().commands["translate"]
    [action] = [a for a in translate._actions if "--show-attention" in a.option_strings]
    assert "with --nbest, the best" in action.help


def test_the_readme_says_which_hypothesis_the_grid_is():
    section = README[README.index("`translate --show-attention` prints") :]
    section = section[: section.index("`translate` reads its sentences")]
    assert re.search(r"With `--nbest N` the grid under the n-best line is the best", section)


def test_the_readmes_python_gives_each_hypothesis_its_grid(tmp_path):
    """The recipe the README gives for the grids --show-attention leaves out: each hypothesis's
    rows are its own tokens and </s>, its columns the source's."""
    tr = Translator.load(train_tiny(tmp_path / "run"))
    hyps = tr.translate(["1234"], method="beam", beam_size=3, nbest=3)[0]
    grids = [viz.attention_text(t.attention, t.src_tokens, t.tokens) for t in hyps]
    for t, grid in zip(hyps, grids, strict=True):
        rows = grid.splitlines()[1:]  # under the source's one line of one-character tokens
        assert [row.split()[0] for row in rows] == [*t.tokens, "</s>"][: len(rows)]
        assert len(rows) == len(t.attention) and t.attention.shape[1] == len(t.src_tokens)
    assert len(set(grids)) == len(hyps)  # three hypotheses, three grids

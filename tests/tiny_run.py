"""The tiny run the command-line tests train: reverse-digits, 64 training pairs, one epoch of a
model of 8 units (a second or two on one core), printing nothing but what a test asks for; and a
copy of such a run whose saved config a test edits by hand, or one that never ends a sentence."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from minis2s.cli import main
from minis2s.data.vocab import EOS_ID
from minis2s.train import checkpoint

TINY = [
    "--task", "reverse-digits", "--train-size", "64", "--epochs", "1", "--hidden", "8",
    "--emb", "8", "--dev-size", "16", "--batch-size", "32", "--show", "0", "--quiet",
]  # fmt: skip


def train_tiny(out: Path, *options: str) -> Path:
    """`minis2s train` of TINY (and `options`) into `out`, which it returns."""
    assert main(["train", *TINY, *options, "--out", str(out)]) == 0
    return out


def copy_with_state(run: Path | str, tmp_path: Path, edit: Callable[[dict], object]) -> Path:
    """A copy of `run` (at tmp_path/run) whose best/state.json's config went through `edit`, as
    if edited by hand; its path."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    state = copy / "best" / "state.json"
    saved = json.loads(state.read_text())
    edit(saved["config"])
    state.write_text(json.dumps(saved))
    return copy


def never_ending(run: Path, out: Path) -> Path:
    """A copy of `run`'s best checkpoint at `out` made never to choose </s> (its output bias
    -1e4), so that every output is cut at the maximum length; `out`."""
    ckpt = checkpoint.load(run / "best")
    ckpt.params["out.b"][EOS_ID] = -1e4
    checkpoint.save(out, ckpt.params, ckpt.config, vocabs=ckpt.vocabs)
    return out

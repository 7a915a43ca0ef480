"""The tiny run the command-line tests train: reverse-digits, 64 training pairs, one epoch of a
model of 8 units (a second or two on one core), printing nothing but what a test asks for."""

from pathlib import Path

from minis2s.cli import main

TINY = [
    "--task", "reverse-digits", "--train-size", "64", "--epochs", "1", "--hidden", "8",
    "--emb", "8", "--dev-size", "16", "--batch-size", "32", "--show", "0", "--quiet",
]  # fmt: skip


def train_tiny(out: Path, *options: str) -> Path:
    """`minis2s train` of TINY (and `options`) into `out`, which it returns."""
    assert main(["train", *TINY, *options, "--out", str(out)]) == 0
    return out

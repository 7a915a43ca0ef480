"""The argparse types of the command line's options (`type=` in cli_parser.py, cli_decoding.py
and the train options cli_options.py generates): a path, free text, counts and numbers in their
ranges. Each refuses what argparse would take and the command misread ('' from an unset shell
variable, nan, a negative count) with what to give, which argparse prints after the option's
name. Imports no NumPy (see cli --threads)."""

from __future__ import annotations

import argparse
import math


def path(text: str) -> str:
    """argparse type for a file or directory option: any path but '' (what `--out "$RUN"` gives
    with RUN unset), which train took for no --out and the others failed on, naming nothing,
    only whitespace, or one starting with '-': argparse takes `-1` as a value because it reads as
    a negative number, so `train --out -1` made a directory named -1 (a value left out, most
    likely, or meant for another option); `./-1` names such a file."""
    if text == "":
        raise argparse.ArgumentTypeError("an empty path (an unset shell variable?); give a path")
    if not text.strip():  # `--out " "` made a directory named " " where the command ran
        raise argparse.ArgumentTypeError(f"a blank path {text!r} (a stray quote?); give a path")
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(
            f"{text} starts with '-' as an option does (a value left out?); give a path, or "
            f"./{text} for a file or directory named so"
        )
    return text


def text(value: str) -> str:
    """argparse type for free text such as gradcheck --only: anything but '', which (an unset
    shell variable) matched every case, as if the option were left out."""
    if value == "":
        raise argparse.ArgumentTypeError("empty (an unset shell variable?); give a value")
    return value


def positive_int(text: str) -> int:
    """argparse type for counts such as --threads: an integer >= 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return int(text)


def non_negative_int(text: str) -> int:
    """argparse type for --seed, --eval-every (0 = off), --beam (0 = greedy), --top-k (0 = all),
    --show: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


def positive_fraction(text: str) -> float:
    """argparse type for --top-p: a number in (0, 1] (a share of the probability)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:  # False for nan
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1]; got {text!r}")
    return value


def _number(text: str) -> float:
    """`text` as a float; NaN where it is none (which every range check below refuses)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def finite_float(text: str) -> float:
    """argparse type for --alpha: a number, not nan or inf (they would decode every sentence to
    nothing)."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type for --coverage-penalty and --max-len-a: a finite number >= 0 (a negative
    beta would reward outputs that leave source words unattended; a negative a would cut the
    outputs of longer sources shorter)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0; got {text!r}")
    return value + 0.0  # -0.0 as 0.0


def positive_float(text: str) -> float:
    """argparse type for --temperature: a finite number > 0 (p^(1/T) is undefined at 0; greedy
    decoding is what T -> 0 tends to)."""
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number > 0; got {text!r} (for the most probable token, leave out "
            "--sample: greedy decoding)"
        )
    return value

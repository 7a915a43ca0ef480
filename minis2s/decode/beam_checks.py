"""The checks of beam search's options, apart from the search's steps: beam_size, nbest,
length_penalty, alpha and beta in range, a beam that fits in memory, beta only with attention.
beam_search runs them on its arguments; translate and the command line (_decoding_checks.py,
command_translations.py, cli_decoding.py) run them in their own words (`where`, `name`) before
any source is decoded."""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s import validate
from minis2s.decode.common import MAX_STEPS

PENALTIES = ("none", "average", "gnmt")
MAX_ALPHA = 10.0  # ((5 + L) / 6)^alpha stays within float for any L up to MAX_STEPS


def check_options(
    beam_size: int,
    nbest: int,
    length_penalty: str,
    alpha: float,
    beta: float,
    where: str = "beam_search",
) -> None:
    """Raise ValueError, naming the option and its range, for any option out of range; a message
    starts with `where`, the call the user made (translate checks its options with these)."""
    validate.integer(where, "beam_size", beam_size, 1)
    validate.integer(where, "nbest", nbest, 1)
    if nbest > beam_size:
        raise ValueError(f"{where}: need 1 <= nbest <= beam_size; got {nbest}, {beam_size}")
    if length_penalty not in PENALTIES:
        raise ValueError(
            f"{where}: length_penalty {length_penalty!r}; choose one of {', '.join(PENALTIES)}"
        )
    check_alpha(alpha, where)
    validate.finite(where, "beta", beta)
    if beta < 0:
        raise ValueError(
            f"{where}: beta must be >= 0 (GNMT's is 0.2; a negative one would reward outputs "
            f"that leave source words unattended); got {beta}"
        )


def check_alpha(alpha: float, where: str = "beam_search", name: str = "alpha") -> None:
    """alpha, GNMT's length penalty exponent, is finite and within MAX_ALPHA; a message starts
    with `where` (none when empty) and calls it `name` (the command line's --alpha)."""
    validate.finite(where, name, alpha)
    if abs(alpha) > MAX_ALPHA:
        at = f"{where}: " if where else ""
        raise ValueError(
            f"{at}{name} must be in [-{MAX_ALPHA:g}, {MAX_ALPHA:g}] (GNMT's is 0.6 to 1; "
            f"beyond, the penalty overflows); got {alpha}"
        )


def target_vocab(model: Any) -> int:
    """V, the model's target vocabulary size; 1 for a scripted test model, which has none."""
    return getattr(getattr(model, "cfg", None), "tgt_vocab", 1)


def check_fits(
    N: int,
    beam_size: int,
    V: int,
    where: str = "beam_search",
    name: str = "beam_size",
    limits: Any = None,
) -> None:
    """TooLarge unless N sentences' hypotheses of V log-probabilities fit in memory at the width
    the search runs: beam_size, or with `limits` (N,) the sentences' length limits, the
    narrower `beam.widest(V, limits, beam_size)` that decodes alike (`--beam 65536` over 5
    tokens runs 6 a sentence). A message starts with `where` and calls beam_size `name` (or
    with `name` alone when `where` is empty: the command line's --beam)."""
    from minis2s.decode.beam import widest  # beam.py imports this module

    K = beam_size if limits is None else widest(V, np.asarray(limits), beam_size)
    label = f"{name} {beam_size}" if name.startswith("-") else f"{name}={beam_size}"
    if K < beam_size:
        label += f" (searched at width {K}, as wide as outputs of these lengths need)"
    what = f"{N} x {K} hypotheses of {V} log-probabilities each"
    if where:
        validate.fits(where, f"{label}: {what}", 8.0 * N * K * V)
    else:
        validate.fits(label, what, 8.0 * N * K * V)


def shortest_limits(max_len_a: float, max_len_b: float) -> np.ndarray:
    """(1,) the length limit of a one-token source, the shortest any source has, for the checks
    made before the sources are read: the search's width there (check_fits with these limits)
    is the narrowest it runs any batch at, so a beam that does not fit there fits no sources.
    Capped at MAX_STEPS, past which check_steps refuses the sources."""
    return np.array([int(min(max(1.0, np.floor(max_len_a + max_len_b)), MAX_STEPS))])


def check_coverage(beta: float, attends: bool, where: str = "beam_search") -> None:
    """beta (GNMT's coverage penalty) is 0 for a model without attention (`attends` False),
    which gives no coverage to weigh."""
    if not attends and beta != 0.0:
        raise ValueError(
            f"{where}: beta={beta} weighs the attention each source word got, but this "
            "model has no attention; leave beta at 0"
        )

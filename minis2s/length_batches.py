"""`Translator.translate`'s batching: decode the sources in batches of similar length, and give
the outputs back in the caller's order.

A batch pads to its longest source, and greedy or beam decoding runs until its longest output
ends (or reaches its length limit), so a batch that mixes a 3-token source with a 60-token one
spends most of its steps on padding and on sentences that have already ended. Sorted by source
length (tokens; frames for a feature model) and then cut into batches of `batch_size`, a batch
holds sentences that encode in about as many steps and, mostly, end at about the same step.

A sentence's output does not depend on the sentences that share its batch: a padded step leaves
the encoder's states unchanged and gets attention weight 0, each sentence stops at its own EOS
and length limit, beam search prunes each sentence's hypotheses apart from the others', and
sampling draws from the sentence's own stream, `default_rng([seed, i])`, i its place in the
caller's list (as before sorting, so a seed gives the samples it gave before). What may change is
float rounding: a matrix product over another set of rows can round the last bit differently
(BLAS picks its kernel by shape), so where two tokens' log-probabilities tie to within float32's
rounding, or a draw falls that close to a boundary, a float32 model may choose the other token;
in float64 the outputs equal those of each sentence decoded alone (tests/test_length_batches.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minis2s.data.batching import pad, pad_features
from minis2s.decode import beam_search, greedy, sample
from minis2s.decode.common import Hypothesis, NoHypothesis, source_lengths

if TYPE_CHECKING:
    from minis2s.api import Translator


def encode_each(
    tr: Translator,
    sources: Sequence[Any],
    batch_size: int,
    *,
    where: str = "translate",
    count: bool = True,
) -> tuple[list[np.ndarray], list[list[str]]]:
    """Each source's ids (S_i,) or frames (S_i, F) without padding, and its tokens, in the
    caller's order. They are read `batch_size` at a time by `tr.encode_sources`, which validates
    them (an error names `where` and the caller's index, `sources[i] (sentence i+1)`) and, with
    `count`, counts them in `tr.unknown`, in the caller's order, before any is decoded."""
    rows: list[np.ndarray] = []
    tokens: list[list[str]] = []
    for start in range(0, len(sources), batch_size):
        chunk = sources[start : start + batch_size]
        src, mask, toks = tr.encode_sources(chunk, start, where=where, count=count)
        rows += [src[n, :S].copy() for n, S in enumerate(source_lengths(mask))]  # not the padding
        tokens += toks
    return rows, tokens


def sorted_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices 0..N-1 sorted by `lengths`, shortest first, cut into batches of `batch_size` (the
    last may be smaller). The sort is stable: sources of equal length keep the caller's order."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def decode(
    model: Any,
    rows: Sequence[np.ndarray],
    *,
    method: str,
    batch_size: int,
    nbest: int,
    seed: int,
    options: dict[str, Any],
    places: Sequence[int] | None = None,
) -> list[list[Hypothesis]]:
    """Decode `rows` (as `encode_each` gives them) with `method` ("greedy", "beam" or "sample",
    its keyword `options`) in batches `sorted_by_length`: [[Hypothesis]] per row, in the order of
    `rows`. Row i samples from `default_rng([seed, places[i]])` (places: 0..N-1 unless given).
    NoHypothesis names `sources[i]`."""
    places = range(len(rows)) if places is None else places
    features = model.cfg.src_features > 0
    out: list[Any] = [None] * len(rows)
    for index in sorted_by_length([len(r) for r in rows], batch_size):
        batch = [rows[i] for i in index]
        src, mask = pad_features(batch) if features else pad(batch)
        try:
            if method == "greedy":
                hyps = greedy(model, src, mask, **options)
            elif method == "beam":
                hyps = beam_search(model, src, mask, nbest=nbest, **options)
            else:  # each sentence its own stream: its sample is the same in any batch
                rngs = [np.random.default_rng([seed, places[i]]) for i in index]
                hyps = sample(model, src, mask, rng=rngs, **options)
        except NoHypothesis as e:  # named by its place in sources, not in the batch
            i = index[e.n]
            raise NoHypothesis(i, f"sources[{i}]", where=e.where) from None
        for i, h in zip(index, hyps, strict=True):
            out[i] = h
    return out

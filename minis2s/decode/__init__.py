"""Decoding as free functions over a model: greedy, beam search, sampling.

Each takes a model with `encode(src, src_mask) -> state`, `step(y_prev, state, *,
ids_checked=False) -> (logp (N, V), state, attention (N, S) or None)` and
`select(state, idx, same_sources=False)` (as minis2s.models.Seq2Seq has them; the decoders pass
`ids_checked=True`) and returns one list of `Hypothesis` per source sentence.
"""

from minis2s.decode.beam import beam_search
from minis2s.decode.common import Hypothesis
from minis2s.decode.greedy import greedy
from minis2s.decode.sample import sample

__all__ = ["Hypothesis", "greedy", "beam_search", "sample"]

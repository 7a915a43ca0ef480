"""The state a Seq2Seq decodes from, step by step: the encoder's outputs and the decoder's
running state (`DecodeState`, which `Seq2Seq.encode` makes and `Seq2Seq.step` advances), and
`select`, which takes some of its rows: beam search keeps the rows of the hypotheses it goes on
with (`Seq2Seq.select`, the same function; models/ensemble.py selects each member's state with it).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class DecodeState(NamedTuple):
    """What a decoding step needs: the encoder's outputs and the decoder's running state.

    A state belongs to the parameters `encode` read (enc, keys and dec_params are theirs): after
    changing the parameters, encode again (each decoder call does)."""

    enc: Any  # (N, S, He)
    src_mask: Any  # (N, S)
    states: list  # per decoder layer
    out: Any  # (N, H) h~ of the previous step (input feeding)
    keys: Any = None  # (N, S, Hk) attention keys of enc, computed once in encode()
    dec_params: Any = None  # decoder.step_params made in encode() (numba: + W^T); None: per step


def select(state: DecodeState, index: Any, *, same_sources: bool = False) -> DecodeState:
    """The state of rows `index` (N',) of `state`: reorders hypotheses in beam search.

    `same_sources=True` promises that each new row reads a row with the same source sentence
    (beam search reorders the hypotheses of each sentence among themselves): the
    per-sentence fields enc, src_mask and keys then hold the same values in every row, so
    they are kept as they are rather than gathered again (a copy of (N', S, He) per step).
    dec_params, the same for every row, is kept either way.
    """

    def take(a: Any) -> Any:
        if a is None:  # keys without attention
            return None
        if isinstance(a, tuple):
            return tuple(take(x) for x in a)
        if isinstance(a, list):
            return [take(x) for x in a]
        return a[index]

    rows = state._replace(states=take(state.states), out=take(state.out))
    if same_sources:
        return rows
    return rows._replace(enc=take(state.enc), src_mask=take(state.src_mask), keys=take(state.keys))

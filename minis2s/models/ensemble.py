"""An ensemble of Seq2Seq models that decodes as one: its next-token distribution is the mean of
its members' (OpenNMT-py's `translate -model a.pt b.pt`, fairseq's `--path a.pt:b.pt`).

    p(y_t | y_<t, x) = (1/M) sum_m p_m(y_t | y_<t, x)

Each member runs its own encoder and keeps its own decoder state (its own input feeding and
attention); only the distributions meet. The ensemble has `encode`, `step` and `select` as
`Seq2Seq` has them, so greedy decoding, beam search (penalties, n-best) and sampling take it in
a model's place. It lives beside Seq2Seq, not in decode/, because to the decoders it is a model:
they stay free functions over "something with encode, step and select".

Members may differ in architecture (cell, sizes, attention kind) but must share what the
distributions are over and read: the vocabularies and (in `Translator.load_ensemble`) the
tokenizer, a source of the same kind (ids or F features), and one dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.backend import get_array_module
from minis2s.models.config import ModelConfig
from minis2s.models.seq2seq import Seq2Seq


class EnsembleState(tuple):
    """The members' DecodeStates, in member order: a tuple, with `enc` the first member's
    encoder outputs (N, S, He) (the decoders read their array module from it)."""

    @property
    def enc(self) -> Any:
        return self[0].enc


class Ensemble:
    """M Seq2Seq `members` decoding as one model; `names` (the checkpoints they came from, or
    any labels) name them in error messages."""

    def __init__(self, members: Sequence[Seq2Seq], names: Sequence[str] | None = None) -> None:
        self.members = list(members)
        self.names = [f"member {m}" for m in range(len(self.members))] if names is None else names
        self.names = [str(n) for n in self.names]
        if not self.members:
            raise ValueError("Ensemble: no members; give at least one Seq2Seq model")
        if len(self.names) != len(self.members):
            raise ValueError(
                f"Ensemble: {len(self.names)} names for {len(self.members)} members; give one "
                "name per member, or none"
            )
        for m, member in enumerate(self.members):
            if not isinstance(member, Seq2Seq):
                raise ValueError(
                    f"Ensemble: {self.names[m]} is {type(member).__name__}, not a Seq2Seq model"
                )
        for m in range(1, len(self.members)):
            self._check_member(m)

    def _check_member(self, m: int) -> None:
        """Member m reads and writes what member 0 does, in its dtype."""
        first, other = self.members[0], self.members[m]
        fields = {"src_vocab": "source vocabulary size", "tgt_vocab": "target vocabulary size",
                  "src_features": "source features (0: token ids)"}  # fmt: skip
        for field, what in fields.items():
            a, b = getattr(first.cfg, field), getattr(other.cfg, field)
            if a != b:
                raise ValueError(
                    f"Ensemble: {self.names[0]} and {self.names[m]} differ in {what} ({a} and "
                    f"{b}); the members of an ensemble read the same sources and average "
                    "distributions over one target vocabulary: train them on the same data"
                )
        if first.dtype != other.dtype:
            raise ValueError(
                f"Ensemble: {self.names[0]} is {first.dtype.name} and {self.names[m]} "
                f"{other.dtype.name}; give the members in one dtype (widen a float32 one: "
                "Seq2Seq(m.cfg, {k: v.astype('float64') for k, v in m.params.items()}, "
                "dtype='float64'); Translator.load_ensemble does so)"
            )

    @property
    def dtype(self) -> np.dtype:
        return self.members[0].dtype

    @property
    def cfg(self) -> ModelConfig:
        """The config that the checks of decoding options read (vocabulary sizes, src_features,
        attention): the first member's, or, when some member has no attention, the first such
        member's, since the ensemble then has no attention weights (`step`)."""
        for member in self.members:
            if member.cfg.attention == "none":
                return member.cfg
        return self.members[0].cfg

    def without_attention(self) -> list[str]:
        """The names of the members that have no attention (attention='none')."""
        return [
            n for n, m in zip(self.names, self.members, strict=True) if m.cfg.attention == "none"
        ]

    def encode(self, src: Any, src_mask: Any) -> EnsembleState:
        """Every member's `encode`: src (N, S) ids or (N, S, F) features, src_mask (N, S)."""
        return EnsembleState(member.encode(src, src_mask) for member in self.members)

    def step(
        self, y_prev: Any, state: EnsembleState, *, ids_checked: bool = False
    ) -> tuple[Any, EnsembleState, Any]:
        """One decoding step of every member: y_prev (N,) -> (log p (N, V), new state, attention
        (N, S) or None), with

            log p = log (1/M) sum_m p_m = c + log (1/M) sum_m exp(log p_m - c),  c = max_m log p_m

        (log-sum-exp: exp sees values <= 0 only, and a token that only some members rule out
        (log p_m = -inf) keeps the others' share; -inf where every member rules it out). The
        attention is the members' mean (N, S) when every member attends, else None."""
        steps = [
            member.step(y_prev, s, ids_checked=ids_checked)
            for member, s in zip(self.members, state, strict=True)
        ]
        logp = mean_of_probabilities([lp for lp, _, _ in steps])
        weights = [w for _, _, w in steps]
        attention = None
        if all(w is not None for w in weights):
            attention = get_array_module(weights[0]).stack(weights).mean(axis=0)  # (N, S)
        return logp, EnsembleState(s for _, s, _ in steps), attention

    def select(
        self, state: EnsembleState, index: Any, *, same_sources: bool = False
    ) -> EnsembleState:
        """Rows `index` (N',) of every member's state (`Seq2Seq.select`: beam search's
        reordering)."""
        return EnsembleState(Seq2Seq.select(s, index, same_sources=same_sources) for s in state)

    def token_logprobs(self, batch: Any) -> Any:
        """The ensemble's teacher-forced log p(y_t | y_<t, x) of every target token (N, T), 0 at
        padding (`Seq2Seq.token_logprobs`, what `Translator.score` reads). With the reference
        fed to every member, member m's p_m(y_t | y_<t, x) is its own token_logprobs entry, so
        the ensemble's is their mean of probabilities, as `step` takes it."""
        return mean_of_probabilities([member.token_logprobs(batch) for member in self.members])

    def num_params(self) -> int:
        return sum(member.num_params() for member in self.members)


def mean_of_probabilities(logps: Sequence[Any]) -> Any:
    """log((1/M) sum_m exp(logps[m])), elementwise, from M arrays of log-probabilities (N, V).

    Shifted by c = max_m logps[m] (0 where every member gives -inf, so no -inf - -inf): the
    mean of exp(log p_m - c) is in [1/M, 1] wherever c is finite. One member gives its own
    log-probabilities exactly, and M equal members too (their mean is exactly 1)."""
    xp = get_array_module(logps[0])
    stacked = xp.stack(logps)  # (M, N, V)
    c = stacked.max(axis=0)
    c = xp.where(xp.isneginf(c), xp.zeros_like(c), c)  # NaN stays NaN: the decoders refuse it
    with np.errstate(divide="ignore"):  # log(0) = -inf: every member rules the token out
        return c + xp.log(xp.exp(stacked - c).mean(axis=0))

"""Forced decoding: how likely a model finds a given translation, and a corpus's cross-entropy
and perplexity of its references.

Equations (a source x and target tokens y_1..y_T', with y_T = </s>, T = T' + 1):
    log p(y | x) = sum_{t=1..T} log p(y_t | y_<t, x)    teacher forcing: step t reads the
                                                        reference y_<t, not the model's choices
    H            = -sum_pairs log p(y | x) / sum_pairs T   cross-entropy, nats per token
    perplexity   = exp(H)                               V for a model that guesses uniformly

H is the loss the model is trained on (without label smoothing or dropout), so a test set's H
compares with the dev loss of the run's log. Decoding (`Translator.translate`) searches for an
output of high log p instead; the two differ where the model's own earlier tokens lead it
elsewhere than the reference's do. A target token that is not in the vocabulary is scored as
<unk>, as in training: a probability for "some unknown word", which flatters the score, so each
result counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from minis2s import _api_checks as checks
from minis2s import backend, length_batches, metrics, validate
from minis2s.data.batching import lazy_batches
from minis2s.data.vocab import EOS

if TYPE_CHECKING:
    from minis2s.api import Translator


class Score(NamedTuple):
    """One target's score under the model, given its source."""

    logprob: float  # log p(target | source) in nats, </s> included
    n_tokens: int  # the target's tokens and </s>
    token_logprobs: np.ndarray  # (n_tokens,) log p(y_t | y_<t, x), in the model's dtype
    tokens: list[str]  # the target as the tokenizer splits it, then "</s>"; unknown ones as written
    n_unknown: int  # tokens not in the target vocabulary, scored as <unk>

    @property
    def mean_logprob(self) -> float:
        """logprob / n_tokens: nats per token (minus this pair's cross-entropy)."""
        return self.logprob / self.n_tokens


class Summary(NamedTuple):
    """A corpus's figures over its scores."""

    pairs: int
    tokens: int  # target tokens, </s> included
    nll: float  # -sum of the pairs' logprob, nats
    cross_entropy: float  # nll / tokens: nats per token, the teacher-forced loss
    perplexity: float  # exp(cross_entropy); inf where that passes float64 (above 709.78 nats)
    unknown: int  # target tokens scored as <unk>


def score(
    tr: Translator,
    pairs: Sequence[tuple[Any, str]],
    *,
    batch_size: int = 64,
    count_sources: bool = True,
) -> list[Score]:
    """The Score of each (source, target string) pair: the target tokenized with tr's tokenizer,
    </s> appended, and every token's log-probability given the source and the tokens before it.

    Sources are read as `translate` reads them (text, or (S, F) frames for a feature model; an
    empty one is refused); `count_sources`: count their unknown tokens in tr.unknown, as
    translate does. An empty target is scored as </s> alone. The pairs go through the model in
    batches of `batch_size` sorted by length, as the trainer's dev loss does (less padding; a
    pair's score does not depend on the others in its batch).
    """
    checks.check_pairs(pairs, "score")
    validate.integer("score", "batch_size", batch_size, 1)
    validate.boolean("score", "count_sources", count_sources)
    tokens = [tr.tokenizer.tokenize(t) for _, t in pairs]
    sources, _ = length_batches.encode_each(  # in the caller's order: errors name its index
        tr, [s for s, _ in pairs], batch_size, where="score", count=count_sources
    )
    # (source ids (S,) or frames (S, F), target ids (T',)) as `batches` takes them
    examples = [(src, tr.tgt_vocab.encode(t)) for src, t in zip(sources, tokens, strict=True)]
    out: list[Any] = [None] * len(pairs)
    # rng None: sorted, not shuffled; each batch made when it is scored (50k pairs' are 1 GB)
    for batch in lazy_batches(examples, batch_size=batch_size):
        lp = backend.to_numpy(tr.model.token_logprobs(batch))  # (N, T), 0 at padding
        for row, i in zip(lp, batch.index, strict=True):
            row = row[: len(tokens[i]) + 1].copy()  # (T_i,) its own tokens and </s>
            out[i] = Score(float(row.sum(dtype=np.float64)), len(row), row, [*tokens[i], EOS],
                           tr.tgt_vocab.count_unknown(tokens[i]))  # fmt: skip
    return out


def summarize(scores: Sequence[Score]) -> Summary:
    """The corpus figures of `scores` (at least one): tokens and nll summed over the pairs, the
    cross-entropy nll / tokens and its perplexity (in float64, never an OverflowError)."""
    if not isinstance(scores, Sequence):  # None, a generator: a TypeError from len()
        raise ValueError(
            f"summarize: scores is {checks.describe(scores)}; give the list Translator.score "
            "returns (list(...) of a generator)"
        )
    if len(scores) == 0:
        raise ValueError("summarize: no scores; give the list Translator.score returns")
    for i, s in enumerate(scores):
        if not isinstance(s, Score):
            raise ValueError(
                f"summarize: scores[{i}] is {checks.describe(s)}; give the list of Score that "
                "Translator.score returns"
            )
    nll = -sum(s.logprob for s in scores)
    tokens = sum(s.n_tokens for s in scores)
    return Summary(len(scores), tokens, nll, nll / tokens, metrics.perplexity(nll, tokens),
                   sum(s.n_unknown for s in scores))  # fmt: skip


def reference_figures(
    tr: Translator, pairs: Sequence[tuple[Any, str]], batch_size: int = 64
) -> dict[str, Any]:
    """evaluate's figures of the references themselves: ref_loss (their cross-entropy, nats per
    token, as the dev loss), ref_ppl and ref_unknown (their tokens scored as <unk>). The sources
    are not counted in tr.unknown again: translating them counted them."""
    s = summarize(score(tr, pairs, batch_size=batch_size, count_sources=False))
    return {"ref_loss": s.cross_entropy, "ref_ppl": s.perplexity, "ref_unknown": s.unknown}

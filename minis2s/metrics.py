"""Evaluation metrics: exact match (overall and by source length), token accuracy, perplexity,
and BLEU / chrF via sacrebleu.

Every metric takes a list of hypotheses and a list of references of the same length, one
reference per hypothesis, and raises ValueError on empty or mismatched input. BLEU and chrF
score detokenized strings (what a user reads), so that the numbers compare with published
ones; they need the optional dependency sacrebleu (`pip install 'minis2s[eval]'`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import to_numpy


def exact_match(hyps: Sequence[Any], refs: Sequence[Any]) -> float:
    """Fraction in [0, 1] of hypotheses identical to their reference.

    Items are strings (compared character for character, whitespace included) or token
    sequences (lists, tuples or 1-D arrays of ids or strings, compared element by element;
    sequences of different lengths never match).
    """
    _check_pairs("exact_match", hyps, refs)
    same = sum(_as_key(h) == _as_key(r) for h, r in zip(hyps, refs, strict=True))
    return same / len(refs)


class Band(NamedTuple):
    """The n sentences whose source has lo..hi tokens (both included), and their exact match."""

    lo: int
    hi: int
    n: int
    exact_match: float


def exact_match_by_length(
    src_lengths: Sequence[int], hyps: Sequence[Any], refs: Sequence[Any], width: int
) -> list[Band]:
    """Exact match per band of `width` source lengths: 1..width, width+1..2*width, ...

    src_lengths: (N,) the number of tokens of each source, >= 1; hyps, refs: N items each, as
    `exact_match` takes them. Returns the bands from the shortest source's to the longest's, in
    order; a band that holds no sentence is left out (it has no exact match to give), so two test
    sets can give different bands: compare them by lo..hi. Weighted by n, the bands' exact
    matches average to `exact_match(hyps, refs)`.

        >>> exact_match_by_length([1, 2, 5], ["a", "b", "c"], ["a", "x", "c"], width=2)
        [Band(lo=1, hi=2, n=2, exact_match=0.5), Band(lo=5, hi=6, n=1, exact_match=1.0)]
    """
    _check_pairs("exact_match_by_length", hyps, refs)
    validate.integer("exact_match_by_length", "width (source tokens per band)", width, 1)
    L = _lengths(src_lengths, len(refs))
    # band k holds lengths k*width + 1 .. (k+1)*width; a width past the longest source (even
    # past int64, which NumPy's // cannot take) puts every sentence in band 0, as that does
    band = (L - 1) // min(width, int(L.max()))
    same = np.array([_as_key(h) == _as_key(r) for h, r in zip(hyps, refs, strict=True)])
    bands = []
    for k in np.unique(band).tolist():  # the bands that hold a sentence, in order
        in_k = band == k
        bands.append(
            Band(k * width + 1, (k + 1) * width, int(in_k.sum()), float(same[in_k].mean()))
        )
    return bands


def token_accuracy(
    hyp_ids: Sequence[Any], ref_ids: Sequence[Any], pad_id: int | None = None
) -> float:
    """Fraction of reference tokens that the hypothesis has at the same position.

    Definition: for every sentence n and every reference position t whose token is not
    `pad_id` (EOS included: stopping at the right place is part of the answer), the position
    is correct when hyp[n][t] == ref[n][t]. A hypothesis shorter than its reference gets the
    missing positions wrong; tokens beyond the reference's length are not counted (a too-long
    hypothesis is penalised only through the EOS position it got wrong). Returns
    correct / (number of non-pad reference tokens).

    hyp_ids, ref_ids: per-sentence id sequences (ragged lists), or (N, T) arrays such as the
    argmax predictions and targets of a teacher-forced batch, padded with `pad_id`.
    pad_id: the padding id to ignore in the references (None: count every position).
    """
    _check_pairs("token_accuracy", hyp_ids, ref_ids)
    if pad_id is not None:  # "0" or 2.5 never equals an id: every padding counted, silently
        validate.integer("token_accuracy", "pad_id", pad_id, None)
    correct = total = 0
    for n, (h, r) in enumerate(zip(hyp_ids, ref_ids, strict=True)):
        h, r = _ids(f"hyp_ids[{n}]", h), _ids(f"ref_ids[{n}]", r)
        valid = np.ones(len(r), bool) if pad_id is None else r != pad_id
        L = min(len(h), len(r))
        match = np.zeros(len(r), bool)
        match[:L] = h[:L] == r[:L]
        correct += int((match & valid).sum())
        total += int(valid.sum())
    if total == 0:
        raise ValueError("token_accuracy: the references hold no tokens (all empty or padding)")
    return correct / total


def perplexity(total_nll: float, n_tokens: int) -> float:
    """exp(total_nll / n_tokens): the exponentiated mean negative log-likelihood per token.

    total_nll: summed -log p (nats) over `n_tokens` tokens. Computed in float64 from Python
    numbers, so a float32 loss does not overflow at exp(88.7); the result is inf only when the
    mean is infinite or the perplexity exceeds float64's range (mean above 709.78 nats), and
    NaN when total_nll is NaN (a diverged run), never an OverflowError.
    """
    if isinstance(total_nll, bool | str) or not isinstance(total_nll, numbers.Real):
        raise ValueError(f"perplexity: total_nll must be a number (nats); got {total_nll!r:.40}")
    nll = float(total_nll)
    validate.integer("perplexity", "n_tokens (a count of tokens)", n_tokens, 1)
    if nll < 0:
        raise ValueError(f"perplexity: total_nll is a sum of -log p >= 0; got {total_nll!r}")
    mean = nll / float(n_tokens)
    try:
        return math.exp(mean)
    except OverflowError:  # above float64's largest number, about exp(709.78)
        return math.inf


CHUNK = 2000  # sentences whose references sacrebleu reads at once (_corpus_score)


def bleu(
    hyps: Sequence[str], refs: Sequence[str], tokenize: str = "13a", chunk: int = CHUNK
) -> float:
    """Corpus BLEU in [0, 100] with sacrebleu (one reference each). `tokenize` is sacrebleu's:
    "13a" (its default, for word-level text) or "char" (BLEU over characters: what a
    character-level task needs, where a whole output is one "word" and 4-grams of words
    would not exist). `force=True` keeps sacrebleu from warning that 100 lines end in " .":
    the strings are the tokenizer's own output and references alike (a "word" task such as
    en-es writes "perro viejo ."), not text someone forgot to detokenize. `chunk`: see
    `_corpus_score`."""
    _check_strings("bleu", hyps, refs)
    sacrebleu = _sacrebleu("bleu")
    known = list(sacrebleu.metrics.bleu.BLEU.TOKENIZERS)
    if tokenize not in known:
        raise ValueError(f"bleu: unknown tokenize {tokenize!r}; sacrebleu's are {', '.join(known)}")
    return _corpus_score(sacrebleu.metrics.BLEU(tokenize=tokenize, force=True), hyps, refs, chunk)


def chrf(hyps: Sequence[str], refs: Sequence[str], chunk: int = CHUNK) -> float:
    """Corpus chrF in [0, 100] with sacrebleu's defaults (character 6-grams, beta 2); `chunk`:
    see `_corpus_score`."""
    _check_strings("chrf", hyps, refs)
    return _corpus_score(_sacrebleu("chrf").metrics.CHRF(), hyps, refs, chunk)


def _corpus_score(metric: Any, hyps: Sequence[str], refs: Sequence[str], chunk: int) -> float:
    """`metric.corpus_score(hyps, [refs]).score` (sacrebleu's corpus_bleu, corpus_chrf), with
    the sentence statistics gathered `chunk` sentences at a time: a corpus score is a function
    of their sums, and sacrebleu holds the n-grams of every reference it is given at once
    (1.7 GB for 50k lines). A sacrebleu without these methods scores the corpus whole."""
    validate.integer("bleu / chrf", "chunk", chunk, 1)
    hyps, refs = list(hyps), list(refs)
    if not hasattr(metric, "_extract_corpus_statistics"):  # the reference, and the fallback
        return float(metric.corpus_score(hyps, [refs]).score)
    stats = []
    for i in range(0, len(hyps), chunk):
        stats += metric._extract_corpus_statistics(hyps[i : i + chunk], [refs[i : i + chunk]])
    return float(metric._aggregate_and_compute(stats).score)


def _sacrebleu(where: str) -> Any:
    try:
        import sacrebleu
    except ImportError as e:
        raise ImportError(
            f"{where} needs sacrebleu: pip install 'minis2s[eval]' (or pip install sacrebleu)"
        ) from e
    return sacrebleu


def _check_pairs(where: str, hyps: Sequence[Any], refs: Sequence[Any]) -> None:
    for name, items in (("hyps", hyps), ("refs", refs)):
        if isinstance(items, str):  # a string is a sequence too: of one-character sentences
            raise ValueError(f"{where}: {name} is one string; pass a list, one per sentence")
        if not hasattr(items, "__len__"):  # None, a generator: a TypeError from len() below
            raise ValueError(
                f"{where}: {name} is {type(items).__name__}; pass a list, one per sentence "
                "(list(...) of a generator)"
            )
    n_h, n_r = len(hyps), len(refs)
    if n_r == 0:
        raise ValueError(f"{where}: refs is empty; need at least one hypothesis/reference pair")
    if n_h != n_r:
        raise ValueError(f"{where}: {n_h} hypotheses for {n_r} references; give one each")


def _check_strings(where: str, hyps: Sequence[Any], refs: Sequence[Any]) -> None:
    _check_pairs(where, hyps, refs)
    for name, items in (("hyps", hyps), ("refs", refs)):
        for i, s in enumerate(items):
            if not isinstance(s, str):
                raise ValueError(
                    f"{where}: {name}[{i}] is {type(s).__name__}; pass detokenized strings"
                )


def _as_key(x: Any) -> Any:
    """A string as is; a token sequence as a tuple of Python scalars."""
    if isinstance(x, str):
        return x
    key = to_numpy(x).tolist() if hasattr(x, "shape") else x
    if not isinstance(key, Iterable):  # a number: hyps/refs were one flat sequence of ids
        raise ValueError(
            f"exact_match: an item is {type(x).__name__}; pass one string or token sequence per "
            "sentence (a list of lists, or an (N, T) array)"
        )
    return tuple(key)


def _lengths(src_lengths: Sequence[int], N: int) -> np.ndarray:
    """src_lengths as an (N,) integer array of lengths >= 1, or a ValueError saying why not."""
    L = np.asarray(to_numpy(src_lengths) if hasattr(src_lengths, "shape") else src_lengths)
    where = "exact_match_by_length: src_lengths"
    if L.shape != (N,):
        raise ValueError(f"{where} has shape {L.shape}, expected (N,) = ({N},): one per reference")
    if not np.issubdtype(L.dtype, np.integer) or L.dtype == bool:
        raise ValueError(f"{where} must be integers (token counts); got dtype {L.dtype}")
    if L.min() < 1:
        raise ValueError(
            f"{where} holds {L.min()}; a source has at least one token (count its tokens)"
        )
    return L.astype(np.int64)


def _ids(name: str, seq: Any) -> np.ndarray:
    a = to_numpy(seq) if hasattr(seq, "shape") else np.asarray(list(seq))
    if a.ndim != 1:
        raise ValueError(f"token_accuracy: {name} has shape {a.shape}, expected (T,)")
    return a

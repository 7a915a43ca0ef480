"""Ancestral sampling with temperature, top-k and top-p (nucleus): draw each token from the model's
distribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module, to_numpy
from minis2s.decode.common import Hypothesis, check_batch, decode_one_each


def sample(
    model: Any,
    src: Any,
    src_mask: Any,
    *,
    rng: np.random.Generator | Sequence[np.random.Generator],
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    max_len_a: float = 2.0,
    max_len_b: int = 10,
) -> list[list[Hypothesis]]:
    """Sample one output per sentence from p(y_t | y_<t, x)^(1/temperature), restricted to the
    top_k most probable tokens when top_k > 0, and then, when top_p < 1, to the nucleus: the
    fewest most probable of those whose tempered probabilities sum to at least top_p (Holtzman
    et al. 2020), renormalised. Returns [[Hypothesis]] per sentence; logprob is the model's
    (untempered, unrestricted) log-probability of the sample. As temperature -> 0 this draws
    among the most probable tokens, uniformly where several tie exactly; top_k=1 is greedy.

    Each step draws one uniform number per sentence. `rng` is one Generator per sentence (N of
    them), each sentence drawing from its own, so that its sample does not depend on the other
    sentences of the batch or on how many there are; or one Generator for the batch, which draws
    the N numbers of a step in batch order (then a sentence's sample depends on its row and on N).
    """
    validate.model("sample", model)
    N = check_batch("sample", src, src_mask)
    _check_rng(rng, N)
    check_options(temperature, top_k, top_p)

    def draw(logp: Any) -> Any:
        xp = get_array_module(logp)
        return xp.asarray(_draw(to_numpy(logp).astype(np.float64), temperature, top_k, rng, top_p))

    return decode_one_each(model, src, src_mask, draw, max_len_a, max_len_b, "sample")


def _check_rng(rng: Any, N: int) -> None:
    """rng one Generator, or a sequence of N of them (one per sentence)."""
    per_sentence = isinstance(rng, Sequence) and not isinstance(rng, str)
    if per_sentence:
        ok = all(isinstance(g, np.random.Generator) for g in rng) and len(rng) == N
    else:
        ok = isinstance(rng, np.random.Generator)
    if not ok:
        raise ValueError(
            f"sample: rng must be a numpy.random.Generator, such as np.random.default_rng(seed), "
            f"or a list of N = {N} of them, one per sentence; got {type(rng).__name__}"
            + (f" of {len(rng)}" if per_sentence else "")
        )


def _draw(logp: np.ndarray, temperature: float, top_k: int, rng: Any, top_p: float = 1.0):
    """One token per row from softmax(logp / temperature) over the top_k most probable entries
    (of tokens tied at the k-th value, the lowest ids, as greedy's argmax takes), then over the
    top_p nucleus of those (`_nucleus`): logp (N, V) -> ids (N,)."""
    # shift, then divide: z <= 0 and its maximum is 0 at any temperature (logp / T alone gives
    # -inf everywhere for a tiny T, and then NaN); a tiny T sends the others to -inf, which
    # is probability 0 as meant, not an overflow to warn about
    with np.errstate(over="ignore"):
        z = (logp - logp.max(axis=1, keepdims=True)) / temperature
    if 0 < top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]  # (N, 1) the k-th largest
        above, tied = z > kth, z == kth
        room = top_k - above.sum(axis=1, keepdims=True)  # how many tied ones fit in the k
        z = np.where(above | (tied & (np.cumsum(tied, axis=1) <= room)), z, -np.inf)
    if top_p < 1:
        z = _nucleus(z, top_p)
    p = np.exp(z)  # exp of values <= 0 only
    p /= p.sum(axis=1, keepdims=True)
    u = (
        np.array([[g.random()] for g in rng])  # (N, 1), each sentence from its own stream
        if isinstance(rng, Sequence)
        else rng.random((z.shape[0], 1))
    )
    # the first token whose cumulative probability exceeds u (u = 0.0 is a possible draw, and
    # "reaches" would take token 0, <pad>, of probability 0); if rounding leaves the total a
    # little under u, the last token that may be drawn (never one of probability 0)
    last = p.shape[1] - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
    return np.minimum((p.cumsum(axis=1) <= u).sum(axis=1), last)


def _nucleus(z: np.ndarray, top_p: float) -> np.ndarray:
    """The top_p nucleus of each row: z (N, V) log-weights whose largest is 0 -> z with -inf
    outside the fewest most probable tokens whose probabilities sum to at least top_p (the
    token that crosses top_p is in; of tied tokens, the lowest ids first, as top_k takes)."""
    order = np.argsort(-z, axis=1, kind="stable")  # (N, V) most probable first, ties by id
    p = np.exp(np.take_along_axis(z, order, axis=1))  # exp of values <= 0 only
    p /= p.sum(axis=1, keepdims=True)
    # the mass ranked above each token, exclusive, so the most probable is always kept (0 < p)
    above = np.concatenate([np.zeros_like(p[:, :1]), np.cumsum(p, axis=1)[:, :-1]], axis=1)
    keep = np.empty_like(above, dtype=bool)
    np.put_along_axis(keep, order, above < top_p, axis=1)
    return np.where(keep, z, -np.inf)


def check_options(temperature: float, top_k: int, top_p: float, where: str = "sample") -> None:
    """temperature > 0, top_k >= 0 and top_p in (0, 1], each refused naming it; a message starts
    with `where`, the call the user made (translate checks its options with these)."""
    validate.finite(where, "temperature", temperature)
    if temperature <= 0:
        raise ValueError(f"{where}: temperature must be > 0; got {temperature} (use greedy for 0)")
    validate.integer(where, "top_k (0 = no limit)", top_k, 0)
    validate.finite(where, "top_p", top_p)
    if not 0 < top_p <= 1:
        raise ValueError(f"{where}: top_p must be in (0, 1] (1 = no limit); got {top_p}")

"""What every decoder shares, in reading order: the result type (Hypothesis); the loop that greedy
decoding and sampling run (decode_one_each), with what it uses, the tokens never chosen
(choosable), cutting at EOS (finish) and the per-sentence length limits (length_limits); then
the refusals: no finite hypothesis (NoHypothesis), a batch that is not one (check_batch), and
length limits that allow no token or too many steps (check_max_len, check_steps)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module, to_numpy
from minis2s.config_error import as_typed
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID

NEVER_CHOSEN = [PAD_ID, BOS_ID]  # no target holds them, so no decoder outputs them


class Hypothesis(NamedTuple):
    """One decoded sequence: ids without BOS/EOS, total log-probability, the score it was ranked
    by (after any length penalty), attention weights (len(ids) + 1, src_len) or None (src_len
    the sentence's own source length; the extra row is the step that produced EOS, so without an
    EOS there are len(ids) rows), and whether it ended with EOS (False: the length limit
    max_len_a * |src| + max_len_b cut it)."""

    ids: list[int]
    logprob: float
    score: float
    attention: np.ndarray | None
    ended: bool = True


def decode_one_each(
    model: Any,
    src: Any,
    src_mask: Any,
    choose: Callable[[Any], Any],
    max_len_a: float,
    max_len_b: int,
    where: str,
) -> list[list[Hypothesis]]:
    """Decode one output per sentence, token by token: y_t = choose(log p(. | y_<t, x)) (N,).

    Greedy decoding chooses the argmax, sampling draws. Each sentence stops at its own EOS or
    at max_len_a * |src| + max_len_b tokens; logprob sums the model's log-probabilities of the
    chosen tokens. Returns [[Hypothesis]] per sentence, the shape beam search returns. A
    sentence whose logprob is not finite (the model's log-probabilities turned NaN: a NaN row's
    argmax or draw is meaningless) raises NoHypothesis naming `where`, as beam search does; the
    check reads logprob once, after the loop, so it costs no wait for the device per step.
    """
    limits = length_limits(src_mask, max_len_a, max_len_b)
    state = model.encode(src, src_mask)
    xp = get_array_module(state.enc)
    N = limits.shape[0]
    y = xp.full((N,), BOS_ID, dtype=np.int64)
    logprob = xp.zeros(N, dtype=np.float64)
    done = np.zeros(N, dtype=bool)
    rows = xp.arange(N)
    ids, attn = [], []
    # the batch steps together until every sentence is done: a finished row goes on stepping, its
    # log-probabilities no longer counted and its tokens past EOS cut by `finish`
    for t in range(int(limits.max())):
        logp, state, w = model.step(y, state, ids_checked=True)  # BOS, then its own choices
        y = choose(choosable(logp))
        step_lp = logp[rows, y].astype(np.float64)  # log p of the chosen tokens (N,)
        logprob += xp.where(xp.asarray(done), 0.0, step_lp)
        ids.append(y)
        attn.append(w)
        done |= (to_numpy(y) == EOS_ID) | (t + 1 >= limits)
        if done.all():
            break
    ids_h = to_numpy(xp.stack(ids, axis=1))  # (N, T_out)
    attn_h = to_numpy(xp.stack(attn, axis=1)) if attn[0] is not None else None
    lp, src_lens = to_numpy(logprob), source_lengths(src_mask)  # (N,)
    lost = np.flatnonzero(~np.isfinite(lp))
    if lost.size:
        raise NoHypothesis(int(lost[0]), where=where)
    return [
        [finish(ids_h[n, : limits[n]].tolist(), lp[n], lp[n],
                None if attn_h is None else attn_h[n], src_lens[n])]
        for n in range(N)
    ]  # fmt: skip


def choosable(logp: Any) -> Any:
    """logp (..., V) with the NEVER_CHOSEN tokens at -inf, in place (every decoder's `model.step`
    output is its own). Training never asks the model to predict <pad> or <s>, so the little
    probability it gives them is noise; chosen, they would put <pad> or <s> in a translation.
    The log-probabilities of the tokens that can be chosen are the model's, unchanged."""
    logp[..., NEVER_CHOSEN] = -np.inf
    return logp


def finish(ids: list[int], logprob: float, score: float, attn: Any, src_len: int) -> Hypothesis:
    """Cut `ids` at the first EOS (dropped) and the attention rows to match, and the attention
    columns to the sentence's own source length `src_len` (its padding dropped). The weights are
    a copy: a view would keep the whole batch's array alive (beam search makes one a step)."""
    cut = ids.index(EOS_ID) if EOS_ID in ids else len(ids)
    a = None
    if attn is not None:
        a = to_numpy(attn)[: min(cut + 1, len(ids)), :src_len].copy()
    return Hypothesis(ids[:cut], float(logprob), float(score), a, ended=cut < len(ids))


def source_lengths(src_mask: Any) -> np.ndarray:
    """Each sentence's own source length, (N,) int64 on the host, from src_mask (N, S)."""
    return to_numpy(src_mask).sum(axis=1, dtype=np.int64)


def length_limits(src_mask: Any, max_len_a: float, max_len_b: int) -> np.ndarray:
    """Per-sentence maximum output length a * source_length + b (at least 1), (N,) int."""
    check_max_len(max_len_a, max_len_b)
    m = to_numpy(src_mask)
    odd = ~((m == 0) | (m == 1))  # source_lengths' int sum would read 0.5s as padding
    if odd.any():
        n = int(np.flatnonzero(odd.any(axis=1))[0])
        raise ValueError(
            f"decode: src_mask must hold only 0 and 1 (1 for a token, 0 for padding); row {n} "
            f"holds {m[n][odd[n]].tolist()[0]!r}"
        )
    src_lens = source_lengths(m).astype(np.float64)  # a * float32 overflows at a = 1e300
    empty = np.flatnonzero(src_lens == 0)
    if empty.size:  # the model never saw an empty source: what it writes for one means nothing
        raise ValueError(
            f"decode: sentence {empty[0]} (row {empty[0]} of src_mask) is all padding; each "
            "sentence needs at least one token: leave the empty ones out"
        )
    check_steps(int(src_lens.max(initial=1)), max_len_a, max_len_b)
    return np.maximum(1, np.floor(max_len_a * src_lens + max_len_b)).astype(np.int64)


class NoHypothesis(ValueError):
    """A decoder found no output with a finite score for sentence `n` of its batch: the model's
    log-probabilities for it turned NaN (or -inf). `name` replaces "sentence n" in the message
    (the API names the sentence by its place in the caller's list). `where` defaults to the
    decoder that raised it alone before greedy and sampling did, so `NoHypothesis(n)` still
    builds one."""

    def __init__(self, n: int, name: str | None = None, *, where: str = "beam_search") -> None:
        self.n, self.name, self.where = n, name, where
        super().__init__(
            f"{where}: {name or f'sentence {n}'} has no hypothesis with a finite score: the "
            "model's log-probabilities for it are NaN (source features too large for the "
            "model's dtype?)"
        )

    def __reduce__(self) -> Any:  # pickle (a worker process's error) calls it with args alone
        return functools.partial(type(self), where=self.where), (self.n, self.name)


def check_batch(where: str, src: Any, src_mask: Any) -> int:
    """src (N, S) ids or (N, S, F) features with its src_mask (N, S), as `pad` returns them;
    returns N. src_mask must be of bool, int or float dtype. Reads shapes and dtypes only (a
    device array's: nothing is copied to the host)."""
    src_shape = _shape(src)
    if len(src_shape) not in (2, 3):
        raise ValueError(
            f"{where}: src has shape {src_shape}, expected (N, S) token ids or (N, S, F) "
            "features: a batch, even of one sentence (src[None]); pad() makes one from a list"
        )
    if src_mask is None or _shape(src_mask) != src_shape[:2]:
        got = "None" if src_mask is None else f"shape {_shape(src_mask)}"
        raise ValueError(
            f"{where}: src_mask is {got}, expected (N, S) = {src_shape[:2]} with 1 for a "
            "token and 0 for padding (pad() returns it with the ids)"
        )
    dtype = np.dtype(src_mask.dtype if hasattr(src_mask, "dtype") else np.asarray(src_mask).dtype)
    if dtype.kind not in "biuf":  # before length_limits' sum, which casts with a ComplexWarning
        raise ValueError(
            f"{where}: src_mask has dtype {dtype}; give a 0/1 mask of bool, int or float (1 for "
            "a token and 0 for padding, as pad() returns it)"
        )
    if src_shape[0] == 0 or src_shape[1] == 0:  # else the encoder says "x has T = 0 steps"
        raise ValueError(
            f"{where}: src has shape {src_shape}: "
            + (
                "no sentence; give at least one"
                if src_shape[0] == 0
                else "no tokens; each sentence needs one"
            )
        )
    return src_shape[0]


def _shape(x: Any) -> tuple[int, ...]:
    if hasattr(x, "shape"):
        return tuple(x.shape)
    try:
        return np.shape(x)
    except ValueError:  # NumPy's "inhomogeneous shape": a list of lists of unequal lengths
        raise ValueError(
            "decode: src or src_mask is a list of rows of unequal lengths; pad() makes the "
            "(N, S) batch and its mask from a list of sentences"
        ) from None


MAX_STEPS = 1_000_000  # far beyond any output: a decoder takes about a millisecond a step


# The names of max_len_a and max_len_b in a message: the decoders' keywords, or the options a
# caller took them as (the command line's --max-len-a and --max-len-b).
MAX_LEN_NAMES = ("max_len_a", "max_len_b")


def check_max_len(
    max_len_a: float, max_len_b: float, where: str = "decode", names: tuple = MAX_LEN_NAMES
) -> None:
    """a and b are finite, >= 0, and a * |src| + b allows at least one token for any source;
    a message starts with `where`, the call the user made, and calls a and b `names`."""
    A, B = names
    validate.finite(where, A, max_len_a)
    validate.finite(where, B, max_len_b)
    if max_len_a < 0 or max_len_b < 0 or (max_len_a == 0 and max_len_b < 1):
        raise ValueError(
            f"{where}: max length a * |src| + b must allow at least one token; got a={max_len_a}, "
            f"b={max_len_b} ({A} and {B}, each >= 0, not a = 0 with b < 1)"
        )


def check_steps(
    longest: int, max_len_a: float, max_len_b: float, where: str = "decode",
    names: tuple = MAX_LEN_NAMES, index: int | None = None,
) -> None:  # fmt: skip
    """The maximum output length a * longest + b of a source of `longest` tokens (the longest a
    call decodes; `index`: its place among the call's sources, if known) is at most MAX_STEPS,
    else TooManySteps, whose message starts with `where` (none when empty) and calls a and b
    `names`."""
    limit = max(1.0, float(np.floor(max_len_a * float(longest) + max_len_b)))  # inf: too many
    if limit > MAX_STEPS:  # and int64 would wrap round to a negative limit
        raise TooManySteps(longest, limit, max_len_a, max_len_b, index, where, names)


class TooManySteps(ValueError):
    """check_steps' refusal: a source of `longest` tokens (the `index`th of the call's sources,
    or None) may take `limit` decoding steps under max_len_a `a` and max_len_b `b`. A caller
    that took a and b as other names says it in its words with `named` (the command line)."""

    def __init__(
        self, longest: int, limit: float, a: float, b: float, index: int | None = None,
        where: str = "decode", names: tuple = MAX_LEN_NAMES,
    ) -> None:  # fmt: skip
        self.longest, self.limit, self.a, self.b, self.index = longest, limit, a, b, index
        self.where, self.names = where, names
        source = "a source" if index is None else f"sources[{index}]"
        super().__init__(self.named(where, names, source))

    def __reduce__(self) -> Any:  # pickle calls it with args alone
        args = (self.longest, self.limit, self.a, self.b, self.index, self.where, self.names)
        return type(self), args

    def named(self, where: str, names: tuple, source: str) -> str:
        """The message, starting with `where` (none when empty), a and b called `names` (an
        option's value after a space, --max-len-a 2, a keyword's after =), the source `source`."""
        A, B = names
        given = [
            f"{n} {as_typed(v)}" if n.startswith("-") else f"{n}={v}"
            for n, v in zip(names, (self.a, self.b), strict=True)
        ]
        tokens = f"{self.longest} token{'s' * (self.longest != 1)}"
        # every digit of a limit near MAX_STEPS: 1e+06 would read as allowed
        limit = f"{self.limit:,.0f}" if self.limit < 1e16 else f"{self.limit:.3g}"
        return (
            f"{f'{where}: ' if where else ''}{given[0]} and {given[1]} allow up to "
            f"{limit} output tokens (a * |src| + b) for {source} ({tokens}); at most "
            f"{MAX_STEPS:,} decoding steps: give a smaller {A} or {B}"
        )

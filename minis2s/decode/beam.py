"""Batched beam search with per-hypothesis EOS, length penalties and n-best lists.

Every source sentence keeps K live hypotheses (rows n*K .. n*K+K-1 of the decoder's batch).
At each step:
  1. expand:  every live hypothesis x every token, scored by total log-probability;
  2. prune:   per sentence, walk the candidates best first: one ending in EOS (or reaching the
              length limit) is finished and ranked by its length-penalised score; the others
              refill the K live slots;
  3. reorder: gather the decoder states and histories of the surviving hypotheses;
  4. stop:    keep each sentence's `nbest` best finished hypotheses (`_keep_best`).
A sentence is done when its `nbest` best finished hypotheses score at least as well as any live
one still could (`attainable`), or when none is live. With K = 1 and no length penalty this is
greedy decoding (a penalty that favours longer outputs may look past an EOS that greedy takes).

A beam_size wider than an exhaustive search needs (`widest`: half the (V - 2) (V - 3)^(T - 1)
candidates of a step at the length limit T) is decoded at that width, with the same result, as
sample's top_k past V means all V.

Why not stop at K finished hypotheses, as fairseq does: early EOS candidates of low score can
fill the K places while the best live hypothesis is still growing. Measured on a reverse-long
model: beam 5 returned a 36-digit output of log p -5.2 while the best live hypothesis, greedy's
right 37 digits of log p -0.07, was still growing.

Length penalties, with |y| counting the EOS token:
  none:    score = log p(y)
  average: score = log p(y) / |y|
  gnmt:    score = log p(y) / ((5 + |y|) / 6) ** alpha          (Wu et al. 2016)
and GNMT's coverage penalty, with `beta` > 0 (attention models), added to any of them:
  cp = beta * sum_i log(min(sum_t a_ti, 1))    over source positions i, steps t (EOS's too)
It is <= 0, lower for an output that leaves source positions with little attention in all
(a dropped word), and rises towards 0 as a hypothesis grows (its attention sums only grow),
so the bound `attainable` gives a live hypothesis holds with it as without.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minis2s import validate
from minis2s.backend import get_array_module, to_numpy
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID
from minis2s.decode.beam_checks import check_coverage, check_fits, check_options, target_vocab
from minis2s.decode.common import (
    Hypothesis,
    NoHypothesis,
    check_batch,
    choosable,
    finish,
    length_limits,
    source_lengths,
)

# The least coverage counted: a position whose weights all underflowed to 0 costs
# beta * log(TINY) = -708 beta, not -inf (which would tie every such hypothesis).
TINY = np.finfo(np.float64).tiny
SORT_BELOW = 256  # candidates per sentence (K * V) up to which a full sort beats a partition


def penalised(logprob: float, length: int, kind: str, alpha: float) -> float:
    """The ranking score of a finished hypothesis of `length` tokens: its EOS included, or, for
    one stopped by the length limit, the limit's tokens without an EOS."""
    if kind == "average":
        return logprob / length
    if kind == "gnmt":
        return logprob / ((5.0 + length) / 6.0) ** alpha
    return logprob


def coverage_penalty(attention: np.ndarray, beta: float) -> float:
    """GNMT's cp = beta * sum_i log(min(sum_t a_ti, 1)) of one hypothesis's attention (its steps,
    its own source positions); 0.0 for beta = 0."""
    if beta == 0.0:
        return 0.0
    coverage = attention.sum(axis=0)  # (S,) attention each source position got in all
    # in float64, where TINY is not 0: NumPy 1.x clips float32 in float32 (TINY -> 0, log -inf)
    return beta * float(np.log(np.clip(coverage.astype(np.float64), TINY, 1.0)).sum())


def attainable(logprob: float, shortest: int, longest: int, kind: str, alpha: float) -> float:
    """The best score a live hypothesis of total log-probability `logprob` can still finish with,
    ending with `shortest` to `longest` tokens. Each further token's log-probability is <= 0,
    so the hypothesis's log-probability only falls, and the penalty divides it by a positive
    factor that grows or shrinks with the length (average: |y|; gnmt: ((5 + |y|) / 6) ** alpha,
    either way with the sign of alpha): the best is at one end of the lengths. -inf for no
    hypothesis."""
    return max(penalised(logprob, shortest, kind, alpha), penalised(logprob, longest, kind, alpha))


def beam_search(
    model: Any,
    src: Any,
    src_mask: Any,
    *,
    beam_size: int = 5,
    nbest: int = 1,
    length_penalty: str = "none",
    alpha: float = 0.6,
    beta: float = 0.0,
    max_len_a: float = 2.0,
    max_len_b: int = 10,
) -> list[list[Hypothesis]]:
    """Decode a batch with beam search. src (N, S), src_mask (N, S) -> per sentence the `nbest`
    best hypotheses, best first. `beta` > 0 adds GNMT's coverage penalty to the ranking score
    (it needs a model with attention)."""
    validate.model("beam_search", model)
    N = check_batch("beam_search", src, src_mask)
    check_options(beam_size, nbest, length_penalty, alpha, beta)
    limits = length_limits(src_mask, max_len_a, max_len_b)
    check_fits(N, beam_size, target_vocab(model), limits=limits)  # at widest's width
    K = widest(target_vocab(model), limits, beam_size)  # the slots past it would stay empty
    state = model.encode(src, src_mask)
    xp = get_array_module(state.enc)
    N, src_lens = limits.shape[0], source_lengths(src_mask)  # (N,)
    # N*K rows from here on: row n*K + k is hypothesis k of sentence n
    state = model.select(state, xp.repeat(xp.arange(N), K))
    scores = np.full((N, K), -np.inf)
    scores[:, 0] = 0.0  # one live hypothesis at the start; K copies would give K equal beams
    y = np.full(N * K, BOS_ID, dtype=np.int64)
    hist = np.zeros((N * K, 0), dtype=np.int64)  # tokens so far per row
    attn = None  # (N*K, t, S) attention so far, when the model attends
    finished: list[list[Hypothesis]] = [[] for _ in range(N)]
    active = np.ones(N, dtype=bool)
    for t in range(int(limits.max())):
        logp, state, w = model.step(xp.asarray(y), state, ids_checked=True)  # BOS, own choices
        logp = choosable(to_numpy(logp).astype(np.float64).reshape(N, K, -1))
        step_attn = _attention_so_far(attn, w, beta)
        rows, tokens, scores = _prune(
            scores, logp, hist, step_attn, finished, active, t, limits, src_lens, K,
            length_penalty, alpha, beta,
        )  # fmt: skip
        state = model.select(state, xp.asarray(rows), same_sources=True)  # rows stay in block n
        hist = np.concatenate([hist[rows], tokens[:, None]], axis=1)
        attn = None if step_attn is None else step_attn[rows]
        y = tokens
        _keep_best(finished, scores, active, t, limits, nbest, length_penalty, alpha)
        if not active.any():
            break
    lost = [n for n, f in enumerate(finished) if not f]
    if lost:  # every candidate's score turned NaN or -inf before any hypothesis finished
        raise NoHypothesis(lost[0], where="beam_search")
    return finished  # each sorted best first, nbest long at most


def widest(V: int, limits: np.ndarray, beam_size: int) -> int:
    """The beam width that decodes as `beam_size` does: up to beam_size, the least K at which
    the search reads every candidate it could ever have, which is then exhaustive.

    A live hypothesis of t tokens ends in none of <pad>, <s> (never chosen) or EOS (which
    finishes it): there are at most (V - 3)^t, and (V - 2) (V - 3)^t candidates from them at
    step t + 1. The step at a sentence's length limit T finishes every candidate, so the most
    candidates of any step are C = (V - 2) (V - 3)^(T - 1), T the batch's longest limit (N,)
    `limits`. The prune walks each sentence's 2K best candidates (`_prune`): K = ceil(C / 2)
    reads them all, and holds every live hypothesis (at most (V - 3)^(T - 1) <= K). A wider beam
    decodes alike, its further slots at -inf from start to end, and would run the decoder on
    those rows for nothing (`--beam 65536` over 5 tokens). V < 4 (no vocabulary: a scripted
    model) leaves beam_size. V alone bounds nothing: a beam wider than V fills in two steps."""
    if V < 4:
        return beam_size
    C = V - 2
    for _ in range(int(limits.max()) - 1):
        if C >= 2 * beam_size or V == 4:  # V == 4: UNK alone goes on, C stays 2
            break
        C *= V - 3
    return max(1, min((C + 1) // 2, beam_size))


def _keep_best(finished, scores, active, t, limits, nbest, penalty, alpha) -> None:
    """Step 4 for every active sentence, in place: keep its `nbest` best finished hypotheses, best
    first, and mark it done (active False) when they score at least as well as its best live one
    still could, or when it has no live one (scores (N, K), live slots best first)."""
    live_lp = scores[:, 0].tolist()  # each sentence's best live log-probability, as floats
    for n in np.flatnonzero(active).tolist():
        finished[n] = sorted(finished[n], key=lambda h: -h.score)[:nbest]
        best_live = attainable(live_lp[n], t + 2, limits[n], penalty, alpha)
        enough = len(finished[n]) == nbest and finished[n][-1].score >= best_live
        active[n] = not enough and math.isfinite(live_lp[n])


def _attention_so_far(attn: Any, w: Any, beta: float) -> np.ndarray | None:
    """The attention history (N*K, t + 1, S) on the host: attn with this step's weights w
    (N*K, S) appended; None for a model without attention (w None), where beta must be 0."""
    check_coverage(beta, w is not None)
    if w is None:
        return None
    w = to_numpy(w)[:, None]  # (N*K, 1, S)
    return w if attn is None else np.concatenate([attn, w], axis=1)


def _prune(
    scores, logp, hist, attn, finished, active, t, limits, src_lens, K, penalty, alpha, beta
):
    """Steps 1 and 2 for every sentence: returns the rows to keep (N*K,), their new tokens
    (N*K,) and scores (N, K); finished hypotheses are appended to `finished`."""
    N, _, V = logp.shape
    cand = (scores[:, :, None] + logp).reshape(N, K * V)  # (N, K*V)
    walked = np.flatnonzero(active)  # (N',) the sentences still decoding
    cand = cand[walked]  # (N', K*V)
    order = _best_first(cand, 2 * K)  # (N', 2K): K may end, so 2K refill K
    # the walk below reads and writes one candidate at a time: as Python ints and floats in
    # lists, not NumPy scalars in arrays (each of those reads or writes costs a NumPy call)
    best, best_lp = order.tolist(), np.take_along_axis(cand, order, axis=1).tolist()
    rows = np.repeat(np.arange(N) * K, K).tolist()  # default: keep row n*K (dead slots)
    tokens = [PAD_ID] * (N * K)
    new_scores = [-math.inf] * (N * K)
    for n, best_n, best_lp_n in zip(walked.tolist(), best, best_lp, strict=True):
        live = 0
        at_limit = t + 1 >= limits[n]
        for j, lp in zip(best_n, best_lp_n, strict=True):  # lp: candidate j of sentence n
            if not math.isfinite(lp) or live == K:
                break
            k, tok = divmod(j, V)
            r = n * K + k
            if tok == EOS_ID or at_limit:
                ids = hist[r].tolist() + [tok]
                sc = penalised(lp, len(ids), penalty, alpha)
                a = None if attn is None else attn[r]
                if beta != 0.0:
                    sc += coverage_penalty(a[:, : src_lens[n]], beta)
                finished[n].append(finish(ids, lp, sc, a, src_lens[n]))
                continue
            rows[n * K + live], tokens[n * K + live], new_scores[n * K + live] = r, tok, lp
            live += 1
    return np.array(rows), np.array(tokens, dtype=np.int64), np.reshape(new_scores, (N, K))


def _best_first(cand: np.ndarray, m: int) -> np.ndarray:
    """The first m columns of np.argsort(-cand, axis=1, kind="stable"): each row's m best
    candidates, best first, ties in index order (-inf, then NaN, last). cand (N, C) -> (N, m)."""
    key = -cand  # (N, C) the sort key, smallest first
    if key.shape[1] <= SORT_BELOW:
        return np.argsort(key, axis=1, kind="stable")[:, :m]
    # A full sort of each row costs far more than the model's step once V is a real vocabulary
    # (K * V = 40,000 candidates a sentence for V = 8000). The same m without it: let v be a
    # row's m-th smallest key. The stable argsort lists the keys below v, then those equal to v
    # by index, then the rest; so its first m are the first m of {key <= v} (m candidates, or a
    # few more where some tie with v) ordered by key, then index.
    N = key.shape[0]
    v = np.partition(key, m - 1, axis=1)[:, m - 1]  # (N,) NaN where fewer than m are not NaN
    r, c = np.nonzero(key <= v[:, None])  # (row, column) of each of {key <= v}
    c = c[np.lexsort((c, key[r, c], r))]  # by row, then key, then index
    counts = np.bincount(r, minlength=N)
    starts = np.cumsum(counts) - counts
    out = np.empty((N, m), dtype=np.intp)
    ok = counts >= m  # all rows but those of a NaN v (none selected): sort those in full
    out[ok] = c[starts[ok, None] + np.arange(m)]
    out[~ok] = np.argsort(key[~ok], axis=1, kind="stable")[:, :m]
    return out

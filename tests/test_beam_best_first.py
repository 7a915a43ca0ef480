"""Beam search's _best_first through a sort of the keys (`_head_of_sorted`, for batches of more
than ARGSORT_UP_TO candidates of up to SORT_BELOW a sentence) against the stable argsort it
stands for: the same columns, to the index, for ties at and above the m-th, -0.0 beside 0.0,
rows all -inf (a finished sentence's), NaN, and fewer than m candidates that are not NaN."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.decode import beam

POOL = np.array([0.0, -0.0, -0.25, -0.5, -0.5, -1.0, -1.5, -3.0, -np.inf])


def stable_head(cand, m):
    return np.argsort(-cand, axis=1, kind="stable")[:, :m]


def candidates(rng, N, C):
    """Rows of continuous scores, some with ties from POOL, some all -inf, some with NaN."""
    cand = -rng.exponential(size=(N, C)) - 2.0
    for n in range(N):
        kind = rng.integers(6)
        if kind == 1:  # ties everywhere, -0.0 beside 0.0
            cand[n] = rng.choice(POOL, size=C)
        elif kind == 2:  # a finished sentence's row
            cand[n] = -np.inf
        elif kind == 3:  # NaN, from a few up to all but a few
            cand[n, rng.random(C) < rng.choice([0.05, 0.95])] = np.nan
        elif kind == 4:  # the m-th best ties with the next
            cand[n, rng.integers(C, size=2)] = cand[n].max()
    return cand


@settings(max_examples=200)
@given(st.integers(1, 40), st.integers(2, beam.SORT_BELOW), st.integers(0, 2**32 - 1))
def test_head_of_sorted_is_the_head_of_a_stable_argsort(N, C, seed):
    rng = np.random.default_rng(seed)
    cand = candidates(rng, N, C)
    m = int(rng.integers(1, C))  # m < C, as _best_first calls it
    np.testing.assert_array_equal(beam._head_of_sorted(-cand, m), stable_head(cand, m))


@settings(max_examples=50)
@given(st.sampled_from([(32, 160), (20, 256), (12, 300), (64, 40)]), st.integers(0, 2**32 - 1))
def test_best_first_of_a_large_batch_is_the_head_of_a_stable_argsort(shape, seed):
    rng = np.random.default_rng(seed)
    cand = candidates(rng, *shape)
    for m in (1, 10, shape[1] - 1, shape[1]):
        np.testing.assert_array_equal(beam._best_first(cand, m), stable_head(cand, m))


def test_the_benchmark_size_takes_the_sort():
    """beam-5 over V = 32 for 32 sentences (benchmarks/bench_seq2seq.py's small workload): past
    ARGSORT_UP_TO, so the tests above cover the path it runs."""
    assert 32 * 5 * 32 > beam.ARGSORT_UP_TO and 5 * 32 <= beam.SORT_BELOW

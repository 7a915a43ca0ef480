"""A beam wider than an exhaustive search needs is decoded at the width that search needs, with the
same result: the live hypotheses of t tokens are at most (V - 3)^t (the choosable tokens but EOS:
<pad> and <s> are never chosen, EOS finishes one), a step's candidates (V - 2) times those, the
step at the length limit T finishes every one, and the prune reads the 2K best: K = half of
(V - 2) (V - 3)^(T - 1) reads every candidate there is. `translate --beam 65536` on a vocabulary
of 5 ran 65536 decoder rows a sentence, nearly all of them empty."""

import numpy as np
import pytest

from minis2s.data.batching import pad
from minis2s.decode import beam
from tests.test_beam_prune import assert_same_hypotheses, model_for


def sources(V, seed):
    srcs = np.random.default_rng(seed).integers(4, V, size=(3, 4)).tolist()
    return pad([srcs[0], srcs[1][:2], srcs[2][:1]])


@pytest.mark.parametrize("V, max_len_b, widest", [(5, 3, 6), (4, 6, 1), (6, 2, 6), (9, 1, 4)])
def test_widest_is_half_the_candidates_at_the_longest_limit(V, max_len_b, widest):
    """ceil((V - 2) (V - 3)^(T - 1) / 2), T the longest length limit (max_len_a 0: T =
    max_len_b)."""
    _, mask = sources(max(V, 5), 0)
    limits = beam.length_limits(mask, 0.0, max_len_b)
    assert beam.widest(V, limits, 10**9) == widest
    assert beam.widest(V, limits, 2) == min(widest, 2)  # never more than asked


def test_a_huge_beam_runs_the_decoder_on_the_rows_it_can_fill(monkeypatch):
    """beam_size 65536 with V = 5 and T = 3: 3 * 2^2 / 2 = 6 slots a sentence, not 65536."""
    model = model_for("gru", "general", 5, 1)
    ids, mask = sources(5, 1)
    rows = []
    step = model.step
    monkeypatch.setattr(model, "step", lambda y, *a, **k: rows.append(len(y)) or step(y, *a, **k))
    beam.beam_search(model, ids, mask, beam_size=65536, max_len_a=0.0, max_len_b=3)
    assert rows and max(rows) == 3 * 6, rows


@pytest.mark.parametrize("cell, att", [("lstm", "general"), ("gru", "none")])
@pytest.mark.parametrize(
    "penalty, nbest, beta",
    [("none", 1, 0.0), ("average", 9, 0.3), ("gnmt", 2, 0.0), ("none", 120, 0.5)],
)
def test_the_narrowed_beam_decodes_as_the_full_width(monkeypatch, cell, att, penalty, nbest, beta):
    """The same hypotheses, to the bit, as the beam run at its full width with the narrowing
    switched off: the slots past `widest` never held a hypothesis, nor would the prune have read
    a candidate from them; with the coverage penalty too, which ranks a step's candidates
    otherwise than their log p, and n-best lists longer than the narrowed beam."""
    V, seed = 6, 3
    model = model_for(cell, att, V, seed)
    ids, mask = sources(V, seed)
    beta = beta if att != "none" else 0.0
    options = dict(beam_size=120, nbest=nbest, length_penalty=penalty, beta=beta, max_len_a=0.0,
                   max_len_b=4)  # fmt: skip
    got = beam.beam_search(model, ids, mask, **options)  # narrowed to 4 * 3^3 / 2 = 54
    monkeypatch.setattr(beam, "widest", lambda V, limits, K: K)
    want = beam.beam_search(model, ids, mask, **options)
    for g, w in zip(got, want, strict=True):
        assert_same_hypotheses(g, w)

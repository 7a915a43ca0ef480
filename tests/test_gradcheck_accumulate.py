"""Gradient accumulation in training mode against finite differences.

test_accumulation.py shows a group's gradient equals that of one batch of all its sentences,
without dropout. With dropout the batches draw their masks from one generator in turn, so there
is no such single batch; here the group's gradient is checked against finite differences of
its definition, L = sum_i (n_i / N) L_i with n_i the target tokens of batch i and N their sum,
each L_i drawn from the generator where the group's pass draws it.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data.batching import make_batch
from minis2s.gradcheck import assert_close, block_errors, numerical_grad
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import CELLS
from minis2s.train.accumulate import group_loss_and_grads

V = 7  # ids 0-3 are <pad>, <s>, </s>, <unk>; sentences use 4..6


@st.composite
def group_case(draw):
    """(batches, seed): 2 or 3 batches of 1 or 2 sentences, sources 1-3 and targets 0-2
    tokens long, so every batch is padded its own way."""
    sentence = lambda lo: st.lists(st.integers(4, V - 1), min_size=lo, max_size=3 - lo)  # noqa: E731
    batches = []
    for _ in range(draw(st.integers(2, 3))):
        examples = [(draw(sentence(1)), draw(sentence(0))) for _ in range(draw(st.integers(1, 2)))]
        batches.append(make_batch(examples, np.arange(len(examples))))
    return batches, draw(st.integers(0, 2**16))


@settings(max_examples=3)  # every parameter perturbed 4 times, each a pass per batch
@given(case=group_case(), cell=st.sampled_from(CELLS))
def test_a_groups_gradient_with_dropout(case, cell):
    group, seed = case
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=2, hidden=2, bidirectional=False,
                      attention="dot", dropout=0.3, init_scale=1.0)  # fmt: skip
    model = Seq2Seq(cfg, seed=3, dtype=np.float64)
    train = dict(label_smoothing=0.1)
    _, grads = group_loss_and_grads(model, group, rng=np.random.default_rng(seed), **train)

    def group_loss() -> float:  # the same draws on every call: a generator seeded alike
        rng, n_total = np.random.default_rng(seed), sum(b.n_tokens for b in group)
        return sum(b.n_tokens / n_total * model.loss(b, rng=rng, **train) for b in group)

    numeric = {k: numerical_grad(group_loss, w) for k, w in model.params.items()}
    assert_close(block_errors(numeric, grads))

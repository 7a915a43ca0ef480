"""The whole model's invariants as properties: a sentence's loss and its share of the gradient
are those it has alone, whatever sentences share its batch and however much padding follows its
source and its target, for drawn cells, attention kinds, depths, directions, bridges and input
feeding, on numpy and numba (`tests/test_model.py` checks one batch's summed loss)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.data.batching import Batch, make_batch
from minis2s.data.vocab import PAD_ID
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import ATTENTIONS, BRIDGES, CELLS

V = 7
TOL = dict(rtol=1e-10, atol=1e-12)  # float64; summation order differs with N, S and T


@st.composite
def configs(draw) -> ModelConfig:
    cell, att, bi = (
        draw(st.sampled_from(CELLS)),
        draw(st.sampled_from(ATTENTIONS)),
        draw(st.booleans()),
    )
    bi = bi and att not in ("dot", "scaled_dot")  # their keys are the encoder's states: width H
    enc_layers, dec_layers = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    bridges = [b for b in BRIDGES if (cell == "lstm" or b != "learned_h")
               and (enc_layers == dec_layers or b != "last")]  # fmt: skip
    return ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=2, hidden=2, attention=att,
                       bidirectional=bi, input_feed=att != "none" and draw(st.booleans()),
                       enc_layers=enc_layers, dec_layers=dec_layers,
                       bridge=draw(st.sampled_from(bridges)), init_scale=1.0)  # fmt: skip


sentences = st.lists(st.integers(4, V - 1), min_size=1, max_size=4)
pairs = st.lists(st.tuples(sentences, st.lists(st.integers(4, V - 1), max_size=3)),
                 min_size=1, max_size=3)  # fmt: skip


def padded(batch: Batch, extra_src: int, extra_tgt: int) -> Batch:
    """`batch` with more padded columns after every source and target."""

    def more(a, k, fill):
        return np.concatenate([a, np.full((a.shape[0], k), fill, dtype=a.dtype)], axis=1)

    return batch._replace(
        src=more(batch.src, extra_src, PAD_ID), src_mask=more(batch.src_mask, extra_src, 0),
        tgt_in=more(batch.tgt_in, extra_tgt, PAD_ID),
        tgt_out=more(batch.tgt_out, extra_tgt, PAD_ID), tgt_mask=more(batch.tgt_mask, extra_tgt, 0),
    )  # fmt: skip


def summed(model: Seq2Seq, batch: Batch) -> tuple[float, dict]:
    """The summed loss and its gradient (loss_and_grads gives the mean over target tokens)."""
    loss, grads = model.loss_and_grads(batch)
    n = batch.n_tokens
    return loss * n, {k: g * n for k, g in grads.items()}


@settings(max_examples=25)
@pytest.mark.parametrize("name", ["numpy", "numba"])
@given(cfg=configs(), examples=pairs, extra=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       seed=st.integers(0, 1000))  # fmt: skip
def test_a_sentences_loss_and_gradient_are_those_it_has_alone(name, cfg, examples, extra, seed):
    """nll and token_logprobs row by row, and the summed gradient as the sum of the sentences'
    own, each alone in a batch of one without padding."""
    backend.use(name)
    model = Seq2Seq(cfg, seed=seed, dtype=np.float64)
    batch = padded(make_batch(examples, np.arange(len(examples))), *extra)
    loss, grads = summed(model, batch)
    per_token = np.asarray(model.token_logprobs(batch))  # (N, T), 0 at padding
    alone = [make_batch([ex], [0]) for ex in examples]
    parts = [summed(model, b) for b in alone]
    np.testing.assert_allclose(loss, sum(s for s, _ in parts), **TOL)
    np.testing.assert_allclose(model.nll(batch)[0], loss, **TOL)
    for k, g in grads.items():
        np.testing.assert_allclose(g, sum(d[k] for _, d in parts), err_msg=k, **TOL)
    for n, b in enumerate(alone):
        T = b.tgt_out.shape[1]
        np.testing.assert_allclose(per_token[n, :T], np.asarray(model.token_logprobs(b))[0], **TOL)
        np.testing.assert_array_equal(per_token[n, T:], 0)

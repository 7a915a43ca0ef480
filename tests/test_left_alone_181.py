"""Items left alone by earlier passes (helper-181): the Adam subclass that is not AdamW keeps
Adam's L2 decay-term check, and a source row of all padding is refused by the model's batch
checks as decoding refuses it. Each test fails on the code before its change."""

import numpy as np
import pytest

from minis2s import decode
from minis2s.data.batching import Batch, make_batch
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.optim import Adam, AdamW


class _AdamWithLogging(Adam):
    """A user's Adam: same L2 decay (folded into g), so the same bound on its decay term."""


def test_a_subclass_of_adam_keeps_adams_decay_term_check():
    """weight_decay * |p| = 4e19 * 0.5 = 2e19 is past sqrt(float32 max) ~ 1.8e19, so g * g of
    g = grad + weight_decay * p is inf; `type(self) is Adam` spared every subclass, not AdamW
    alone. The message names the class the user built."""
    p = {"W": np.full(3, 0.5, np.float32)}
    assert 4e19 * 0.5 > float(np.sqrt(np.finfo(np.float32).max))
    with pytest.raises(ValueError, match=r"_AdamWithLogging: weight_decay=4e\+19 .* float32"):
        _AdamWithLogging(p, lr=1e-30, weight_decay=4e19)


def test_adamw_decay_does_not_enter_g_so_it_has_no_decay_term_bound():
    """AdamW multiplies the weights by 1 - lr * weight_decay; g * g never sees the decay."""
    p = {"W": np.full(3, 0.5, np.float32)}
    AdamW(p, lr=1e-30, weight_decay=4e19)


@pytest.fixture(scope="module")
def model():
    return Seq2Seq(ModelConfig(12, 11, emb=6, hidden=6), seed=0)


def _with_empty_source_row(n: int) -> Batch:
    """Three sentences, row n of src_mask set to 0 by hand (make_batch refuses an empty
    source, so only a hand-built batch has one)."""
    b = make_batch([([4, 5, 6], [4, 5]), ([7, 8], [6]), ([9], [7, 8, 9])], [0, 1, 2])
    src_mask = b.src_mask.copy()
    src_mask[n] = 0
    return b._replace(src_mask=src_mask)


@pytest.mark.parametrize("method", ["loss_and_grads", "loss", "token_logprobs", "nll"])
def test_the_model_refuses_a_source_row_of_only_padding_as_decoding_does(model, method):
    """An encoder with no step gives h0 and attention over nothing; the loss of such a row was
    taken without a word (a finite number), where greedy/beam/sample refuse the same row."""
    with pytest.raises(ValueError, match=r"Seq2Seq: row 2 of batch.src_mask is all padding") as e:
        getattr(model, method)(_with_empty_source_row(2))
    assert "leave the empty ones out" in str(e.value)
    with pytest.raises(ValueError, match=r"sentence 2 \(row 2 of src_mask\) is all padding"):
        b = _with_empty_source_row(2)
        decode.greedy(model, b.src, b.src_mask)


def test_a_batch_with_a_token_in_every_source_row_is_taken(model):
    """The refusal reads whole rows: padding at the end of a shorter row is fine."""
    b = make_batch([([4, 5, 6], [4, 5]), ([7], [6])], [0, 1])
    assert b.src_mask[1].tolist() == [1, 0, 0]
    loss, _ = model.loss_and_grads(b)
    assert np.isfinite(loss)

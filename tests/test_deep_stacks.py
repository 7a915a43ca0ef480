"""A deep decoder's per-layer parameter views are made in one pass over the parameters: a model
of L layers took O(L^2) prefix tests (one scan of every parameter per layer), which at
--dec-layers 2000 was minutes of startswith before the first batch."""

import numpy as np
import pytest

from minis2s.data.batching import make_batch
from minis2s.models import decoder_step
from minis2s.models.config import ModelConfig
from minis2s.models.params import init_params, sub, subs
from minis2s.models.seq2seq import Seq2Seq


def test_subs_equals_sub_for_each_prefix_keys_order_and_arrays():
    """subs(p, prefixes) is [sub(p, q) for q in prefixes]: the same keys in the same order, and
    the very arrays (views of the model's, no copies), for prefixes that share a start (l1. and
    l10.) and one that nothing is under."""
    cfg = ModelConfig(src_vocab=7, tgt_vocab=6, emb=3, hidden=2, enc_layers=11, dec_layers=11,
                      bidirectional=True, cell="gru")  # fmt: skip
    p = init_params(cfg, seed=1)
    prefixes = [f"dec.rnn.l{l}.fwd." for l in range(11)] + ["enc.rnn.l10.bwd.", "dec.att.", "x."]
    got = subs(p, prefixes)
    assert len(got) == len(prefixes)
    for q, view in zip(prefixes, got, strict=True):
        want = sub(p, q)
        assert list(view) == list(want), q
        assert all(view[k] is want[k] for k in want), q


def test_subs_refuses_a_prefix_that_does_not_end_at_a_dot():
    with pytest.raises(ValueError, match=r"subs: prefix 'dec.rnn.l1' must end with '\.'"):
        subs({"dec.rnn.l1.fwd.W_ih": np.zeros(1)}, ["dec.rnn.l1"])


def test_a_deep_bidirectional_model_has_the_grads_of_the_per_prefix_views(monkeypatch):
    """The public result pinned: loss and every gradient of a 3-layer bidirectional LSTM with
    split_params built the old way (one `sub` a layer) equal the new ones bit for bit."""
    cfg = ModelConfig(src_vocab=9, tgt_vocab=8, emb=4, hidden=3, enc_layers=3, dec_layers=3,
                      bidirectional=True, cell="lstm")  # fmt: skip
    batch = make_batch([([3, 4, 5, 6], [5, 4, 3]), ([4], [4])], [0, 1])
    loss, grads = Seq2Seq(
        cfg, init_params(cfg, seed=2, dtype=np.float64), dtype="float64"
    ).loss_and_grads(batch)

    def old_split(p, cfg):
        layers = [sub(p, f"dec.rnn.l{l}.fwd.") for l in range(cfg.dec_layers)]
        return decoder_step.DecoderParams(
            sub(p, "dec.emb."), layers, sub(p, "dec.att."), sub(p, "dec.combine.")
        )

    monkeypatch.setattr(decoder_step, "split_params", old_split)
    model = Seq2Seq(cfg, init_params(cfg, seed=2, dtype=np.float64), dtype="float64")
    old_loss, old_grads = model.loss_and_grads(batch)
    assert loss == old_loss
    assert list(grads) == list(old_grads)
    for k in grads:
        np.testing.assert_array_equal(grads[k], old_grads[k], err_msg=k)

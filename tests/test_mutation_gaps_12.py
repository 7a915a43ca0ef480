"""Mutation pass over the model-building code whose mistakes give wrong models without an error:
models/seq2seq.py, encoder.py, decoder.py, decoder_step.py, decode_state.py, bridge.py,
ensemble.py, params.py, layers/stack.py, stack_layout.py, embedding.py, _recurrent.py,
_padding.py, linear.py, and train/trainer.py, bookkeeping.py, divergence.py. Each test kills a
hand-made mutant that the suite let live, named in its docstring; every expected value is worked
out by hand or by NumPy, or, for the training pass's decoder, read from decoding step by step
(Seq2Seq.step), a path that runs none of the mutated lines; never by the code under test."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from minis2s.data.batching import make_batch
from minis2s.data.vocab import BOS_ID, PAD_ID
from minis2s.models import Ensemble, ModelConfig, Seq2Seq, bridge, decoder, encoder
from minis2s.train import trainer
from minis2s.train.config import TrainConfig
from minis2s.train.divergence import NonFiniteLoss, check_dev, check_update

EXAMPLES = [([4, 5, 6, 3], [4, 4, 7]), ([5], [6, 3, 5, 4]), ([6, 4], [5])]  # unequal lengths


def tiny(seed: int = 1, **kw) -> Seq2Seq:
    cfg = dict(src_vocab=8, tgt_vocab=8, emb=4, hidden=5, cell="gru", attention="general",
               input_feed=True, init_scale=0.8) | kw  # fmt: skip
    return Seq2Seq(ModelConfig(**cfg), seed=seed, dtype=np.float64)


def batch():
    return make_batch(EXAMPLES, np.arange(len(EXAMPLES)))


# --- models/decoder.py ----------------------------------------------------------------------------


def test_sampling_every_token_is_teacher_forcing_on_the_models_own_argmax():
    """Kills `decoder.forward: y = _sampled(y, <the top layer's h>, ...)`: scheduled sampling
    predicts from h~_{t-1}, the output the logits are read from, not the top recurrent layer's
    h. With sampling_eps = 1 every step t > 0 reads the model's own argmax over the tokens a
    decoder may choose (never <pad> or <s>), padded positions too, so the loss is that of teacher
    forcing on the tokens that stepping the model from <s> picks."""
    model, b = tiny(), batch()
    state, y, fed = model.encode(b.src, b.src_mask), b.tgt_in[:, 0], [b.tgt_in[:, 0]]
    for _ in range(b.tgt_in.shape[1] - 1):
        logp, state, _ = model.step(y, state)
        logp[:, [PAD_ID, BOS_ID]] = -np.inf
        y = logp.argmax(axis=1)
        fed.append(y)
    fed = np.stack(fed, axis=1)
    assert not np.array_equal(fed, b.tgt_in)  # the model's own tokens differ from the reference
    want = model.loss(b._replace(tgt_in=fed))
    got = model.loss(b, rng=np.random.default_rng(0), sampling_eps=1.0)
    assert got == pytest.approx(want, rel=1e-12)


def test_the_training_pass_returns_each_steps_attention_weights():
    """Kills `decoder.forward: weights[:, 0] = w` (every step's weights written over the first
    row): row t of the weights is step t's attention, a distribution over the real source
    positions, the one that decoding step by step gives at that step."""
    model, b = tiny(), batch()
    cfg, p = model.cfg, model.params
    enc, final, _ = encoder.forward(b.src, b.src_mask, p, cfg)
    states0, _ = bridge.forward(final, p, cfg)
    _, weights, _ = decoder.forward(b.tgt_in, enc, b.src_mask, states0, p, cfg)
    N, T = b.tgt_in.shape
    np.testing.assert_allclose(weights.sum(axis=2), np.ones((N, T)), rtol=1e-12)
    assert not weights[b.src_mask[:, None, :].repeat(T, axis=1) == 0].any()
    state = model.encode(b.src, b.src_mask)
    for t in range(T):
        _, state, w = model.step(b.tgt_in[:, t], state)
        np.testing.assert_allclose(weights[:, t], w, rtol=1e-12, atol=1e-15)


# --- models/ensemble.py ---------------------------------------------------------------------------


def test_an_ensembles_token_logprobs_are_the_log_of_its_members_mean_probability():
    """Kills `Ensemble.token_logprobs: sum(member.token_logprobs(batch)) / M` (the mean of the
    log-probabilities, a geometric mean, instead of the log of the mean probability that
    decoding's `step` takes): computed here with NumPy from each member's own scores."""
    members = [tiny(seed=1), tiny(seed=2, cell="lstm", hidden=3)]
    b = batch()
    each = np.stack([m.token_logprobs(b) for m in members])  # (M, N, T)
    want = np.log(np.exp(each).mean(axis=0))  # 0 at padding: log of a mean of ones
    got = Ensemble(members).token_logprobs(b)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert not np.allclose(want, each.mean(axis=0))  # the two means do differ here


# --- models/params.py ----------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_only_an_lstm_starts_a_gate_at_forget_bias(cell):
    """Kills `_init_one: if cfg.cell != "rnn" and name.endswith(".b_ih")` (a GRU's b_ih given
    forget_bias too): a GRU has no forget gate, and an RNN no gate at all, so every bias of theirs
    starts at zero, whatever forget_bias says (tests/test_model.py checks an LSTM's)."""
    model = tiny(cell=cell, forget_bias=0.75, enc_layers=2, dec_layers=2, bidirectional=True)
    biases = {k: v for k, v in model.params.items() if v.ndim == 1}
    assert any(k.endswith(".b_ih") for k in biases)
    for name, b in biases.items():
        np.testing.assert_array_equal(b, np.zeros_like(b), err_msg=name)


# --- train/trainer.py -----------------------------------------------------------------------------


def tiny_trainer(tmp_path, **train_kw) -> trainer.Trainer:
    model = tiny()
    tcfg = TrainConfig(**{"epochs": 1, "batch_size": 2, "metric": "loss"} | train_kw)
    meta = {"model": model.cfg.to_dict(), "train": tcfg.to_dict()}
    return trainer.Trainer(model, tcfg, EXAMPLES, lambda m: {"loss": 1.0}, tmp_path, meta=meta,
                           progress=False)  # fmt: skip


def test_update_i_samples_with_the_schedules_probability_at_i(tmp_path, monkeypatch):
    """Kills `Trainer.step: sampling_eps(t, state["step"] + 1)`: the linear schedule from 0 to
    1 - teacher_forcing = 0.5 over 4 updates feeds back the model's tokens with probability
    0.5 * min(i, 4) / 4 at update i: 0, 0.125, 0.25."""
    seen, real = [], trainer.group_loss_and_grads

    def recorded(*args, **kw):
        seen.append(kw["sampling_eps"])
        return real(*args, **kw)

    monkeypatch.setattr(trainer, "group_loss_and_grads", recorded)
    tr = tiny_trainer(tmp_path, teacher_forcing=0.5, sampling_schedule="linear", sampling_steps=4)
    for _ in range(3):
        tr.step(batch())
    assert seen == [0.0, 0.125, 0.25]


# --- train/divergence.py --------------------------------------------------------------------------

# log of float64's largest number, worked out here: exp of it is still finite
LOG_MAX = math.log(sys.float_info.max)


def test_a_loss_whose_perplexity_is_the_largest_float_trains_on():
    """Kills `check_update: loss >= LOSS_OF_OVERFLOWING_PERPLEXITY` and `check_dev: dev loss >=`:
    a mean loss of log(float64 max) nats has a finite perplexity, so it is no divergence."""
    assert math.isfinite(math.exp(LOG_MAX))
    check_update(3, LOG_MAX, 1.0, 0.0, np.float64, lambda: "")
    check_dev({"loss": LOG_MAX}, "loss", "epoch 1", "this epoch", lambda: "")
    with pytest.raises(NonFiniteLoss):  # and just above it, it is
        check_update(3, math.nextafter(LOG_MAX, math.inf), 1.0, 0.0, np.float64, lambda: "")


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_metric_beside_a_finite_loss_stops_the_run(value):
    """Kills `check_dev: for k in ("loss",)` and `check_dev: if k in dev and
    math.isnan(dev[k])`: a metric (here BLEU) that is NaN or infinite is a model that has
    diverged even where its dev loss is finite."""
    with pytest.raises(NonFiniteLoss, match=f"dev bleu {value}"):
        check_dev({"loss": 2.0, "bleu": value}, "bleu", "epoch 2", "this epoch", lambda: "")


@pytest.mark.parametrize("clip", [0.0, 1.0])
@pytest.mark.parametrize("norm", [math.nan, math.inf])
def test_a_non_finite_gradient_norm_beside_a_finite_loss_stops_the_run(norm, clip):
    """Kills `check_update: if not math.isfinite(loss)`: a gradient that overflowed (its norm
    infinite or NaN) while the loss stayed finite is refused, with clipping on or off (clipped,
    min(norm, clip) is the clip, and NaN > limit is False: no later check sees it)."""
    with pytest.raises(NonFiniteLoss, match=f"gradient norm {norm}"):
        check_update(4, 1.0, norm, clip, np.float32, lambda: "")

"""The README's reason why --reverse-source gives a bidirectional encoder nothing but another draw:
read reversed, it computes what the plain model computes with its two directions' weights
exchanged and the halves [fwd; bwd] exchanged in every matrix that reads the encoder's outputs or
final states, for every cell, bridge, attention score and depth; and it trains as that plain
model does, update for update (to float rounding), so the option only moves the random draws.

The exchange is written out here per matrix, from the equations (attention_keys.py: concat's
W_a = [W_q | W_k] reads the encoder with its last columns; decoder_step.py: the combine layer reads
[c; h]), not from the code's own layout tables."""

import dataclasses
import itertools

import numpy as np
import pytest

from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import CELLS
from minis2s.train.grad_norm import clip_grad_norm
from minis2s.train.optim import Adam
from tests.test_reverse_source import EXAMPLES, batch_of

F64 = np.float64
H = 3  # hidden units per direction, and the decoder's


def swap_halves(W: np.ndarray, start: int) -> np.ndarray:
    """W with its columns start .. start+H and start+H .. start+2H exchanged: a matrix that reads
    [fwd; bwd] from column `start` made to read [bwd; fwd]."""
    W = W.copy()
    W[:, start : start + 2 * H] = np.concatenate(
        [W[:, start + H : start + 2 * H], W[:, start : start + H]], axis=1
    )
    return W


# the matrices that read the encoder (N, S, 2H) or the top layer's final states (N, 2H), and the
# column where that [fwd; bwd] starts; 'concat' reads [h_t; enc_s], so its enc columns start at H
READERS = {"bridge.W": 0, "bridge_c.W": 0, "dec.att.W_k": 0, "dec.combine.W": 0}


def swapped_directions(p: dict, cfg: ModelConfig) -> dict:
    """The parameters of the plain model that computes what the reversed model of `p` does (new
    arrays, so that training one model leaves the other's alone)."""
    q = {name: a.copy() for name, a in p.items()}
    for name in p:
        if name.startswith("enc.rnn."):
            _, _, layer, d, w = name.split(".")
            other = p[f"enc.rnn.{layer}.{'bwd' if d == 'fwd' else 'fwd'}.{w}"]
            q[name] = swap_halves(other, 0) if w == "W_ih" and layer != "l0" else other.copy()
    readers = READERS | {"dec.att.W_a": H if cfg.attention == "concat" else 0}
    for name, start in readers.items():
        if name in p:
            q[name] = swap_halves(p[name], start)
    return q


def configs():
    """Every cell, bridge and attention score a bidirectional encoder allows (dot and
    scaled_dot need a one-way encoder), one and two layers, with and without input feeding;
    not bridge 'zero' without attention, whose decoder never sees the source."""
    for cell, bridge, attention, layers in itertools.product(
        CELLS, ("zero", "last", "learned", "learned_h"), ("general", "concat", "additive", "none"),
        (1, 2),
    ):  # fmt: skip
        if (bridge == "learned_h" and cell != "lstm") or (bridge, attention) == ("zero", "none"):
            continue  # no such model; a decoder that never sees the source
        yield dict(cell=cell, bridge=bridge, attention=attention, enc_layers=layers,
                   dec_layers=layers, input_feed=attention != "none" and layers == 1)  # fmt: skip


def twins(**kw) -> tuple[ModelConfig, Seq2Seq]:
    """(the plain config, a model reading the source reversed) of a small bidirectional model."""
    cfg = ModelConfig(src_vocab=7, tgt_vocab=7, emb=2, hidden=H, init_scale=1.0, **kw)
    return cfg, Seq2Seq(dataclasses.replace(cfg, reverse_source=True), seed=3, dtype=F64)


@pytest.mark.parametrize("opts", list(configs()), ids=lambda o: "-".join(map(str, o.values())))
def test_a_reversed_bidirectional_model_is_the_plain_one_with_its_directions_exchanged(opts):
    cfg, rev = twins(**opts)
    swapped = Seq2Seq(cfg, swapped_directions(rev.params, cfg), dtype=F64)
    plain = Seq2Seq(cfg, rev.params, dtype=F64)
    b = batch_of(EXAMPLES)
    want = rev.token_logprobs(b)
    np.testing.assert_allclose(swapped.token_logprobs(b), want, rtol=1e-12, atol=1e-14)
    assert not np.allclose(plain.token_logprobs(b), want)  # the exchange is needed


def test_training_follows_the_plain_model_with_its_directions_exchanged():
    """Four Adam updates with clipping, dropout (on the embeddings and the decoder's outputs,
    drawn in the same places) and scheduled sampling: the reversed model's parameters stay the
    exchange of the plain model's, so training reversed is training plain from the exchanged
    draw. (With dropout between two encoder layers the masks would fall on other units: another
    draw again, of the same distribution.)"""
    cfg, rev = twins(cell="lstm", attention="concat", bridge="learned", dropout=0.3)
    plain = Seq2Seq(cfg, swapped_directions(rev.params, cfg), dtype=F64)
    rngs = [np.random.default_rng(8) for _ in range(2)]
    opts = [Adam(m.params, lr=0.05) for m in (rev, plain)]
    b = batch_of(EXAMPLES)
    for _ in range(4):
        for model, rng, opt in zip((rev, plain), rngs, opts, strict=True):
            _, grads = model.loss_and_grads(b, rng=rng, sampling_eps=0.3, label_smoothing=0.1)
            clip_grad_norm(grads, 0.5)
            opt.step(model.params, grads)
    want = swapped_directions(rev.params, cfg)
    for name, w in want.items():
        np.testing.assert_allclose(plain.params[name], w, rtol=1e-9, atol=1e-12, err_msg=name)
    start = Seq2Seq(cfg, seed=3, dtype=F64).params["enc.rnn.l0.fwd.W_ih"]
    assert not np.allclose(rev.params["enc.rnn.l0.fwd.W_ih"], start)  # it trained

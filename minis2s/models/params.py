"""Parameter dicts with dotted names: creating them for a config, and slicing them by prefix.

A model's parameters are one flat `dict[str, array]` ("enc.rnn.l0.fwd.W_ih", "out.W", ...), so
optimizers, checkpoints and gradient checks treat every model alike. Layers take the slice of
the dict they own, with the prefix stripped: `sub(params, "enc.rnn.")`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s import backend
from minis2s.data.vocab import PAD_ID
from minis2s.layers import attention, embedding, linear, stack
from minis2s.models.config import ModelConfig


def sub(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of `params` under `prefix`, with the prefix removed (same arrays, no copy)."""
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def prefixed(grads: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`grads` with `prefix` put in front of every key."""
    return {prefix + k: v for k, v in grads.items()}


def add_into(total: dict[str, Any], grads: dict[str, Any]) -> None:
    """total[k] += grads[k] for every key, creating missing keys (in place)."""
    for k, g in grads.items():
        if k in total:
            total[k] = total[k] + g
        else:
            total[k] = g


SIDES = {"src": "enc.emb.W", "tgt": "dec.emb.W"}  # side -> its own embedding matrix


def embedding_of(cfg: ModelConfig, side: str) -> str:
    """The name of the matrix that embeds `side`'s ("src" or "tgt") token ids: SIDES[side], or
    with share_embeddings "dec.emb.W" for both sides, one matrix over one vocabulary, whose
    gradient is then the sum of the encoder's and the decoder's."""
    return "dec.emb.W" if cfg.share_embeddings else SIDES[side]


def shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of the model `cfg` describes."""
    r = np.random.default_rng(0)  # the layers' own init functions give us the shapes
    p: dict[str, Any] = {}
    if cfg.src_features <= 0 and not cfg.share_embeddings:  # shared: the encoder reads dec.emb.W
        p |= prefixed(embedding.init(cfg.src_vocab, cfg.emb, r), "enc.emb.")
    D_enc = cfg.src_features if cfg.src_features > 0 else cfg.emb
    p |= prefixed(
        stack.init(cfg.cell, D_enc, cfg.hidden, cfg.enc_layers, cfg.bidirectional, r), "enc.rnn."
    )
    if cfg.bridge in ("learned", "learned_h"):
        p |= prefixed(linear.init(cfg.enc_out, cfg.hidden, r), "bridge.")
    if cfg.bridge == "learned" and cfg.cell == "lstm":
        p |= prefixed(linear.init(cfg.enc_out, cfg.hidden, r), "bridge_c.")
    p |= prefixed(embedding.init(cfg.tgt_vocab, cfg.emb, r), "dec.emb.")
    dec = stack.init(cfg.cell, cfg.dec_in, cfg.hidden, cfg.dec_layers, False, r)
    p |= prefixed(dec, "dec.rnn.")
    if cfg.attention != "none":
        p |= prefixed(attention.init(cfg.attention, cfg.hidden, cfg.enc_out, r), "dec.att.")
        p |= prefixed(linear.init(cfg.enc_out + cfg.hidden, cfg.hidden, r), "dec.combine.")
    out = linear.init(cfg.hidden, cfg.tgt_vocab, r)
    if cfg.tie_embeddings:
        del out["W"]  # the output projection reuses dec.emb.W (V, E) with E == H
    p |= prefixed(out, "out.")
    return {k: v.shape for k, v in p.items()}


def init_params(cfg: ModelConfig, seed: int = 0, dtype: Any = np.float32) -> dict[str, Any]:
    """Fresh parameters for `cfg` on the current backend, the same on every backend for a seed.

    Matrices: U(-init_scale, init_scale) or Glorot uniform; biases zero; LSTM forget-gate
    biases `forget_bias` (in b_ih, so b_ih + b_hh starts at forget_bias); embedding pad rows zero;
    the attention vector v (concat, additive) U(-init_scale, init_scale) with either init.
    """
    r = backend.rng(seed)
    be = backend.current()
    params = {}
    for name, shape in shapes(cfg).items():
        params[name] = be.asarray(_init_one(name, shape, cfg, r), dtype=dtype)
    return params


def _init_one(name: str, shape: tuple[int, ...], cfg: ModelConfig, r: np.random.Generator):
    if len(shape) == 1:
        w = np.zeros(shape)
        if cfg.cell == "lstm" and name.endswith(".b_ih") and ".rnn." in name:
            H = shape[0] // 4
            w[H : 2 * H] = cfg.forget_bias  # gates i, f, g, o: f is the second block
        if name.endswith("att.v"):
            w = r.uniform(-cfg.init_scale, cfg.init_scale, shape)  # v = 0 would make s = 0
        return w
    if cfg.init == "xavier":
        fan_out, fan_in = shape[0], int(np.prod(shape[1:]))
        k = np.sqrt(6.0 / (fan_in + fan_out))
    else:
        k = cfg.init_scale
    w = r.uniform(-k, k, shape)
    if name.endswith("emb.W"):
        w[PAD_ID] = 0.0
    return w

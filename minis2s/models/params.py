"""Parameter dicts with dotted names: creating them for a config, and slicing them by prefix.

A model's parameters are one flat `dict[str, array]` ("enc.rnn.l0.fwd.W_ih", "out.W", ...), so
optimizers, checkpoints and gradient checks treat every model alike. Layers take the slice of
the dict they own, with the prefix stripped: `sub(params, "enc.rnn.")`, or many slices in one
pass: `subs(params, ["dec.rnn.l0.fwd.", ...])`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from minis2s import backend
from minis2s.data.vocab import EOS_ID, PAD_ID
from minis2s.decode.common import NEVER_CHOSEN
from minis2s.layers import attention, embedding, linear, stack
from minis2s.models.config import ModelConfig


def sub(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of `params` under `prefix`, with the prefix removed (same arrays, no copy)."""
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def subs(params: dict[str, Any], prefixes: Sequence[str]) -> list[dict[str, Any]]:
    """[sub(params, q) for q in prefixes] in one pass over `params`: each key is offered to the
    prefixes that end at one of its dots, so L layers cost O(L) rather than sub's O(L) scans of
    O(L) keys each (--dec-layers 2000 spent minutes there). Each prefix ends with "." (so that
    "l1." is not a start of "l10."); a prefix given twice gets one dict twice."""
    for q in prefixes:
        if not q.endswith("."):
            raise ValueError(f"subs: prefix {q!r} must end with '.'")
    views: dict[str, dict[str, Any]] = {q: {} for q in prefixes}
    for k, v in params.items():
        dot = k.find(".")
        while dot >= 0:
            head = k[: dot + 1]
            if head in views:
                views[head][k[dot + 1 :]] = v
            dot = k.find(".", dot + 1)
    return [views[q] for q in prefixes]


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
    # The layers' own init functions give us the shapes; their values, PyTorch's defaults for a
    # layer used alone, are dropped: init_params draws a model's start as ModelConfig.init says
    # (_init_one), each parameter in turn from one seeded stream, so that a seed gives the same
    # model on every backend. Two definitions on purpose: making the layers' draw the model's
    # would change every model's start, and the figures measured from it (README).
    r = np.random.default_rng(0)
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


def init_params(
    cfg: ModelConfig, seed: int = 0, dtype: Any = np.float32, tgt_counts: Any = None
) -> dict[str, Any]:
    """Fresh parameters for `cfg` on the current backend, the same on every backend for a seed.

    Matrices: U(-init_scale, init_scale) or Glorot uniform; biases zero; LSTM forget-gate
    biases `forget_bias` (in b_ih, so b_ih + b_hh starts at forget_bias); embedding pad rows zero;
    the attention vector v (concat, additive) U(-init_scale, init_scale) with either init; with
    output_bias="unigram", out.b = unigram_bias(tgt_counts), tgt_counts (V,) being
    `target_counts` of the training targets (set after the draws: the other parameters are
    those of output_bias="zero").
    """
    _check_counts(cfg, tgt_counts)
    r = backend.rng(seed)
    be = backend.current()
    params = {}
    for name, shape in shapes(cfg).items():
        params[name] = be.asarray(_init_one(name, shape, cfg, r), dtype=dtype)
    if cfg.output_bias == "unigram":
        params["out.b"] = be.asarray(unigram_bias(tgt_counts), dtype=dtype)
    return params


# The additive smoothing of output_bias="unigram". A token that no training target holds would
# start at log 0 = -inf; with alpha = 0.1 it starts at log(0.1 / (total + 0.1 V)), log 11 = 2.4
# nats below a token seen once: the least likely token, yet finite, so its logit still takes
# gradients and float32 holds it. And 0.1 is small next to any real count (>= 1), so a seen
# token starts within log 1.1 = 0.1 nats of its log frequency log(count / total) (when total is
# large next to 0.1 V), which is the point of the init; add-one smoothing would move a rare
# token's start by up to log 2.
UNIGRAM_ALPHA = 0.1


def target_counts(targets: Iterable[Sequence[int]], V: int) -> np.ndarray:
    """(V,) int64: how often each id is a token the loss counts in `targets`, target id lists y
    without </s> (as an Example holds them): y's ids, and one </s> per target, which
    tgt_out = y + [</s>] ends with. <pad> and <s> (decode.common.NEVER_CHOSEN) count 0: the loss
    ignores <pad>, no tgt_out holds <s>, and decoding never chooses either."""
    targets = list(targets)
    ids = np.fromiter((i for y in targets for i in y), dtype=np.int64)
    if ids.size and not 0 <= ids.min() <= ids.max() < V:
        raise ValueError(f"target_counts: target ids must be in [0, {V}) (V = {V}); got ids "
                         f"from {ids.min()} to {ids.max()}")  # fmt: skip
    counts = np.bincount(ids, minlength=V)
    counts[EOS_ID] += len(targets)
    counts[NEVER_CHOSEN] = 0
    return counts


def unigram_bias(counts: Any, alpha: float = UNIGRAM_ALPHA) -> np.ndarray:
    """(V,) float64 log p(v) = log((count(v) + alpha) / (total + alpha V)), total = sum of the
    (V,) `counts` (`target_counts`): the output bias with which the untrained model, its other
    logits near 0, predicts the training targets' unigram distribution (Karpathy, "A Recipe for
    Training Neural Networks", 2019: init the final layer's bias to the log class frequencies),
    and a token never seen starts at the floor log(alpha / (total + alpha V)) (UNIGRAM_ALPHA)."""
    counts = np.asarray(counts, dtype=np.float64)
    V = counts.shape[0]
    return np.log((counts + alpha) / (counts.sum() + alpha * V))


def _check_counts(cfg: ModelConfig, tgt_counts: Any) -> None:
    """ValueError unless tgt_counts is given exactly when output_bias="unigram" needs it, as (V,)
    counts >= 0."""
    if cfg.output_bias != "unigram":
        if tgt_counts is not None:
            raise ValueError(
                f"init_params: tgt_counts sets out.b only with output_bias='unigram', and this "
                f"config has output_bias={cfg.output_bias!r}; leave tgt_counts out, or set "
                "output_bias='unigram'"
            )
        return
    if tgt_counts is None:
        raise ValueError(
            "init_params: output_bias='unigram' starts out.b at the log frequencies of the "
            "training targets' tokens, which the config alone does not know: pass tgt_counts="
            "target_counts(targets, V) (Seq2Seq(cfg, init_params(cfg, seed, tgt_counts=...))), or "
            "build the model from the data: pipeline.make_model or pipeline.train"
        )
    counts = np.asarray(tgt_counts)
    if counts.shape != (cfg.tgt_vocab,) or not np.all(counts >= 0):
        raise ValueError(
            f"init_params: tgt_counts must be ({cfg.tgt_vocab},) counts >= 0, one per target "
            f"token (tgt_vocab = {cfg.tgt_vocab}); got shape {counts.shape}, smallest "
            f"{counts.min() if counts.size else None}"
        )


def _init_one(name: str, shape: tuple[int, ...], cfg: ModelConfig, r: np.random.Generator):
    """The start of the parameter `name` (float64, cast by init_params), drawn from `r`."""
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

"""The encoder: token ids (or feature vectors) -> embedding -> dropout -> recurrent stack.

Equations (W_emb = "enc.emb.W" (src_vocab, E), or with share_embeddings the target embedding
"dec.emb.W" (V, E), the same matrix the decoder reads):
    x     = dropout(W_emb[src])            (N, S, E)   or dropout(src) for features (N, S, F)
    enc   = stack(x, mask)                 (N, S, dirs*H), zero at padding
    final = the stack's final states        PyTorch layout (L*dirs, N, H), a tuple for LSTM
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minis2s import validate
from minis2s.data.vocab import PAD_ID
from minis2s.layers import dropout, embedding, stack
from minis2s.models.config import ModelConfig
from minis2s.models.params import embedding_of, prefixed, sub


class EncoderCache(NamedTuple):
    emb: Any  # EmbeddingCache, or None for feature inputs
    emb_name: str  # the matrix read: "enc.emb.W", or "dec.emb.W" with share_embeddings
    drop: Any  # DropoutCache
    rnn: Any  # StackCache


def forward(
    src: Any, src_mask: Any, p: dict[str, Any], cfg: ModelConfig, rng: Any = None
) -> tuple[Any, Any, EncoderCache]:
    """Encode a batch. src (N, S) ids or (N, S, F) floats, src_mask (N, S) -> (enc (N, S,
    dirs*H), zero at padding; final, the stack's final states in PyTorch's layout (L*dirs, N, H),
    an (h, c) pair of them for LSTM; cache).

    `rng` (a NumPy Generator) turns dropout on; None means evaluation.
    """
    emb_name = embedding_of(cfg, "src")
    if cfg.src_features > 0:
        validate.shape("encoder", "src", src, (None, None, cfg.src_features), "N, S, F")
        x, c_emb = src, None
    else:
        validate.shape("encoder", "src", src, (None, None), "N, S")
        x, c_emb = embedding.forward(src, {"W": p[emb_name]}, pad_id=PAD_ID)
    x, c_drop = dropout.forward(x, cfg.dropout, rng, train=rng is not None)
    enc, final, c_rnn = stack.forward(
        x, None, sub(p, "enc.rnn."), mask=src_mask, cell=cfg.cell, dropout=cfg.dropout, rng=rng
    )
    return enc, final, EncoderCache(c_emb, emb_name, c_drop, c_rnn)


def backward(denc: Any, dfinal: Any, cache: EncoderCache) -> dict[str, Any]:
    """Gradients of every "enc.*" parameter from denc (N, S, dirs*H) and dfinal; with shared
    embeddings, the encoder's share of the gradient of "dec.emb.W" (the caller adds it to the
    decoder's)."""
    dx, _, dp_rnn = stack.backward(denc, dfinal, cache.rnn)
    grads = prefixed(dp_rnn, "enc.rnn.")
    dx = dropout.backward(dx, cache.drop)
    if cache.emb is not None:
        grads[cache.emb_name] = embedding.backward(dx, cache.emb)["W"]
    return grads

"""The encoder: token ids (or feature vectors) -> embedding -> dropout -> recurrent stack.

Equations (W_emb = "enc.emb.W" (src_vocab, E), or with share_embeddings the target embedding
"dec.emb.W" (V, E), the same matrix the decoder reads; R = stack.reverse with
stack.reverse_index(mask), which reverses each row's first L_n positions and is its own inverse):
    x     = dropout(W_emb[src])            (N, S, E)   or dropout(src) for features (N, S, F)
    enc   = stack(x, mask)                 (N, S, He), He = dirs*H, zero at padding
    final = the stack's final states        PyTorch layout (L*dirs, N, H), a tuple for LSTM
and with reverse_source (Sutskever et al. 2014, arXiv 1409.3215, section 3.3), the stack reads
each sentence last word first:
    enc   = R(stack(R(x), mask))           enc[:, s] is still source position s's memory
    final = the stack's final states        the forward direction's: after reading token 0
Reversing the outputs back keeps the attention weights, and all that reads them
(--show-attention, --replace-unk, --phrase-table), in the source's own order. The first source
words, read last, are then a few steps from the first target words, which in roughly monotone
pairs they align with: the paper's "short term dependencies".
"""

from __future__ import annotations

from typing import Any, NamedTuple

from minis2s import validate
from minis2s.backend import get_array_module
from minis2s.data.vocab import PAD_ID
from minis2s.layers import dropout, embedding, stack
from minis2s.models.config import ModelConfig
from minis2s.models.params import embedding_of, prefixed, sub


class EncoderCache(NamedTuple):
    emb: Any  # EmbeddingCache, or None for feature inputs
    emb_name: str  # the matrix read: "enc.emb.W", or "dec.emb.W" with share_embeddings
    drop: Any  # DropoutCache
    rnn: Any  # StackCache
    rev: Any  # (N, S) stack.reverse_index of the mask with reverse_source; None without


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
    rev = _reversal(x, src_mask) if cfg.reverse_source else None
    enc, final, c_rnn = stack.forward(
        stack.reverse(x, rev), None, sub(p, "enc.rnn."),
        mask=src_mask, cell=cfg.cell, dropout=cfg.dropout, rng=rng,
    )  # fmt: skip
    return stack.reverse(enc, rev), final, EncoderCache(c_emb, emb_name, c_drop, c_rnn, rev)


def _reversal(x: Any, src_mask: Any) -> Any:
    """The (N, S) gather index reversing each row of x (N, S, D)'s tokens, from src_mask (N, S)
    (None: no padding). Only the mask's shape is checked here, so that a wrong one is named
    rather than failing in the gather; its values are the stack's to check (0 and 1,
    right-padded), which it does at once: checking them here as well would be one more wait for
    the GPU in every batch."""
    N, S, xp = *x.shape[:2], get_array_module(x)
    if src_mask is None:
        return stack.reverse_index(xp.ones((N, S)))
    validate.shape("encoder", "src_mask", src_mask, (N, S), "N, S")
    # on x's array module (a NumPy mask beside CuPy data: one copy), whatever the values: an
    # index within each row
    return stack.reverse_index(xp.asarray(src_mask) != 0)


def backward(denc: Any, dfinal: Any, cache: EncoderCache) -> dict[str, Any]:
    """Gradients of every "enc.*" parameter from denc (N, S, dirs*H) and dfinal; with shared
    embeddings, the encoder's share of the gradient of "dec.emb.W" (the caller adds it to the
    decoder's)."""
    # enc = R(stack(R(x))), R its own inverse: the stack gets R(denc), x gets R(dx)
    # the stack started from zeros, not a parameter: its initial state's gradient goes nowhere
    dx, _, dp_rnn = stack.backward(stack.reverse(denc, cache.rev), dfinal, cache.rnn)
    grads = prefixed(dp_rnn, "enc.rnn.")
    dx = dropout.backward(stack.reverse(dx, cache.rev), cache.drop)
    if cache.emb is not None:
        grads[cache.emb_name] = embedding.backward(dx, cache.emb)["W"]
    return grads

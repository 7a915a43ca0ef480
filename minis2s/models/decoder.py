"""The decoder over the target's steps: step t (decoder_step.py: its equations, forward and
backward) in a loop, from the first state the bridge gives to every step's h~_t (N, H).

The loop runs step by step because input feeding and scheduled sampling make step t depend on
step t-1's output. What does not depend on the step is done once per batch. Before the loop: the
attention keys (attention.keys_forward, in layers/attention_keys.py). After the backward loop
(`summed_grads`), every gradient that is a sum over the steps, as one GEMM or batched product
over the steps stacked on a time axis: the cells' W_ih, W_hh, b (`weight_grads` of the
pre-activation gradients, layers/_recurrent.py), the combine layer's W_c, b_c, the attention's
keys and values (`attention.key_value_grads`, then attention.keys_backward), and the target
embedding (one scatter-add). The backward loop itself does only what the step before needs
(`step_backward`): one GEMM per weight and step (its input gradient) instead of two; the weight
gradient moves after the loop.
With teacher forcing the target embeddings are also looked up once, before the loop; on the numba
backend the cells' weights are transposed once for their steps' GEMMs (`step_params`; decoding
does so once per decode call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from minis2s import validate
from minis2s.backend import get_array_module
from minis2s.data.vocab import PAD_ID
from minis2s.layers import attention, dropout, embedding, linear
from minis2s.layers._recurrent import weight_grads
from minis2s.models.config import ModelConfig
from minis2s.models.decoder_step import (
    StepCache,
    StepGrads,
    attention_keys,
    split_params,
    step_backward,
    step_forward,
    step_params,
)
from minis2s.models.params import add_into, prefixed

# one step's pieces (decoder_step.py) re-exported: decoding steps the decoder through this module
# (Seq2Seq.encode calls decoder.step_params, Seq2Seq.step decoder.step_forward)
__all__ = [
    "DecoderCache", "split_params", "step_params", "attention_keys", "step_forward",
    "step_backward", "summed_grads", "draws_per_pass", "forward", "backward",
]  # fmt: skip


class DecoderCache(NamedTuple):
    """What `backward` needs of `forward`: every step's StepCache and what the loop shares."""

    cfg: ModelConfig
    steps: list  # StepCache per target step
    emb: Any  # EmbeddingCache over the tokens actually fed (N, T)
    enc_shape: tuple  # (N, S, He)
    states0: list  # initial states, for the shapes of their gradients
    c_keys: Any  # attention.KeysCache of the keys (N, S, Hk) every step shared, or None


def draws_per_pass(N: int, T: int, cfg: ModelConfig, sampling: bool) -> int:
    """How many uniforms `forward` draws from its rng, in this order at each step t: the
    scheduled-sampling coins (N) when t > 0, then `step_forward`'s dropout masks, the input's
    (N, E) and one (N, H) between each two layers."""
    coins = N if sampling else 0
    masks = N * (cfg.emb + (cfg.dec_layers - 1) * cfg.hidden) if cfg.dropout > 0 else 0
    return T * masks + (T - 1) * coins


def forward(
    tgt_in: Any,
    enc: Any,
    src_mask: Any,
    states0: list[Any],
    p: dict[str, Any],
    cfg: ModelConfig,
    *,
    rng: Any = None,
    sampling_eps: float = 0.0,
    predict: Callable[[Any], Any] | None = None,
) -> tuple[Any, Any, DecoderCache]:
    """Run the decoder over tgt_in (N, T) ids -> (outs (N, T, H), weights (N, T, S) or None, cache),
    attending over enc (N, S, He) with src_mask (N, S), from states0 (a list of dec_layers
    states, each h (N, H) or an LSTM (h, c)).

    Scheduled sampling: with probability `sampling_eps` per token (drawn from `rng`), step t > 0
    reads `predict(h~_{t-1})` (the model's own argmax) instead of the reference token.

    `weights`: row t is step t's attention over the source, as decoding step by step gives it
    when fed the reference: where the model looks while it writes a given translation.
    Seq2Seq's loss ignores them (backward has them in the cache); they are returned for a
    reader who wants that alignment, at the cost of one (N, T, S) array a pass.
    """
    xp = get_array_module(enc)
    src_mask = _checked_inputs(tgt_in, enc, src_mask, cfg)  # once: every step trusts them
    N, T = tgt_in.shape
    dp = step_params(p, cfg)  # T steps, one batch
    states, out = states0, xp.zeros((N, cfg.hidden), dtype=enc.dtype)  # out: h~_{-1} = 0
    outs = xp.empty((N, T, cfg.hidden), dtype=enc.dtype)
    weights = xp.empty((N, T, enc.shape[1]), dtype=enc.dtype) if cfg.attention != "none" else None
    keys, c_keys = attention_keys(enc, dp, cfg)
    sampling = sampling_eps > 0 and rng is not None
    draws = None if rng is None else dropout.Uniforms(rng, draws_per_pass(N, T, cfg, sampling), enc)
    if sampling:
        fed = xp.empty_like(tgt_in)  # the tokens read: the reference's or the model's own
    else:  # teacher forcing: every step's token is known, so one lookup for all
        embedded, c_emb = embedding.forward(tgt_in, dp.emb, pad_id=PAD_ID, ids_checked=True)
    steps = []
    for t in range(T):
        if sampling:
            y = tgt_in[:, t]
            if t > 0:
                y = _sampled(y, out, draws, sampling_eps, predict)
            fed[:, t] = y
            e, _ = embedding.forward(y, dp.emb, pad_id=PAD_ID, ids_checked=True)  # as backward
        else:
            e = embedded[:, t]
        out, states, w, c_step = step_forward(
            e, states, out, enc, src_mask, dp, cfg, draws, keys=keys
        )
        outs[:, t] = out
        if w is not None:
            weights[:, t] = w
        steps.append(c_step)
    if sampling:
        _, c_emb = embedding.forward(fed, dp.emb, pad_id=PAD_ID, ids_checked=True)  # for backward
    if draws is not None:
        draws.check_all_used("decoder.forward")
    return outs, weights, DecoderCache(cfg, steps, c_emb, enc.shape, states0, c_keys)


def _checked_inputs(tgt_in: Any, enc: Any, src_mask: Any, cfg: ModelConfig) -> Any:
    """src_mask (N, S) as `validate.mask` returns it, once tgt_in (N, T) ids, T >= 1, is checked
    to be a batch of the N sources of enc (N, S, He) and of ids of the target vocabulary."""
    # tgt_in first: a batch whose targets and sources disagree is told as such, not as a bad mask
    validate.shape("decoder", "tgt_in", tgt_in, (enc.shape[0], None), "N, T; N of the sources")
    N, T = tgt_in.shape
    if T == 0:
        raise ValueError("decoder: tgt_in has T = 0 steps; each target needs at least <s>")
    validate.token_ids("decoder", "tgt_in", tgt_in, cfg.tgt_vocab)
    return validate.mask("decoder", src_mask, N, enc.shape[1], enc.dtype, like=enc)


def _sampled(
    y_ref: Any, out_prev: Any, draws: Any, sampling_eps: float, predict: Callable[[Any], Any]
) -> Any:
    """Scheduled sampling's input token of a step t > 0, (N,) ids: per sentence, with
    probability sampling_eps (one uniform of `draws` each) the model's own `predict(h~_{t-1})`
    from out_prev (N, H), else the reference's y_ref (N,)."""
    own = draws.random(y_ref.shape[0]) < sampling_eps
    return get_array_module(y_ref).where(own, predict(out_prev), y_ref)


def backward(douts: Any, cache: DecoderCache) -> tuple[Any, list[Any], dict[str, Any]]:
    """(denc (N, S, He), dstates0 per layer, grads of every "dec.*" parameter) from douts
    (N, T, H), the gradient of every step's h~_t through the output layer."""
    cfg = cache.cfg
    xp = get_array_module(douts)
    N, T, H = douts.shape
    dstates = [_zeros_like_state(s) for s in cache.states0]  # the last states feed nothing
    dembedded = xp.empty((N, T, cfg.emb), dtype=douts.dtype)  # (N, T, E)
    dfeed = xp.zeros((N, H), dtype=douts.dtype)  # dL/dh~_t through step t+1's input feeding
    sgs: list[Any] = [None] * T  # each step's StepGrads, summed over the steps after the loop
    for t in range(T - 1, -1, -1):
        dembedded[:, t], dfeed_prev, dstates, sgs[t] = step_backward(
            douts[:, t] + dfeed, dstates, cache.steps[t], cfg
        )
        if dfeed_prev is not None:
            dfeed = dfeed_prev
    dkeys, denc_values, grads = summed_grads(cache.steps, sgs, cfg)
    grads |= prefixed(embedding.backward(dembedded, cache.emb), "dec.emb.")
    if dkeys is None:  # no attention: enc reaches the loss only through the bridge
        return xp.zeros(cache.enc_shape, dtype=douts.dtype), dstates, grads
    denc_keys, dp_keys = attention.keys_backward(dkeys, cache.c_keys)
    add_into(grads, prefixed(dp_keys, "dec.att."))  # concat: W_a's W_k columns; W_q's came above
    return denc_values + denc_keys, dstates, grads


def summed_grads(
    caches: list[StepCache], sgs: list[StepGrads], cfg: ModelConfig
) -> tuple[Any, Any, dict[str, Any]]:
    """The gradients that are sums over the steps, from every step's cache and StepGrads (in step
    order), each as one GEMM or batched product over the steps stacked on axis 1: (dkeys
    (N, S, Hk) or None, denc through the attention values (N, S, He) or None, grads of the cells,
    the combine layer and the query-side attention parameters, keyed "dec.*")."""
    xp = get_array_module(caches[0].cells[0].x)

    def stacked(arrays: list[Any]) -> Any:
        return xp.stack(arrays, axis=1)  # T arrays (N, .) -> (N, T, .)

    grads: dict[str, Any] = {}
    for l in range(cfg.dec_layers):
        cells, pre = [c.cells[l] for c in caches], [g.cells[l] for g in sgs]
        dax = stacked([dax for dax, _ in pre])
        shared = pre[0][1] is pre[0][0]  # RNN, LSTM: one pre-activation, passed twice
        dah = dax if shared else stacked([dah for _, dah in pre])
        x, h_prev = stacked([c.x for c in cells]), stacked([c.h_prev for c in cells])
        grads |= prefixed(weight_grads(dax, dah, x, h_prev), f"dec.rnn.l{l}.fwd.")
    if cfg.attention == "none":
        return None, None, grads
    dz, cat = stacked([g.dz for g in sgs]), stacked([c.comb.x for c in caches])
    grads |= prefixed(linear.weight_grads(dz, cat), "dec.combine.")
    join = lambda arrays: xp.concatenate(arrays, axis=1)  # noqa: E731  (N, 1, .) -> (N, T, .)
    dkeys, denc, dp_att = attention.key_value_grads(
        join([g.dcontext for g in sgs]),
        join([g.ds for g in sgs]),
        attention.stack_queries([c.att for c in caches]),
    )
    return dkeys, denc, grads | prefixed(dp_att, "dec.att.")


def _zeros_like_state(state: Any) -> Any:
    """Zeros in the shape of a cell state: h (N, H), or LSTM's (h, c)."""
    if isinstance(state, tuple):
        return tuple(get_array_module(s).zeros_like(s) for s in state)
    return get_array_module(state).zeros_like(state)

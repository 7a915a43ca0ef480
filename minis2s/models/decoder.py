"""The decoder, one step at a time: recurrent stack, Luong attention, input feeding.

Equations (step t, layer l = 0..L-1 as in the parameter names "dec.rnn.l{l}", y_{t-1} the
previous target token, W_emb = "dec.emb.W" (V, E)):
    x^0_t   = [dropout(W_emb[y_{t-1}]); h~_{t-1}]         with input feeding, h~_{-1} = 0
            = dropout(W_emb[y_{t-1}])                     without
    s^l_t   = cell(x^l_t, s^l_{t-1}),  x^{l+1}_t = dropout(h^l_t)    h^l_t: the h of s^l_t
    a_t, c_t = attention(h^{L-1}_t, enc, src_mask)        weights (N, S), context (N, He)
    z_t     = W_c [c_t; h^{L-1}_t] + b_c                  W_c = "dec.combine.W" (H, He + H)
    h~_t    = tanh(z_t)                                   (h~_t = h^{L-1}_t without attention)
h~_t (N, H), the attentional state (Luong et al. 2015, eq. 5), is the decoder's output: seq2seq.py
turns it into logits. In the code h~_t is `out`, s^l_t `states[l]`, c_t `ctx`, a_t `w`.

Backward of step t (`step_backward`), from dh~_t: the logits' gradient through the output layer
(`douts[:, t]`), plus, with input feeding, what step t+1 sent back through x^0_{t+1} (`dfeed`):
    dz_t              = dh~_t * (1 - h~_t^2)                 tanh' = 1 - tanh^2
    [dc_t; dh^{L-1}_t] = W_c^T dz_t                          the two halves of the combine's input
    dh^{L-1}_t       += the query's gradient, from dc_t through the attention (score_grads, then
                        query_grads): h^{L-1}_t is both the query and part of the combine's input
    layer l = L-1 .. 0: the cell's step backward from what step t+1 sent to s^l_t (`dstates[l]`)
                        plus dh^l_t (from above); its input gradient dx^l_t goes back through the
                        dropout to dh^{l-1}_t, and at l = 0 splits into the embedding's and, with
                        input feeding, dh~_{t-1}

The loop runs step by step because input feeding and scheduled sampling make step t depend on
step t-1's output. What does not depend on the step is done once per batch. Before the loop: the
attention keys (attention.keys_forward). After the backward loop (`summed_grads`), every gradient
that is a sum over the steps, as one GEMM or batched product over the steps stacked on a time
axis: the cells' W_ih, W_hh, b (`weight_grads` of the pre-activation gradients), the combine
layer's W_c, b_c, the attention's keys and values (`attention.key_value_grads`, then
keys_backward), and the target embedding (one scatter-add). The backward loop itself does only
what the step before needs (`step_backward`): one GEMM per weight and step (its input gradient)
instead of two; the weight gradient moves after the loop.
With teacher forcing the target embeddings are also looked up once, before the loop; on the numba
backend the cells' weights are transposed once for their steps' GEMMs (`step_params`; decoding
does so once per decode call).

The per-step pieces (the cell's `step_forward` / `step_backward_data`, the attention's
`forward_with_keys`, `score_grads`, `query_grads`) are asked from the backend (`_kernel`), so the
numba backend runs each as one compiled call instead of a dozen NumPy calls on small arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from minis2s import backend, validate
from minis2s.backend import get_array_module
from minis2s.data.vocab import PAD_ID
from minis2s.layers import attention, dropout, embedding, linear, stack
from minis2s.layers._recurrent import weight_grads
from minis2s.models.config import ModelConfig
from minis2s.models.params import add_into, prefixed, sub


class DecoderParams(NamedTuple):
    """The decoder's parameter dict cut into the pieces each step uses (dict views, no copies,
    but for numba's W^T: `step_params`): once per batch in training, once per decode call."""

    emb: dict  # {"W": (V, E)}
    layers: list  # per layer {"W_ih", "W_hh", "b_ih", "b_hh"} (numba step_params: + their W^T)
    att: dict  # attention parameters ({} for dot scores)
    comb: dict  # {"W": (H, He + H), "b": (H,)}


class StepCache(NamedTuple):
    drop_e: Any  # DropoutCache of the embedded input
    cells: list  # per layer: the cell's step cache
    drops: list  # per layer but the last: DropoutCache of its output
    att: Any  # attention.QueryCache, or None without attention
    comb: Any  # LinearCache of W_c, or None
    out: Any  # (N, H) h~_t (tanh output), or None without attention


class StepGrads(NamedTuple):
    """What one step's backward pass leaves for the gradients summed after the loop."""

    cells: list  # per layer: (dax, dah) pre-activation gradients (N, G*H), see weight_grads
    dz: Any  # (N, H) gradient of the combine's pre-activation, or None without attention
    dcontext: Any  # (N, 1, He) gradient of the attention context, or None
    ds: Any  # (N, 1, S) gradient of the attention scores, or None


class DecoderCache(NamedTuple):
    cfg: ModelConfig
    steps: list  # StepCache per target step
    emb: Any  # EmbeddingCache over the tokens actually fed (N, T)
    enc_shape: tuple  # (N, S, He)
    states0: list  # initial states, for the shapes of their gradients
    keys: Any  # (N, S, Hk) attention keys shared by every step, or None without attention
    c_keys: Any  # attention.KeysCache, or None


def split_params(p: dict[str, Any], cfg: ModelConfig) -> DecoderParams:
    """The "dec." entries of the model's flat dict `p`, by piece (DecoderParams)."""
    layers = [sub(p, f"dec.rnn.l{l}.fwd.") for l in range(cfg.dec_layers)]
    return DecoderParams(sub(p, "dec.emb."), layers, sub(p, "dec.att."), sub(p, "dec.combine."))


def step_params(p: dict[str, Any], cfg: ModelConfig) -> DecoderParams:
    """split_params, with each layer's weights as the backend's cell step reads them fastest over
    many steps: on numba with contiguous W_ih^T and W_hh^T added (`kernels/step_weights.py`: NN
    products instead of NT). Made once per batch (`forward`) or decode call (`Seq2Seq.encode`);
    the copies are stale once the weights change."""
    dp = split_params(p, cfg)
    step_weights = backend.current().kernel(f"{cfg.cell}.step_weights", lambda q: q)
    return dp._replace(layers=[step_weights(q) for q in dp.layers])


def hidden(state: Any, cfg: ModelConfig) -> Any:
    """h of a cell state: the state itself, or the first of LSTM's (h, c)."""
    return state[0] if cfg.cell == "lstm" else state


def attention_keys(enc: Any, dp: DecoderParams, cfg: ModelConfig) -> tuple[Any, Any]:
    """The attention keys of enc (N, S, He) -> ((N, S, Hk), KeysCache), computed once and shared
    by every step; (None, None) without attention."""
    if cfg.attention == "none":
        return None, None
    return attention.keys_forward(enc, dp.att, cfg.attention)


def step_forward(
    e: Any,
    states: list[Any],
    out_prev: Any,
    enc: Any,
    src_mask: Any,
    dp: DecoderParams,
    cfg: ModelConfig,
    rng: Any = None,
    *,
    keys: Any,
) -> tuple[Any, list[Any], Any, StepCache]:
    """One step. e (N, E) embedded input, states per layer, out_prev (N, H) h~_{t-1} (used with
    input feeding), enc (N, S, He), src_mask (N, S) as `validate.mask` returns it (`forward` and
    Seq2Seq.encode check its values once per batch, not at every step), keys (N, S, Hk) from
    attention_keys (None without attention) -> (h~_t (N, H), new states, weights (N, S) or None,
    cache). `rng` (a Generator, or the `dropout.Uniforms` that `forward` draws ahead) turns
    dropout on."""
    xp = get_array_module(e)
    train = rng is not None
    x, drop_e = dropout.forward(e, cfg.dropout, rng, train)
    if cfg.input_feed:
        x = xp.concatenate([x, out_prev], axis=1)  # (N, E + H)
    new_states, cells, drops = [], [], []
    cell_step = _kernel(cfg.cell, "step_forward")
    for l in range(cfg.dec_layers):
        s, c_cell = cell_step(x, states[l], dp.layers[l])
        new_states.append(s)
        cells.append(c_cell)
        x = hidden(s, cfg)
        if l < cfg.dec_layers - 1:
            x, c_drop = dropout.forward(x, cfg.dropout, rng, train)
            drops.append(c_drop)
    if cfg.attention == "none":
        return x, new_states, None, StepCache(drop_e, cells, drops, None, None, None)
    ctx, w, c_att = _kernel("attention", "forward_with_keys")(  # (N, 1, He), (N, 1, S)
        x[:, None], keys, enc, dp.att, src_mask, cfg.attention, mask_checked=True
    )  # the query h^{L-1}_t as (N, 1, H): one step is Tq = 1 query
    z, c_comb = linear.forward(xp.concatenate([ctx[:, 0], x], axis=1), dp.comb)  # (N, H)
    out = xp.tanh(z)
    return out, new_states, w[:, 0], StepCache(drop_e, cells, drops, c_att, c_comb, out)


def step_backward(
    dout: Any, dstates: list[Any], cache: StepCache, cfg: ModelConfig
) -> tuple[Any, Any, list[Any], StepGrads]:
    """One step back, only what the step before it needs: (de (N, E), dout_prev (N, H) or None,
    dstates_prev per layer, StepGrads for `summed_grads`)."""
    dz = dcontext = ds = None
    dh = dout
    if cache.att is not None:
        dz = dout * (1 - cache.out * cache.out)  # h~ = tanh(z), tanh' = 1 - tanh^2
        dcat = dz @ cache.comb.W  # (N, He + H); W_c's gradient waits for summed_grads
        He = dcat.shape[1] - dout.shape[1]
        dcontext = dcat[:, None, :He]  # (N, 1, He)
        ds = _kernel("attention", "score_grads")(dcontext, None, cache.att)
        # h^{L-1}_t feeds both the combine layer and the attention's query
        dh = dcat[:, He:] + _kernel("attention", "query_grads")(ds, cache.att)[:, 0]
    dstates_prev = list(dstates)
    dpre = [None] * cfg.dec_layers
    cell_step_back = _kernel(cfg.cell, "step_backward_data")
    for l in range(cfg.dec_layers - 1, -1, -1):  # dstates[l]: what step t+1 sent to s^l_t
        dx, dstates_prev[l], dpre[l] = cell_step_back(
            _add_to_hidden(dstates[l], dh, cfg), cache.cells[l]
        )
        if l > 0:
            dh = dropout.backward(dx, cache.drops[l - 1])
    # x^0_t = [dropout(e_t); h~_{t-1}]: the first E columns are the embedding's
    E = dx.shape[1] - (dout.shape[1] if cfg.input_feed else 0)
    de = dropout.backward(dx[:, :E], cache.drop_e)
    dout_prev = dx[:, E:] if cfg.input_feed else None
    return de, dout_prev, dstates_prev, StepGrads(dpre, dz, dcontext, ds)


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


def _kernel(module: str, function: str) -> Callable:
    """The current backend's twin of `minis2s.layers.<module>.<function>` (a cell's step or an
    attention part), else that reference function."""
    reference = stack.CELLS[module].module if module in stack.CELLS else attention
    return backend.current().kernel(f"{module}.{function}", getattr(reference, function))


def _add_to_hidden(dstate: Any, dh: Any, cfg: ModelConfig) -> Any:
    """dstate with dh added to its h part: the gradient a layer's output gets from above."""
    if cfg.cell == "lstm":
        return (dstate[0] + dh, dstate[1])
    return dstate + dh


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
    """
    xp = get_array_module(enc)
    # tgt_in first: a batch whose targets and sources disagree is told as such, not as a bad mask
    validate.shape("decoder", "tgt_in", tgt_in, (enc.shape[0], None), "N, T; N of the sources")
    N, T = tgt_in.shape
    if T == 0:
        raise ValueError("decoder: tgt_in has T = 0 steps; each target needs at least <s>")
    validate.token_ids("decoder", "tgt_in", tgt_in, cfg.tgt_vocab)
    src_mask = validate.mask("decoder", src_mask, N, enc.shape[1], enc.dtype, like=enc)  # once
    dp = step_params(p, cfg)  # T steps, one batch
    states, out = states0, xp.zeros((N, cfg.hidden), dtype=enc.dtype)
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
                own = draws.random(N) < sampling_eps
                y = xp.where(own, predict(out), y)
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
    return outs, weights, DecoderCache(cfg, steps, c_emb, enc.shape, states0, keys, c_keys)


def backward(douts: Any, cache: DecoderCache) -> tuple[Any, list[Any], dict[str, Any]]:
    """(denc (N, S, He), dstates0 per layer, grads of every "dec.*" parameter) from douts
    (N, T, H), the gradient of every step's h~_t through the output layer."""
    cfg = cache.cfg
    xp = get_array_module(douts)
    N, T, H = douts.shape
    dstates = [_zeros_like_state(s) for s in cache.states0]  # the last states feed nothing
    dembedded = xp.empty((N, T, cfg.emb), dtype=douts.dtype)  # (N, T, E)
    dfeed = xp.zeros((N, H), dtype=douts.dtype)  # dL/dh~_t through step t+1's input feeding
    sgs: list[Any] = [None] * T
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


def _zeros_like_state(state: Any) -> Any:
    """Zeros in the shape of a cell state: h (N, H), or LSTM's (h, c)."""
    if isinstance(state, tuple):
        return tuple(get_array_module(s).zeros_like(s) for s in state)
    return get_array_module(state).zeros_like(state)

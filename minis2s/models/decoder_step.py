"""One step of the decoder, forward and backward: recurrent stack, Luong attention, input feeding.
decoder.py runs it over the target's steps (training, scoring); decoding runs it one step per
call (Seq2Seq.encode and Seq2Seq.step in seq2seq.py, through decoder.py's re-exports).

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
With attention="additive" only the score is Bahdanau et al.'s (2015); the wiring stays Luong's:
the query is h^{L-1}_t, after this step's cells, and c_t reaches the output through W_c, where
Bahdanau et al. score the previous state s_{t-1} and feed c_t into the cell. Input feeding is
Luong's way to bring the last step's c_t (inside h~_{t-1}) into this step's input.

Backward of step t (`step_backward`), from dh~_t (its `dout`, which decoder.backward passes as
`douts[:, t] + dfeed`): the logits' gradient through the output layer, plus, with input feeding,
what step t+1 sent back through x^0_{t+1}:
    dz_t              = dh~_t * (1 - h~_t^2)                 tanh' = 1 - tanh^2
    [dc_t; dh^{L-1}_t] = W_c^T dz_t                          the two halves of the combine's input
    dh^{L-1}_t       += the query's gradient, from dc_t through the attention (score_grads, then
                        query_grads): h^{L-1}_t is both the query and part of the combine's input
    layer l = L-1 .. 0: the cell's step backward from what step t+1 sent to s^l_t (`dstates[l]`)
                        plus dh^l_t (from above); its input gradient dx^l_t goes back through the
                        dropout to dh^{l-1}_t, and at l = 0 splits into the embedding's and, with
                        input feeding, dh~_{t-1}
It does only what the step before needs: one GEMM per weight (its input gradient); the weight
gradients, sums over the steps, wait for decoder.summed_grads after the loop.

The per-step pieces (the cell's `step_forward` / `step_backward_data`, the attention's
`forward_with_keys`, `score_grads`, `query_grads`) are asked from the backend (`_kernel`), so the
numba backend runs each as one compiled call instead of a dozen NumPy calls on small arrays. On
the numba backend the cells' weights are also transposed once for their steps' GEMMs
(`step_params`: once per batch in training, once per decode call; kernels/step_weights.py says
why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from minis2s import backend
from minis2s.backend import get_array_module
from minis2s.layers import attention, dropout, linear, stack
from minis2s.models.config import ModelConfig
from minis2s.models.params import subs


class DecoderParams(NamedTuple):
    """The decoder's parameter dict cut into the pieces each step uses (dict views, no copies,
    but for numba's W^T: `step_params`): once per batch in training, once per decode call."""

    emb: dict  # {"W": (V, E)}
    layers: list  # per layer {"W_ih", "W_hh", "b_ih", "b_hh"} (numba step_params: + their W^T)
    att: dict  # attention parameters ({} for dot scores)
    comb: dict  # {"W": (H, He + H), "b": (H,)}


class StepCache(NamedTuple):
    """What step_backward needs of one step's forward pass."""

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


def split_params(p: dict[str, Any], cfg: ModelConfig) -> DecoderParams:
    """The "dec." entries of the model's flat dict `p`, by piece (DecoderParams)."""
    whole = ["dec.emb.", "dec.att.", "dec.combine."]
    layers = [f"dec.rnn.l{l}.fwd." for l in range(cfg.dec_layers)]
    emb, att, combine, *per_layer = subs(p, whole + layers)  # one pass, not one per layer
    return DecoderParams(emb, per_layer, att, combine)


def step_params(p: dict[str, Any], cfg: ModelConfig) -> DecoderParams:
    """split_params, with each layer's weights as the backend's cell step reads them fastest over
    many steps: on numba with contiguous W_ih^T and W_hh^T added (`kernels/step_weights.py`: NN
    products instead of NT). Made once per batch (`decoder.forward`) or decode call
    (`Seq2Seq.encode`); the copies are stale once the weights change."""
    dp = split_params(p, cfg)
    step_weights = backend.current().kernel(f"{cfg.cell}.step_weights", lambda layer: layer)
    return dp._replace(layers=[step_weights(layer) for layer in dp.layers])


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
    input feeding), enc (N, S, He), src_mask (N, S) as `validate.mask` returns it
    (`decoder.forward` and Seq2Seq.encode check its values once per batch, not at every step),
    keys (N, S, Hk) from attention_keys (None without attention) -> (h~_t (N, H), new states,
    weights (N, S) or None, cache). `rng` (a Generator, or the `dropout.Uniforms` that
    `decoder.forward` draws ahead) turns dropout on."""
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
    h = x  # h^{L-1}_t (N, H), the top layer's output (no dropout after it)
    if cfg.attention == "none":
        return h, new_states, None, StepCache(drop_e, cells, drops, None, None, None)
    ctx, w, c_att = _kernel("attention", "forward_with_keys")(  # (N, 1, He), (N, 1, S)
        h[:, None], keys, enc, dp.att, src_mask, cfg.attention, mask_checked=True
    )  # the query h^{L-1}_t as (N, 1, H): one step is Tq = 1 query
    z, c_comb = linear.forward(xp.concatenate([ctx[:, 0], h], axis=1), dp.comb)  # (N, H)
    out = xp.tanh(z)  # h~_t
    return out, new_states, w[:, 0], StepCache(drop_e, cells, drops, c_att, c_comb, out)


def step_backward(
    dout: Any, dstates: list[Any], cache: StepCache, cfg: ModelConfig
) -> tuple[Any, Any, list[Any], StepGrads]:
    """One step back, only what the step before it needs. dout (N, H) dL/dh~_t, dstates per
    layer what step t+1 sent back to s^l_t (h (N, H) or LSTM's (h, c)) -> (de (N, E), dout_prev
    (N, H) dL/dh~_{t-1} or None without input feeding, dstates_prev per layer, StepGrads for
    `decoder.summed_grads`)."""
    dz = dcontext = ds = None
    dh = dout
    if cache.att is not None:
        dz = dout * (1 - cache.out * cache.out)  # h~ = tanh(z), tanh' = 1 - tanh^2
        dcat = dz @ cache.comb.W  # (N, He + H); W_c's gradient waits for summed_grads
        He = dcat.shape[1] - dout.shape[1]
        dcontext = dcat[:, None, :He]  # (N, 1, He)
        ds = _kernel("attention", "score_grads")(dcontext, None, cache.att)  # (N, 1, S)
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

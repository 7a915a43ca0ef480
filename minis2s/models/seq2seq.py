"""The encoder-decoder: a thin composition of encoder, bridge, decoder, output layer and loss.

    enc, final  = encoder(src, src_mask)                     (N, S, He), He = dirs*H
    s_0         = bridge(final)                              the decoder's first state per layer
    h~          = decoder(tgt_in, enc, src_mask, s_0)         (N, T, H), one h~_t per step
    logits      = dropout(h~) W_out^T + b_out                 (N, T, V)
    loss        = cross_entropy(logits, tgt_out)              mean over non-pad tokens,
                                                             label-smoothed (layers/loss.py)

W_out is "out.W" (V, H), or with tie_embeddings the target embedding "dec.emb.W" (V, E), E = H,
which then gets the gradients of both uses. With share_embeddings the encoder embeds its source
ids with "dec.emb.W" too (one vocabulary, no "enc.emb.W"): the gradient of that one parameter is
the sum of the encoder's and the decoder's (and, tied as well, the output layer's).

`loss_and_grads` runs that forward pass and its backward pass, layer by layer, in reverse;
`encode` and `step` decode one step at a time, from a DecodeState (models/decode_state.py).
What the model refuses before a layer runs (a config too large for memory, parameters of another
config or backend, a batch whose tgt_mask disagrees with tgt_out, a sampling_eps without an rng, a
source of the wrong shape) is in seq2seq_checks.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minis2s import backend, validate
from minis2s.data.vocab import PAD_ID
from minis2s.decode.common import choosable
from minis2s.layers import dropout, embedding, linear, loss
from minis2s.models import bridge, decode_state, decoder, encoder, summary
from minis2s.models.config import ModelConfig
from minis2s.models.decode_state import DecodeState
from minis2s.models.params import add_into, init_params, prefixed
from minis2s.models.seq2seq_checks import (
    BATCH_FIELDS,
    check_backend,
    check_batch,
    check_config,
    check_fits,
    check_params,
    check_sampling,
    check_seed,
    check_source,
)


class Seq2Seq:
    """An encoder-decoder with parameters `params` (flat dict, dotted names) on one backend."""

    def __init__(
        self,
        cfg: ModelConfig,
        params: dict[str, Any] | None = None,
        *,
        seed: int = 0,
        dtype: Any = backend.TRAIN_DTYPE,
    ) -> None:
        check_config(cfg, dtype)
        self.cfg, self.dtype = cfg, np.dtype(dtype)
        if params is None:
            check_seed(seed)
            check_fits(cfg, self.dtype)
            params = init_params(cfg, seed, dtype)
        self.params = params
        check_params(self.params, self.cfg, self.dtype)

    # -- training ----------------------------------------------------------------------------

    def _out_params(self) -> dict[str, Any]:
        p = self.params
        W = p["dec.emb.W"] if self.cfg.tie_embeddings else p["out.W"]
        return {"W": W, "b": p["out.b"]}

    def to_device(self, batch: Any) -> Any:
        """The batch's arrays on this model's backend, masks in the model's dtype: on the GPU in
        one copy through pinned memory (`Backend.to_device`)."""
        check_batch(batch)
        check_backend(self.params)
        fields = BATCH_FIELDS  # (src, src_mask, tgt_in, tgt_out, tgt_mask)
        src_dtype = self.dtype if self.cfg.src_features > 0 else None
        dtypes = (src_dtype, self.dtype, None, None, self.dtype)
        arrays = backend.current().to_device([getattr(batch, f) for f in fields], dtypes)
        return batch._replace(**dict(zip(fields, arrays, strict=True)))

    def loss_and_grads(
        self,
        batch: Any,
        *,
        rng: np.random.Generator | None = None,
        sampling_eps: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> tuple[float, dict[str, Any]]:
        """Mean cross-entropy per target token (label-smoothed with `label_smoothing` > 0) and its
        gradient for every parameter.

        `rng` turns dropout (and scheduled sampling, with probability `sampling_eps` per token)
        on; without it the pass is deterministic. Returns (loss, grads with params' keys).
        """
        value, caches = self._forward(batch, rng, sampling_eps, label_smoothing)
        c_enc, c_bridge, c_dec, c_drop, c_out, c_loss = caches
        dlogits = loss.backward(1.0, c_loss)  # (N, T, V): (p - q) / kept tokens
        douts, dp_out = linear.backward(dlogits, c_out)  # logits = dropout(h~) W_out^T + b_out
        douts = dropout.backward(douts, c_drop)  # dh~ (N, T, H)
        denc, dstates0, grads = decoder.backward(douts, c_dec)  # denc: through the attention
        dfinal, g_bridge = bridge.backward(dstates0, c_bridge)  # s_0 = bridge(final)
        add_into(grads, g_bridge)
        # enc reaches the loss through the attention, final through the bridge
        add_into(grads, encoder.backward(denc, dfinal, c_enc))  # shared: += into dec.emb.W
        if self.cfg.tie_embeddings:  # W_out is dec.emb.W: its two uses' gradients add
            add_into(grads, {"dec.emb.W": dp_out["W"], "out.b": dp_out["b"]})
        else:
            add_into(grads, prefixed(dp_out, "out."))
        return float(value), grads

    def loss(
        self,
        batch: Any,
        *,
        rng: np.random.Generator | None = None,
        sampling_eps: float = 0.0,
        label_smoothing: float = 0.0,
    ) -> float:
        """The value `loss_and_grads` returns, without the backward pass."""
        return float(self._forward(batch, rng, sampling_eps, label_smoothing)[0])

    def _forward(self, batch, rng, sampling_eps, label_smoothing) -> tuple[Any, tuple]:
        """The forward pass of `loss_and_grads`: (loss, the caches of every piece)."""
        check_sampling(sampling_eps, rng)
        cfg, p = self.cfg, self.params
        b = self.to_device(batch)
        enc, final, c_enc = encoder.forward(b.src, b.src_mask, p, cfg, rng)
        states0, c_bridge = bridge.forward(final, p, cfg)
        outs, _, c_dec = decoder.forward(
            b.tgt_in, enc, b.src_mask, states0, p, cfg,
            rng=rng, sampling_eps=sampling_eps, predict=self._predict,
        )  # fmt: skip
        outs_d, c_drop = dropout.forward(outs, cfg.dropout, rng, train=rng is not None)
        logits, c_out = linear.forward(outs_d, self._out_params())  # (N, T, V)
        value, c_loss = loss.forward(
            logits, b.tgt_out, ignore_index=PAD_ID, label_smoothing=label_smoothing
        )
        return value, (c_enc, c_bridge, c_dec, c_drop, c_out, c_loss)

    def _predict(self, out: Any) -> Any:
        """argmax of the output layer at h~ (N, H) -> ids (N,), over the tokens a decoder may
        choose (`decode.common.choosable`: never <pad> or <s>, which an untrained model's
        argmax can be, and which decoding would never feed back)."""
        logits, _ = linear.forward(out, self._out_params())
        return choosable(logits).argmax(axis=-1)

    def token_logprobs(self, batch: Any) -> Any:
        """log p(y_t | y_<t, x) of every target token, in evaluation mode (no dropout) with
        teacher forcing (step t reads the reference y_<t, never the model's own tokens): the
        terms of the loss, one per token, 0 at padding. Row n sums to log p(y_n + [EOS] | x_n);
        `nll` is minus the sum of all rows, and `loss(batch)` that over batch.n_tokens.

        Shapes: batch.src (N, S) ids or (N, S, F) features, batch.tgt_in / tgt_out (N, T)
        -> (N, T) in the model's dtype, on its backend (`backend.to_numpy` brings it back).
        """
        cfg, p = self.cfg, self.params
        b = self.to_device(batch)
        enc, final, _ = encoder.forward(b.src, b.src_mask, p, cfg)
        states0, _ = bridge.forward(final, p, cfg)
        outs, _, _ = decoder.forward(b.tgt_in, enc, b.src_mask, states0, p, cfg)
        logits, _ = linear.forward(outs, self._out_params())  # (N, T, V)
        return loss.target_logprobs(logits, b.tgt_out, ignore_index=PAD_ID)

    def nll(self, batch: Any) -> tuple[float, int]:
        """(summed negative log-likelihood, number of target tokens), in evaluation mode."""
        return -float(self.token_logprobs(batch).sum()), int((batch.tgt_out != PAD_ID).sum())

    # -- decoding ----------------------------------------------------------------------------

    def encode(self, src: Any, src_mask: Any) -> DecodeState:
        """Run the encoder and the bridge: src (N, S) ids or (N, S, F) features, src_mask (N, S)
        -> the state before the first decoding step (enc (N, S, He), keys (N, S, Hk))."""
        be, cfg = backend.current(), self.cfg
        check_backend(self.params)
        src, src_mask = check_source(src, src_mask, cfg, self.dtype)  # on the backend
        enc, final, _ = encoder.forward(src, src_mask, self.params, cfg)
        states0, _ = bridge.forward(final, self.params, cfg)
        out = be.xp.zeros((src.shape[0], cfg.hidden), dtype=self.dtype)
        dp = decoder.step_params(self.params, cfg)  # once per decode call: its W^T copies
        keys, _ = decoder.attention_keys(enc, dp, cfg)
        return DecodeState(enc, src_mask, states0, out, keys, dp)

    def step(
        self, y_prev: Any, state: DecodeState, *, ids_checked: bool = False
    ) -> tuple[Any, DecodeState, Any]:
        """One decoding step: y_prev (N,) ids -> (log-probabilities (N, V), new state,
        attention weights (N, S) or None). The decoders pass `ids_checked=True`: they feed BOS
        and the model's own choices, so y_prev's values are not checked at every step."""
        cfg = self.cfg
        if getattr(y_prev, "shape", None) != state.out.shape[:1]:  # the out's rows: one per y
            y_prev = backend.current().asarray(y_prev)
            validate.shape("Seq2Seq.step", "y_prev", y_prev, state.out.shape[:1], "N; one per row")
        dp = state.dec_params
        if dp is None:  # a DecodeState made without encode()
            dp = decoder.split_params(self.params, cfg)
        e, _ = embedding.forward(y_prev, dp.emb, pad_id=PAD_ID, ids_checked=ids_checked)
        out, states, w, _ = decoder.step_forward(
            e, state.states, state.out, state.enc, state.src_mask, dp, cfg, keys=state.keys
        )
        logits, _ = linear.forward(out, self._out_params())
        log_softmax = backend.current().kernel("loss.log_softmax", loss.log_softmax)
        return log_softmax(logits), state._replace(states=states, out=out), w

    # the rows `index` of a state, as beam search keeps its hypotheses (models/decode_state.py)
    select = staticmethod(decode_state.select)

    def num_params(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    def summary(self) -> str:
        """A table of the parameters by dotted name, shape and size, then the total, and a line
        for each thing no parameter shows (`models/summary.py`)."""
        return summary.table(self.params, self.cfg)

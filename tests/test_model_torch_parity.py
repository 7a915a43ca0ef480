"""The whole model's loss against an independent PyTorch re-implementation (float64).

Gradient checks cannot see a wiring error that the forward and backward passes agree on
(attending from the wrong layer, feeding h instead of h~, summing the wrong directions in the
bridge, the halves of [c; h] swapped). This re-implementation shares none of minis2s's forward
code, only the parameter values, the padded batch (`make_batch`) and the weights' PyTorch names
(`interop`): the encoder is `nn.LSTM/GRU/RNN` over packed sequences, the decoder `nn.*Cell`
step by step with Luong attention and input feeding, the loss `F.cross_entropy` with
ignore_index and label_smoothing. Skipped without torch.
"""

import math

import numpy as np
import pytest

from minis2s.data.batching import make_batch
from minis2s.data.vocab import PAD_ID
from minis2s.interop import to_torch_rnn
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.params import sub

torch = pytest.importorskip("torch")
F = torch.nn.functional
RNNS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
CELLS = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}


def tensor(a):
    """A float64 tensor of a float array, an int64 one of ids."""
    a = np.asarray(a)
    return torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else torch.int64)


def embed(W, ids):
    """Rows of W; <pad> embeds to zeros (minis2s's embedding keeps its row at 0 too)."""
    return W[ids] * (ids != PAD_ID)[..., None]


SRC_EMB = {False: "enc.emb.W", True: "dec.emb.W"}  # share_embeddings: the target's matrix


def encode(cfg, p, src, lengths):
    """(enc (N, S, dirs*H) zero at padding, final states (L*dirs, N, H), one per state part)."""
    rnn = RNNS[cfg.cell](cfg.emb, cfg.hidden, num_layers=cfg.enc_layers,
                         bidirectional=cfg.bidirectional, batch_first=True).double()  # fmt: skip
    rnn.load_state_dict({k: tensor(v) for k, v in to_torch_rnn(sub(p, "enc.rnn.")).items()})
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        embed(tensor(p[SRC_EMB[cfg.share_embeddings]]), src),
        lengths,
        batch_first=True,
        enforce_sorted=False,
    )
    out, final = rnn(packed)
    enc, _ = torch.nn.utils.rnn.pad_packed_sequence(
        out, batch_first=True, total_length=src.shape[1]
    )
    return enc, final if cfg.cell == "lstm" else (final,)


def bridge(cfg, p, final, N):
    """The decoder's first state per layer, as a tuple (h,) or (h, c)."""
    dirs, H = (2 if cfg.bidirectional else 1), cfg.hidden
    if cfg.bridge == "zero":
        return [tuple(torch.zeros(N, H, dtype=torch.float64) for _ in final)] * cfg.dec_layers
    if cfg.bridge == "last":  # layer l's directions summed
        return [tuple(s[l * dirs : (l + 1) * dirs].sum(0) for s in final)
                for l in range(cfg.dec_layers)]  # fmt: skip
    top = [torch.cat(list(s[-dirs:]), 1) for s in final]  # the top layer's directions, joined
    h = torch.tanh(top[0] @ tensor(p["bridge.W"]).T + tensor(p["bridge.b"]))
    if cfg.cell != "lstm":
        return [(h,)] * cfg.dec_layers
    if cfg.bridge == "learned":
        c = top[1] @ tensor(p["bridge_c.W"]).T + tensor(p["bridge_c.b"])
    else:  # learned_h
        c = torch.zeros(N, H, dtype=torch.float64)
    return [(h, c)] * cfg.dec_layers


def decoder_cells(cfg, p):
    cells = []
    for l in range(cfg.dec_layers):
        D = cfg.emb + (cfg.hidden if cfg.input_feed else 0) if l == 0 else cfg.hidden
        cell = CELLS[cfg.cell](D, cfg.hidden).double()
        q = sub(p, f"dec.rnn.l{l}.fwd.")
        names = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}
        cell.load_state_dict({theirs: tensor(q[ours]) for theirs, ours in names.items()})
        cells.append(cell)
    return cells


def scores(kind, a, h, enc):
    """Attention scores (N, S) of query h (N, H) over enc (N, S, He), a the "dec.att." params."""
    if kind == "dot":
        return torch.einsum("nh,nsh->ns", h, enc)
    if kind == "scaled_dot":
        return torch.einsum("nh,nsh->ns", h, enc) / math.sqrt(enc.shape[-1])
    if kind == "general":
        return torch.einsum("nh,hk,nsk->ns", h, tensor(a["W_a"]), enc)
    if kind == "concat":
        hs = h[:, None].expand(-1, enc.shape[1], -1)
        return torch.tanh(torch.cat([hs, enc], -1) @ tensor(a["W_a"]).T) @ tensor(a["v"])
    keys = enc @ tensor(a["W_k"]).T  # additive (Bahdanau)
    return torch.tanh((h @ tensor(a["W_q"]).T)[:, None] + keys + tensor(a["b"])) @ tensor(a["v"])


def reference_loss(model, batch, label_smoothing):
    cfg, p = model.cfg, model.params
    src, src_mask = tensor(batch.src), tensor(batch.src_mask)
    enc, final = encode(cfg, p, src, src_mask.sum(1).long())
    states = bridge(cfg, p, final, src.shape[0])
    cells, W_emb = decoder_cells(cfg, p), tensor(p["dec.emb.W"])
    W_out = W_emb if cfg.tie_embeddings else tensor(p["out.W"])
    tgt_in, logits = tensor(batch.tgt_in), []
    feed = torch.zeros(src.shape[0], cfg.hidden, dtype=torch.float64)  # h~_0
    for t in range(tgt_in.shape[1]):
        x = embed(W_emb, tgt_in[:, t])
        x = torch.cat([x, feed], 1) if cfg.input_feed else x
        for l, cell in enumerate(cells):
            new = cell(x, states[l] if cfg.cell == "lstm" else states[l][0])
            states[l] = new if cfg.cell == "lstm" else (new,)
            x = states[l][0]
        out = x  # the top layer's h
        if cfg.attention != "none":
            s = scores(cfg.attention, sub(p, "dec.att."), out, enc)
            w = torch.softmax(s.masked_fill(src_mask == 0, -math.inf), -1)
            context = torch.einsum("ns,nsk->nk", w, enc)
            W_c, b_c = tensor(p["dec.combine.W"]), tensor(p["dec.combine.b"])
            out = torch.tanh(torch.cat([context, out], 1) @ W_c.T + b_c)  # h~ = tanh(W_c [c; h])
        feed = out
        logits.append(out @ W_out.T + tensor(p["out.b"]))
    logits = torch.stack(logits, 1)
    return F.cross_entropy(logits.reshape(-1, cfg.tgt_vocab), tensor(batch.tgt_out).reshape(-1),
                           ignore_index=PAD_ID, label_smoothing=label_smoothing).item()  # fmt: skip


EXAMPLES = [([4, 5, 6, 3], [4, 4]), ([5], [6, 3, 5, 4]), ([6, 4], [5])]  # unequal lengths
CASES = [  # every cell, attention kind and bridge, both directions, 1 and 2 layers
    dict(cell="lstm", attention="general", bidirectional=True, input_feed=True, bridge="learned",
         enc_layers=2, dec_layers=2),
    dict(cell="lstm", attention="additive", bidirectional=True, input_feed=False, bridge="last",
         enc_layers=2, dec_layers=2),
    dict(cell="lstm", attention="concat", bidirectional=False, input_feed=True, bridge="learned_h"),
    dict(cell="gru", attention="dot", bidirectional=False, input_feed=True, bridge="zero",
         tie_embeddings=True, emb=4),
    dict(cell="gru", attention="scaled_dot", bidirectional=False, input_feed=False, bridge="last",
         enc_layers=2, dec_layers=2),
    dict(cell="rnn", attention="none", bidirectional=True, input_feed=False, bridge="learned"),
    dict(cell="rnn", attention="general", bidirectional=True, input_feed=True, bridge="last",
         tie_embeddings=True, emb=4),
    dict(cell="lstm", attention="general", bidirectional=True, input_feed=True, bridge="learned",
         share_embeddings=True),
    dict(cell="gru", attention="additive", bidirectional=False, input_feed=True, bridge="zero",
         share_embeddings=True, tie_embeddings=True, emb=4),
]  # fmt: skip


@pytest.mark.parametrize("options", CASES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_model_loss_matches_a_torch_reimplementation(options, label_smoothing):
    cfg = ModelConfig(**{"src_vocab": 7, "tgt_vocab": 7, "emb": 5, "hidden": 4, "init_scale": 0.5,
                         **options})  # fmt: skip
    model = Seq2Seq(cfg, seed=1, dtype=np.float64)
    batch = make_batch(EXAMPLES, np.arange(len(EXAMPLES)))
    want = reference_loss(model, batch, label_smoothing)
    got = model.loss(batch, label_smoothing=label_smoothing)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-13)

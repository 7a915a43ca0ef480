"""`Seq2Seq.summary()`: the parameters as a table, so each matrix of the equations can be found
by the name the code gives it, and a line for each thing no parameter shows."""

from __future__ import annotations

from typing import Any

from minis2s.models.config import ModelConfig


def table(params: dict[str, Any], cfg: ModelConfig) -> str:
    """Dotted name, shape and size of each parameter, then the total (`enc.rnn.l0.fwd.W_ih`
    (4H, E) for an LSTM: the input weights of layer 0's forward direction, gates i, f, g, o
    stacked); with share_embeddings or tie_embeddings, a line on what else dec.emb.W is; with
    reverse_source, a line saying the encoder reads the source reversed."""
    width = max(len(k) for k in params)
    lines = [f"{'parameter':<{width}}  {'shape':<14} {'size':>10}"]
    for name, a in params.items():
        shape = str(tuple(a.shape))
        lines.append(f"{name:<{width}}  {shape:<14} {a.size:>10,}")
    total = int(sum(a.size for a in params.values()))
    lines.append(f"{'total':<{width}}  {'':<14} {total:>10,}")
    return "\n".join(lines + _shared_line(cfg) + _reversed_line(cfg))


def _shared_line(cfg: ModelConfig) -> list[str]:
    """What dec.emb.W is besides the target embedding, and the names it stands in for (which the
    table then lacks); no line for a model that shares nothing."""
    shared = [(role, name) for on, role, name in (
        (cfg.share_embeddings, "the source embedding", "enc.emb.W"),
        (cfg.tie_embeddings, "the output layer's weights", "out.W"),
    ) if on]  # fmt: skip
    if not shared:
        return []
    roles, names = zip(*shared, strict=True)
    return [f"shared: dec.emb.W is also {' and '.join(roles)} (no {', '.join(names)})"]


def _reversed_line(cfg: ModelConfig) -> list[str]:
    """The line saying the encoder reads each source reversed; none for a model that does not."""
    if not cfg.reverse_source:
        return []
    return ["reversed: the encoder reads each source last token first (reverse_source)"]

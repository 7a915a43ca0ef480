"""Token embedding: a lookup of one row of W per token id (PyTorch `nn.Embedding` layout).

Equations:
    out[..., :] = W[ids[...], :]          0 where ids == pad_id
    dW[v, :]    = sum of dout[i, :] over every position i with ids[i] == v  (v != pad_id)

A token that appears several times collects the gradient of every occurrence, so the backward
pass is a scatter-add, not an assignment. The padding token embeds to zero whatever its row of W
holds and that row never gets a gradient, so it stays zero from `init` on, as in PyTorch with
`padding_idx` (which returns W[pad_id] itself; the two agree while that row is zero).

Parameters: W (V, E).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, validate
from minis2s.backend import get_array_module

WHERE = "embedding"


class EmbeddingCache(NamedTuple):
    ids: Any  # (...) int token ids
    keep: Any  # (...) bool, False at pad_id (None when there is no pad_id)
    W: Any  # (V, E)


def _check_pad_id(where: str, pad_id: int | None, V: int) -> None:
    if pad_id is None:
        return
    validate.integer(where, "pad_id", pad_id, None)  # 0.5 would match no id, padding nothing
    if not 0 <= pad_id < V:
        raise ValueError(f"{where}: pad_id = {pad_id} is not a token id; it must be in 0..{V - 1}")


def init(
    V: int, E: int, rng: np.random.Generator, dtype: Any = np.float32, pad_id: int | None = None
) -> dict[str, Any]:
    """W (V, E) ~ N(0, 1), as nn.Embedding; the row of `pad_id` is zero when it is given."""
    validate.size(f"{WHERE}.init", "V", V)
    validate.size(f"{WHERE}.init", "E", E)
    _check_pad_id(f"{WHERE}.init", pad_id, V)
    validate.weights(f"{WHERE}.init", rng, dtype, [(V, E)], {"V": V, "E": E})
    W = rng.standard_normal((V, E)).astype(dtype)
    if pad_id is not None:
        W[pad_id] = 0
    return {"W": W}


def forward(
    ids: Any, p: dict[str, Any], pad_id: int | None = None, *, ids_checked: bool = False
) -> tuple[Any, EmbeddingCache]:
    """Look up the embedding of every token id.

    Shapes: ids (...) integers in [0, V), W (V, E) -> out (..., E), zero where ids == pad_id.
    `ids_checked=True`: the caller has checked the ids' values (a decoder checks its targets once
    per batch, and the tokens it chooses itself are valid by construction), so this lookup does
    not look at them again (on CuPy, a wait for the device at every decoding step).
    """
    _check_forward(ids, p, pad_id, ids_checked)
    W = p["W"]
    out = W[ids]  # (..., E)
    keep = None
    if pad_id is not None:
        keep = ids != pad_id
        # the pad token reads nothing from W: a select, since 0 * NaN (a NaN in W's pad row) is NaN
        out = get_array_module(out).where(keep[..., None], out, 0)
    return out, EmbeddingCache(ids, keep, W)


def _check_forward(ids: Any, p: Any, pad_id: Any, ids_checked: bool) -> None:
    """p's W (V, E) floating, pad_id None or an id in 0..V-1, and, unless `ids_checked`, the ids'
    values. A decoder looks up its tokens at every step, so the usual case costs a few compares
    (besides the ids' values, which a decoder has checked already); anything else gets the checks
    that name what is wrong."""
    where = f"{WHERE}.forward"
    try:
        W = p["W"]
        if (
            isinstance(p, dict) and len(p) == 1 and W.ndim == 2 and W.dtype.kind == "f"
            and (pad_id is None or (type(pad_id) is int and 0 <= pad_id < W.shape[0]))
        ):  # fmt: skip
            if not ids_checked:
                validate.token_ids(where, "ids", ids, W.shape[0])
            return  # the usual case
    except (KeyError, TypeError, AttributeError):
        pass  # named below
    validate.params(where, p, ("W",), "init(V, E, rng)")
    validate.unused(where, p, ("W",), "embedding", "init(V, E, rng)")
    W = p["W"]
    validate.shape(where, "p['W']", W, (None, None), "V, E")
    validate.floating(where, "p['W']", W)
    V = W.shape[0]
    if not ids_checked:
        validate.token_ids(where, "ids", ids, V)
    _check_pad_id(where, pad_id, V)


def backward(dout: Any, cache: EmbeddingCache) -> dict[str, Any]:
    """dW (V, E): the scatter-add of dout (..., E) into the rows named by the ids.

    Token ids have no gradient, so only the parameter gradients are returned.
    """
    validate.cache(f"{WHERE}.backward", cache, EmbeddingCache, "embedding.forward")
    ids, keep, W = cache
    E = W.shape[1]
    validate.gradient(f"{WHERE}.backward", "dout", dout, (*ids.shape, E), "..., E", W.dtype)
    xp = get_array_module(dout)
    dout2 = dout.reshape(-1, E)  # (M, E), one row per token
    if keep is not None:
        dout2 = xp.where(keep.reshape(-1, 1), dout2, 0)  # no gradient reaches the pad row
    dW = xp.zeros_like(W)
    backend.current().kernel("embedding.scatter_add", scatter_add)(dW, ids.reshape(-1), dout2)
    return {"W": dW}


def scatter_add(dW: Any, ids: Any, rows: Any) -> None:
    """dW[ids[i]] += rows[i] for every i, in place, in the order of i; repeated ids accumulate.

    Shapes: dW (V, E), ids (M,) ints in [0, V), rows (M, E).
    """
    get_array_module(dW).add.at(dW, ids, rows)  # cupy >= 13 has ufunc.at too

"""Affine map over the last axis (PyTorch `nn.Linear` layout: W (O, D), b (O,)).

Equations, x (..., D) -> y (..., O), each row of the leading axes mapped alike:
    y  = x W^T + b
    dx = dy W,    dW = sum over the rows of dy^T x,    db = sum over the rows of dy
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.layers._gemm import rows


class LinearCache(NamedTuple):
    x: Any  # (..., D)
    W: Any  # (O, D)


def init(D: int, O: int, rng: np.random.Generator, dtype: Any = np.float32) -> dict[str, Any]:
    """W (O, D), b (O,) ~ U(-1/sqrt(D), 1/sqrt(D)), as nn.Linear: for the layer used alone (a
    gradient check, a benchmark, a comparison with PyTorch). A model's linear maps start as its
    config says instead (models/params.py init_params: U(-init_scale, init_scale) or Glorot,
    biases zero), which takes only their shapes from here."""
    validate.size("linear.init", "D", D)
    validate.size("linear.init", "O", O)
    validate.weights("linear.init", rng, dtype, [(O, D), (O,)], {"D": D, "O": O})
    k = 1.0 / np.sqrt(D)
    return {
        "W": rng.uniform(-k, k, (O, D)).astype(dtype),
        "b": rng.uniform(-k, k, (O,)).astype(dtype),
    }


def forward(x: Any, p: dict[str, Any]) -> tuple[Any, LinearCache]:
    """y = x W^T + b.

    Shapes: x (..., D), W (O, D), b (O,) -> y (..., O).
    """
    _check_forward(x, p)
    W, b = p["W"], p["b"]
    y = rows(x, W.T)  # (..., O): one 2-D GEMM over all leading axes
    y += b  # in place: y is ours, and `+ b` would make a second (..., O) array
    return y, LinearCache(x, W)


def _check_forward(x: Any, p: Any) -> None:
    """x (..., D) and p's W (O, D) and b (O,), all of one float dtype. A decoder calls forward at
    every step, so the usual case costs a few compares; anything else gets the checks that name
    what is wrong."""
    try:
        W, b = p["W"], p["b"]
        if (
            isinstance(p, dict) and len(p) == 2 and W.ndim == 2 and b.shape == W.shape[:1]
            and x.ndim >= 1 and x.shape[-1] == W.shape[1]
            and x.dtype.kind == "f" and x.dtype == W.dtype == b.dtype
        ):  # fmt: skip
            return  # the usual case
    except (KeyError, TypeError, AttributeError, IndexError):
        pass  # named below
    validate.params("linear.forward", p, ("W", "b"), "init(D, O, rng)")
    validate.unused("linear.forward", p, ("W", "b"), "linear", "init(D, O, rng)")
    W, b = p["W"], p["b"]
    validate.array("linear.forward", "x", x, "..., D")
    validate.shape("linear.forward", "p['W']", W, (None, None), "O, D")
    validate.shape("linear.forward", "p['b']", b, (W.shape[0],), "O")
    validate.floating("linear.forward", "p['b']", b, W.dtype)
    validate.shape("linear.forward", "x", x, (None,) * (x.ndim - 1) + (W.shape[1],), "..., D")
    validate.floating("linear.forward", "x", x, W.dtype)


def backward(dy: Any, cache: LinearCache) -> tuple[Any, dict[str, Any]]:
    """dx = dy W, dW = dy^T x, db = sum dy (summed over every leading axis).

    Shapes: dy (..., O), the shape of y -> dx (..., D), dW (O, D), db (O,).
    """
    validate.cache("linear.backward", cache, LinearCache, "linear.forward")
    x, W = cache
    want = (*x.shape[:-1], W.shape[0])
    validate.gradient("linear.backward", "dy", dy, want, "..., O", W.dtype)
    return rows(dy, W), weight_grads(dy, x)


def weight_grads(dy: Any, x: Any, bias: bool = True) -> dict[str, Any]:
    """dW = dy^T x and db = sum dy over every leading axis (without "b" when `bias` is False):
    dy (..., O), x (..., D). A decoder stacks its steps' dy and x on a new axis to make this one
    GEMM for all of them."""
    dy2 = dy.reshape(-1, dy.shape[-1])  # (M, O), M = all leading axes flattened
    dW = dy2.T @ x.reshape(-1, x.shape[-1])
    return {"W": dW, "b": dy2.sum(axis=0)} if bias else {"W": dW}

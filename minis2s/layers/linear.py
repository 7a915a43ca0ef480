"""Affine map y = x W^T + b over the last axis (PyTorch `nn.Linear` layout)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minis2s import validate


class LinearCache(NamedTuple):
    x: Any  # (..., D)
    W: Any  # (O, D)


def init(D: int, O: int, rng: np.random.Generator, dtype: Any = np.float32) -> dict[str, Any]:
    """W (O, D), b (O,) ~ U(-1/sqrt(D), 1/sqrt(D)), as nn.Linear."""
    k = 1.0 / np.sqrt(D)
    return {
        "W": rng.uniform(-k, k, (O, D)).astype(dtype),
        "b": rng.uniform(-k, k, (O,)).astype(dtype),
    }


def forward(x: Any, p: dict[str, Any]) -> tuple[Any, LinearCache]:
    """y = x W^T + b.

    Shapes: x (..., D), W (O, D), b (O,) -> y (..., O).
    """
    W, b = p["W"], p["b"]
    validate.shape("linear.forward", "x", x, (None,) * (x.ndim - 1) + (W.shape[1],), "..., D")
    validate.floating("linear.forward", "x", x, W.dtype)
    return x @ W.T + b, LinearCache(x, W)


def backward(dy: Any, cache: LinearCache) -> tuple[Any, dict[str, Any]]:
    """dx = dy W, dW = dy^T x, db = sum dy (summed over every leading axis)."""
    x, W = cache
    D, O = W.shape[1], W.shape[0]
    dy2 = dy.reshape(-1, O)  # (N*, O)
    return dy @ W, {"W": dy2.T @ x.reshape(-1, D), "b": dy2.sum(axis=0)}

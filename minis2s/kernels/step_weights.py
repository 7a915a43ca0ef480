"""The cells' weights transposed once per training batch or decode call, for the step twins'
input GEMMs (numba backend).

A cell's step computes x W_ih^T and h_prev W_hh^T with W (G*H, D) in PyTorch's layout. Handed W
itself, BLAS reads it transposed (an NT product) and repacks it that way at every call; handed a
contiguous copy of W^T (D, G*H), it runs a plain NN product. At the decoder's shapes the NN form
is 1.3 to 1.8x faster (N=32, H=128, OpenBLAS's SkylakeX or Haswell kernels, one thread:
(32, 192) @ (192, 512) 118 against 191 us), while one transpose costs about what two or three
of those steps save. So the decoder asks for them once per batch in training and once per decode
call (`decoder_step.step_params`, which `Seq2Seq.encode` keeps in the DecodeState); a step given
plain parameters (a DecodeState made without encode) keeps the NT products.
"""

from __future__ import annotations

import numpy as np


def step_weights(p):
    """p (W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh) with contiguous copies "W_ih^T" (D, G*H)
    and "W_hh^T" (H, G*H) added: a new dict, valid until the weights change (the decoder makes
    one per forward pass or decode call)."""
    return p | {"W_ih^T": np.ascontiguousarray(p["W_ih"].T),
                "W_hh^T": np.ascontiguousarray(p["W_hh"].T)}  # fmt: skip


def input_weights(p):
    """(W_ih^T, W_hh^T, True) where `step_weights` added them, else (W_ih, W_hh, False): the
    operands of a step's two GEMMs and whether they are NN products."""
    if "W_ih^T" not in p:
        return p["W_ih"], p["W_hh"], False
    W_ih_T, W_hh_T = p["W_ih^T"], p["W_hh^T"]
    for name, W_T in (("W_ih", W_ih_T), ("W_hh", W_hh_T)):
        W = p[name]
        if W_T.shape != W.shape[::-1] or W_T.dtype != W.dtype:
            raise ValueError(
                f"step_weights: p[{name + '^T'!r}] has shape {W_T.shape} and dtype {W_T.dtype}, "
                f"expected {W.shape[::-1]} {W.dtype} (the transpose of p[{name!r}]); make it "
                "with step_weights(p) again after changing the weights"
            )
    return W_ih_T, W_hh_T, True

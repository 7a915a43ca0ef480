"""Numba twins of `minis2s.layers.attention.forward_with_keys`, `score_grads` and `query_grads`
(the "numba" backend): a decoder step's attention as one compiled pass per call.

Same names, arguments, results (the same QueryCache) and input checks as the reference; only the
loop mechanics differ. At a decoder step (Tq = 1) the reference's batched products are N
separate tiny matrix products each, several NumPy calls in all; here each (n, t) row is walked
once:

    forward_with_keys  e_s = scale (q . k_s) over the valid s, the masked softmax of
                       `minis2s.layers.softmax.forward` (max over the valid s and the
                       dtype's lowest number, exp of e_s - max <= 0, 0 at padding, a sum of 0
                       divided by 1), then context = sum_s w_s enc_s
    score_grads        dw_s = dcontext . enc_s (+ dweights_s), ds = w * (dw - sum_s w dw)
    query_grads        dq = scale * sum_s ds_s k_s

with scale = 1 / sqrt(Hk) for "scaled_dot", else 1. The compiled loops cover the scores q . k_s:
"dot", "scaled_dot" and "general" (its keys already hold enc W_a^T, see keys_forward).
For "concat" and "additive" (tanh of q W_q^T + keys), forward_with_keys and query_grads call the
reference functions; score_grads does not read the score kind, so it is compiled for all five.
A twin also calls the reference where the loops do not apply: float dtypes other than float32 /
float64, or mixed dtypes (where NumPy would promote). score_grads and query_grads want
dcontext, dweights and ds of exactly (N, Tq, .) (the reference's matmul would broadcast).

The dot products q . k_s and dcontext . enc_s run through `row_dot`, the one function compiled
with fastmath={"reassoc"}: one running sum cannot be vectorised without reordering its additions
(the scores took 7x as long at N=32, S=10, H=128 float32), and BLAS reorders them too. The loops
index the 3-D arrays rather than take row views: a view made inside a loop costs two atomic
reference counts (the forward loop took 1.5x as long with them). float32 `exp` is
`minis2s.kernels.fast_math.exp_f32` (relative error 1e-7), float64 keeps `np.exp`.

Each twin is a small Python function that allocates its results with NumPy and calls the
compiled loop (`*_into`) to fill them: why, in `minis2s.kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from minis2s import validate
from minis2s.kernels.blas import twin_jit
from minis2s.kernels.dtypes import FLOATS
from minis2s.kernels.fast_math import exp
from minis2s.layers import attention
from minis2s.layers._attention_checks import WHERE, check_query, query_mask
from minis2s.layers.attention import QueryCache

COMPILED = ("dot", "scaled_dot", "general")  # the score kinds e_s = scale (q . k_s)


def _compiled(*arrays):
    """True if all arrays (None skipped) share one dtype, float32 or float64."""
    dtype = arrays[0].dtype
    return dtype in FLOATS and all(a is None or a.dtype == dtype for a in arrays)


def forward_with_keys(q, keys, enc, p, mask=None, score="general", *, mask_checked=False):
    """Attend from each query, given the keys from keys_forward; enc serves as the values.

    Shapes: q (N, Tq, Hq), keys (N, S, Hk), enc (N, S, He), mask (N, S) of 0/1 or None
    -> context (N, Tq, He), weights (N, Tq, S), QueryCache, as the reference (`mask_checked`
    too).
    """
    if score not in COMPILED:  # concat, additive: the reference (unknown kinds: its error)
        return attention.forward_with_keys(q, keys, enc, p, mask, score, mask_checked=mask_checked)
    N, S = check_query(q, keys, enc, p, score)
    if not _compiled(q, keys, enc):
        return attention.forward_with_keys(q, keys, enc, p, mask, score, mask_checked=mask_checked)
    m = query_mask(mask, N, S, q.dtype, mask_checked)
    scale = 1.0 / math.sqrt(keys.shape[-1]) if score == "scaled_dot" else 1.0
    w = np.empty((N, q.shape[1], S), dtype=q.dtype)  # NumPy's allocation: see minis2s.kernels
    context = np.empty((N, q.shape[1], enc.shape[2]), dtype=q.dtype)
    rows = (np.ascontiguousarray(a) for a in (q, keys, enc, m))  # unit-stride rows
    forward_into(*rows, scale, w, context)
    return context, w, QueryCache(q, keys, enc, p, score, w, None)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def row_dot(a, b, n, t, s):
    """a[n, t] . b[n, s] for a (N, Tq, Ha), b (N, S, Ha) (Ha = Hk for q . k_s, He for
    dcontext . enc_s); reassociated so that the sum vectorises. Indices, not row views: a view
    made inside a loop costs two atomic reference counts."""
    acc = a.dtype.type(0)
    for j in range(a.shape[2]):
        acc += a[n, t, j] * b[n, s, j]
    return acc


@twin_jit
def forward_into(q, keys, enc, m, scale, w, context):
    """The loops of `attention.forward_with_keys` (its scores, `softmax.forward` and w @ enc),
    writing w and context in place."""
    N, Tq, _ = q.shape
    S, He = enc.shape[1], enc.shape[2]
    zero, one = q.dtype.type(0), q.dtype.type(1)
    lowest = q.dtype.type(np.finfo(q.dtype).min)  # the shift's floor, as softmax.forward's
    scale = q.dtype.type(scale)  # as NumPy casts the reference's Python float: float32 stays so
    for n in range(N):
        for t in range(Tq):
            # masked softmax of e_s = scale (q . k_s) as softmax.forward; padding is never read, and
            # e_max >= lowest, so valid scores all -inf give exp(-inf) = 0, not exp(NaN)
            e_max = lowest
            for s in range(S):
                w[n, t, s] = zero
                if m[n, s] > 0:
                    w[n, t, s] = row_dot(q, keys, n, t, s) * scale
                    e_max = max(e_max, w[n, t, s])
            total = zero
            for s in range(S):
                if m[n, s] > 0:
                    w[n, t, s] = exp(w[n, t, s] - e_max)  # exp(<= 0); 0 at padding
                    total += w[n, t, s]
            # the max contributes exp(0) = 1, so total >= 1 unless no s is valid: then w = 0
            total = max(total, one)
            for s in range(S):
                w[n, t, s] = w[n, t, s] / total
            for j in range(He):  # context = sum_s w_s enc_s
                context[n, t, j] = zero
            for s in range(S):
                w_s = w[n, t, s]
                for j in range(He):
                    context[n, t, j] += w_s * enc[n, s, j]


def score_grads(dcontext, dweights, cache):
    """ds (N, Tq, S), the gradient of the scores e, from dcontext (N, Tq, He) and dweights
    (N, Tq, S) or None."""
    w, enc = cache.w, cache.enc
    if not _compiled(w, enc, dcontext, dweights):
        return attention.score_grads(dcontext, dweights, cache)
    N, Tq, S = w.shape
    where = f"{WHERE}.score_grads"
    validate.shape(where, "dcontext", dcontext, (N, Tq, enc.shape[2]), "N, Tq, He")
    if dweights is not None:
        validate.shape(where, "dweights", dweights, (N, Tq, S), "N, Tq, S")
        dweights = np.ascontiguousarray(dweights)
    ds = np.empty((N, Tq, S), dtype=w.dtype)  # NumPy's allocation: see minis2s.kernels
    dcontext, enc = np.ascontiguousarray(dcontext), np.ascontiguousarray(enc)
    score_grads_into(dcontext, dweights, enc, np.ascontiguousarray(w), ds)
    return ds


@twin_jit
def score_grads_into(dcontext, dweights, enc, w, ds):
    """The loops of `attention.score_grads` (dw, then `softmax.backward`), writing ds in place
    (dw first, then ds over it)."""
    N, Tq, S = w.shape
    for n in range(N):
        for t in range(Tq):
            for s in range(S):
                ds[n, t, s] = row_dot(dcontext, enc, n, t, s)  # dw_s, through context = w enc
            if dweights is not None:
                for s in range(S):
                    ds[n, t, s] = ds[n, t, s] + dweights[n, t, s]
            wdw = w.dtype.type(0)  # sum_s w_s dw_s: softmax.backward
            for s in range(S):
                wdw += w[n, t, s] * ds[n, t, s]
            for s in range(S):
                ds[n, t, s] = w[n, t, s] * (ds[n, t, s] - wdw)


def query_grads(ds, cache):
    """dq (N, Tq, Hq) from the scores' gradient ds (N, Tq, S)."""
    keys, score, w = cache.keys, cache.score, cache.w
    if score not in COMPILED or not _compiled(keys, ds):
        return attention.query_grads(ds, cache)
    validate.shape(f"{WHERE}.query_grads", "ds", ds, w.shape, "N, Tq, S")
    scale = 1.0 / math.sqrt(keys.shape[-1]) if score == "scaled_dot" else 1.0
    dq = np.empty((*ds.shape[:2], keys.shape[2]), dtype=keys.dtype)  # NumPy's allocation
    query_grads_into(np.ascontiguousarray(ds), np.ascontiguousarray(keys), scale, dq)
    return dq


@twin_jit
def query_grads_into(ds, keys, scale, dq):
    """The loops of `attention.query_grads` (scale * (ds @ keys)), writing dq in place."""
    N, Tq, S = ds.shape
    Hk = keys.shape[2]
    zero, scale = keys.dtype.type(0), keys.dtype.type(scale)
    for n in range(N):
        for t in range(Tq):
            for j in range(Hk):  # ds @ keys, then times scale
                dq[n, t, j] = zero
            for s in range(S):
                ds_s = ds[n, t, s]
                for j in range(Hk):
                    dq[n, t, j] += ds_s * keys[n, s, j]
            for j in range(Hk):
                dq[n, t, j] = scale * dq[n, t, j]

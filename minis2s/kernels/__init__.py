"""Fast twins of reference functions, registered by name for a backend. For "numba": the recurrent
time loops and the cells' single steps (which a decoder's loop calls; they read the weights
transposed once per training batch or decode call, `step_weights`), the decoder step's
attention, the loss's row passes, the embedding's scatter-add and the Adam update. For "cupy":
the time loops and single steps, each step one cuBLAS GEMM and one fused gate kernel
(`elementwise`, `cupy_rnn`, `cupy_lstm`, `cupy_gru`), the loss's passes over the logits
(`cupy_loss`), the attention's masked softmax (`cupy_softmax`) and the Adam update
(`cupy_optim`); the rest runs as the reference on CuPy.
The notes below are about the Numba twins.

Each twin has the signature of the reference function it replaces. The recurrent twins
(`numba_rnn`, `numba_lstm`, `numba_gru`) also keep its statement order (for example
`minis2s.layers.lstm.forward_loop`) and its names, so `diff` shows only loop mechanics: a gate or
an entry of the reference's (N, H) arrays keeps its name (i, f, g, o; dh, dc), a row of the
reference's name[:, t] is name_t (gates_t), a row of an (N, .) array name_row (h_row). Each
compiled loop names the reference function it replaces, and a comment says why where it must
differ (a gate's pre-activation summed where it is activated, never stored; one GEMM a step after
all the rows; each row's `.. if m_t else ..` for where(m_t, ..) over the batch). The attention,
loss, embedding and Adam twins fuse the reference's array operations into loops of their own,
each described in its module's docstring. Numba compiles them for float32 and float64; arrays of
another float dtype (float16) go to the reference (`dtypes.float_twin`, or each attention and
Adam twin's own check). Layers never import this package: they ask
`backend.current().kernel("lstm.forward_loop", forward_loop)` (the decoder, the model and the
optimizer ask alike for the twins they call).

The elementwise loops are written to vectorise (SIMD): `error_model="numpy"` drops the
divide-by-zero check of the Python error model, `one = dtype(1)` keeps float32 math in float32,
`tanh` / `sigmoid` from `minis2s.kernels.fast_math` are branch-free rational functions for
float32 (`np.tanh` for float64, so float64 parity stays at 1e-10), and each row is walked in
flat passes over 1-D views rather than one loop over many 3-D arrays. Each pass counts from 0
over a view of one gate block (`g = gates_t[2 * H : 3 * H]`, then `g[j]`), not over an offset range
(`gates_t[2 * H + j]`, `range(2 * H, 3 * H)`): Numba wraps negative indices, and LLVM cannot rule
them out for an index that does not start at 0, so such a loop stays scalar (the LSTM gate
activations took 42 us a step at N=32, H=128 with offset ranges, 18 us with block views). The
twins' per-step GEMMs call NumPy's own BLAS (`minis2s.kernels.blas`), so one thread pool serves
every GEMM.

Every array a compiled loop touches is allocated by NumPy in a small Python function around it
(`*_into` fills them), scratch and carried states included, for two measured reasons:
- NumPy asks Linux for huge pages for large arrays (madvise), Numba's allocator does not: filling
  a fresh (64, 100, 2048) float32 array from Numba took 39 ms against 11 ms for one NumPy
  allocated, page faults mostly (arrays over glibc's 32 MB mmap threshold are fresh pages on
  every call).
- The same row loop ran 4x slower over arrays created inside the compiled function than over the
  same arrays passed in (the LSTM backward loop's elementwise part at N=64, T=25, H=512: 10.5
  against 2.4 ms; its whole loop went from 35 to 26 ms). We did not pin down why (Numba keeps a
  reference count on views of arrays it owns, not on views of its arguments, is our guess).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable


def numba_kernels() -> dict[str, Callable]:
    """Twins for the "numba" backend, keyed "<layer>.<function>"."""
    from minis2s.kernels import (  # on use only: importing compiles or loads the twins
        blas,
        numba_attention,
        numba_embedding,
        numba_gru,
        numba_loss,
        numba_lstm,
        numba_optim,
        numba_rnn,
        step_weights,
    )
    from minis2s.threads import single_thread_scipy_blas

    if blas.SOURCE == blas.SCIPY:  # the fallback: the twins' GEMMs on SciPy's pool (blas.py)
        single_thread_scipy_blas()

    kernels: dict[str, Callable] = {
        "rnn.forward_loop": numba_rnn.forward_loop,
        "rnn.backward_loop": numba_rnn.backward_loop,
        "rnn.step_forward": numba_rnn.step_forward,
        "rnn.step_backward_data": numba_rnn.step_backward_data,
        "rnn.step_weights": step_weights.step_weights,
        "lstm.forward_loop": numba_lstm.forward_loop,
        "lstm.backward_loop": numba_lstm.backward_loop,
        "lstm.step_forward": numba_lstm.step_forward,
        "lstm.step_backward_data": numba_lstm.step_backward_data,
        "lstm.step_weights": step_weights.step_weights,
        "gru.forward_loop": numba_gru.forward_loop,
        "gru.backward_loop": numba_gru.backward_loop,
        "gru.step_forward": numba_gru.step_forward,
        "gru.step_backward_data": numba_gru.step_backward_data,
        "gru.step_weights": step_weights.step_weights,
        "loss.log_softmax": numba_loss.log_softmax,
        "loss.softmax_minus_target": numba_loss.softmax_minus_target,
        "attention.forward_with_keys": numba_attention.forward_with_keys,
        "attention.score_grads": numba_attention.score_grads,
        "attention.query_grads": numba_attention.query_grads,
        "optim.adam_update": numba_optim.adam_update,
        "embedding.scatter_add": numba_embedding.scatter_add,
    }
    return kernels


def numba_cache_is_cold() -> bool:
    """Whether Numba has compiled none of the twins on this machine yet (up to 30 s on first use;
    later runs load them from its cache): no cached twin's index file exists. Best effort (Numba's
    cache internals), False when it cannot tell."""
    index_paths = []
    for module in _numba_modules():
        for obj in vars(module).values():
            cache_file = getattr(getattr(obj, "_cache", None), "_cache_file", None)
            if cache_file is not None and hasattr(cache_file, "_index_path"):
                index_paths.append(cache_file._index_path)
    return bool(index_paths) and not any(os.path.exists(p) for p in index_paths)


def _numba_modules() -> list:
    """The modules of the numba twins (imported on use: importing compiles or loads them)."""
    names = ("attention", "embedding", "gru", "loss", "lstm", "optim", "rnn")
    return [importlib.import_module(f"minis2s.kernels.numba_{name}") for name in names]


def cupy_kernels() -> dict[str, Callable]:
    """Twins for the "cupy" backend, keyed "<layer>.<function>": the cells' time loops (each step
    one cuBLAS GEMM and one fused gate kernel, `minis2s.kernels.elementwise`) and single steps,
    the loss's two passes over the logits, the attention's masked softmax and Adam's update."""
    from minis2s.kernels import cupy_gru, cupy_loss, cupy_lstm, cupy_optim, cupy_rnn, cupy_softmax

    kernels: dict[str, Callable] = {
        "optim.adam_update": cupy_optim.adam_update,
        "loss.log_softmax": cupy_loss.log_softmax,
        "loss.softmax_minus_target": cupy_loss.softmax_minus_target,
        "softmax.forward": cupy_softmax.forward,
        "softmax.backward": cupy_softmax.backward,
    }
    for cell, twin in (("rnn", cupy_rnn), ("lstm", cupy_lstm), ("gru", cupy_gru)):
        for name in CUPY_TWINS:
            kernels[f"{cell}.{name}"] = getattr(twin, name)
    return kernels


CUPY_TWINS = ("forward_loop", "backward_loop", "step_forward", "step_backward_data")

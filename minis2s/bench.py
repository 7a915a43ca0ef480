"""Timing helpers and the LSTM / GRU layer benchmark behind `minis2s bench`.

    $ minis2s --backend numba bench --quick --json rows.json

Every row times one piece of work on one backend and, where PyTorch is installed, the same work
in PyTorch (same shapes, float32, eager, as many threads as BLAS):

    ms          median wall time of one call, after warm-up (numba compiles on its first call)
    seq/s       sequences per second, N / time
    tokens/s    time steps per second, N * T / time (target tokens for a training step)
    GFLOP/s     matrix-multiply flops of the work / time; the counts are analytic (the formulas
                are below) and leave out elementwise gate math, softmax and optimizer updates
    peak        GFLOP/s as a fraction of the float32 GEMM peak measured in the same run
    torch ms    PyTorch's median on the same work ("n/a" without torch)
    torch/ours  torch ms / ms: above 1 means minis2s is faster

The layer benchmark adds a row per size whose backend is "GEMMs only": the layer's matrix
products alone (`gemm_operands`: the same shapes, the same number of calls, nothing between
them) on the first backend's arrays. Its peak column is the most a layer that calls this BLAS
can reach at that size; the gap between it and a backend's row is time outside the GEMMs.

The seq2seq benchmark (a training step, greedy and beam decoding) is benchmarks/bench_seq2seq.py
in the source tree; it reuses these helpers.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from minis2s import backend
from minis2s.threads import blas_threads, set_blas_threads  # noqa: F401  (re-exported)

NA = "n/a"
GEMMS_ONLY = "GEMMs only"  # the backend column of the layer rows that time the GEMMs alone
COLUMNS = {  # JSON key -> table heading
    "name": "bench", "backend": "backend", "dtype": "dtype", "shape": "shape", "ms": "ms",
    "seq_per_s": "seq/s", "tokens_per_s": "tokens/s", "gflops": "GFLOP/s", "peak_frac": "peak",
    "torch_ms": "torch ms", "torch_ratio": "torch/ours",
}  # fmt: skip


# -- threads -----------------------------------------------------------------------------------


def torch_or_none() -> Any:
    """The torch module, or None when it is not installed (or hidden: sys.modules["torch"] =
    None), set to as many threads as NumPy's BLAS so both sides get the same cores."""
    try:
        import torch
    except ImportError:
        return None
    threads = blas_threads()
    if threads:
        torch.set_num_threads(threads)
    return torch


# -- timing ------------------------------------------------------------------------------------


def sync_for(be: backend.Backend) -> Callable[[], None]:
    """What makes a timing wait for the device: a no-op on the CPU backends."""
    if be.name == "cupy":
        return lambda: be.xp.cuda.Device().synchronize()
    return lambda: None


def median_ms(
    fn: Callable[[], Any],
    *,
    warmup: int = 1,
    repeats: int | None = None,
    budget_s: float = 2.0,
    sync: Callable[[], None] = lambda: None,
) -> float:
    """Median wall time of fn() in ms, after `warmup` untimed calls.

    Without `repeats`, as many calls as fit in `budget_s` (3 to 100): big sizes get a median of 3,
    small ones a median over the whole budget, which a short burst of load on a shared machine
    moves less than a median of 20 calls of 10 ms.
    """
    for _ in range(warmup):
        fn()
        sync()
    times: list[float] = []
    while True:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
        want = repeats if repeats is not None else min(100, max(3, int(budget_s / times[0])))
        if len(times) >= want:
            return 1e3 * statistics.median(times)


def gemm_peak(n: int = 1024, repeats: int = 20) -> float:
    """Measured float32 GEMM rate in GFLOP/s: the fastest of `repeats` (n, n) @ (n, n) on NumPy's
    BLAS, after two warm-up calls. The fastest, not the median: a peak is what the machine can
    do, and a burst of load on a shared machine during a median of 10 once halved it (every row
    of that run came out above 1.0 of the peak)."""
    r = np.random.default_rng(0)
    a, b = r.standard_normal((n, n), dtype=np.float32), r.standard_normal((n, n), dtype=np.float32)
    for _ in range(2):
        a @ b
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        seconds.append(time.perf_counter() - t0)
    return 2 * n**3 / (min(seconds) * 1e9)


# -- rows and their output ---------------------------------------------------------------------


def make_row(
    name: str,
    backend_name: str,
    dtype: str,
    shape: str,
    ms: float,
    *,
    sequences: int,
    tokens: float,
    flops: float,
    peak: float,
    torch_ms: float | None,
) -> dict[str, Any]:
    """One row (keys COLUMNS): rates from the median `ms` of work on `sequences` sequences of
    `tokens` tokens in all, `flops` GEMM flops; torch columns "n/a" when torch_ms is None."""
    gflops = flops / (ms * 1e6)
    return {
        "name": name, "backend": backend_name, "dtype": dtype, "shape": shape, "ms": ms,
        "seq_per_s": sequences / ms * 1e3, "tokens_per_s": tokens / ms * 1e3, "gflops": gflops,
        "peak_frac": gflops / peak,
        "torch_ms": NA if torch_ms is None else torch_ms,
        "torch_ratio": NA if torch_ms is None else torch_ms / ms,
    }  # fmt: skip


def merge_rounds(rounds: Sequence[Sequence[dict[str, Any]]], peak: float) -> list[dict[str, Any]]:
    """Rows measured in several rounds of the same table -> one row each: the median ms and the
    median torch ms over the rounds, the rates rescaled to that ms, torch/ours their ratio, and
    peak the GFLOP/s over `peak` (the fastest of the rounds' gemm_peak). On a shared machine a
    burst of load hits one round's row, not every round's."""
    if len({tuple((r["name"], r["backend"], r["shape"]) for r in rows) for rows in rounds}) != 1:
        raise ValueError("merge_rounds: every round must have the same rows in the same order")
    merged = []
    for same in zip(*rounds, strict=True):
        first, ms = same[0], statistics.median(r["ms"] for r in same)
        row = dict(first, ms=ms)
        for key in ("seq_per_s", "tokens_per_s", "gflops"):  # all are work / ms
            row[key] = first[key] * first["ms"] / ms
        row["peak_frac"] = row["gflops"] / peak
        if first["torch_ms"] != NA:
            row["torch_ms"] = statistics.median(r["torch_ms"] for r in same)
            row["torch_ratio"] = row["torch_ms"] / ms
        merged.append(row)
    return merged


def meta(peak: float, peak_n: int = 1024) -> dict[str, Any]:
    """Run-wide facts for the table header and the JSON file (peak from gemm_peak(peak_n))."""
    torch = torch_or_none()
    return {
        "gemm_peak_gflops": peak,
        "gemm_peak_n": peak_n,
        "blas_threads": blas_threads(),
        "numba_blas": _numba_blas(),
        "torch": NA if torch is None else torch.__version__,
        "torch_threads": NA if torch is None else torch.get_num_threads(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }


def _numba_blas() -> str:
    """Which BLAS the numba twins call (minis2s.kernels.blas.SOURCE), or n/a without numba."""
    try:
        from minis2s.kernels import blas
    except ImportError:
        return NA
    return blas.SOURCE


def _cell(key: str, v: Any) -> str:
    if isinstance(v, str):
        return v
    digits = {"gflops": 1, "ms": 2, "torch_ms": 2, "peak_frac": 2, "torch_ratio": 2}.get(key, 0)
    return f"{v:,.{digits}f}"


def markdown(rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> str:
    """A markdown table of `rows` under a line of `info` (meta(): peak and thread counts)."""
    rounds = info.get("rounds", 1)
    head = (f"median of {rounds} rounds, " if rounds > 1 else "") + (
        f"float32 GEMM peak {info['gemm_peak_gflops']:.1f} GFLOP/s ({info['gemm_peak_n']}^3), "
        f"BLAS threads {info['blas_threads'] or 'unknown'}, numba twins' BLAS "
        f"{info.get('numba_blas', NA)}, torch {info['torch']} "
        f"with {info['torch_threads']} threads, numpy {info['numpy']}, {info['cpus']} CPUs"
    )
    lines = [head, "", "| " + " | ".join(COLUMNS.values()) + " |"]
    lines.append("|" + "|".join("---" if k in ("name", "backend", "dtype", "shape") else "---:"
                                for k in COLUMNS) + "|")  # fmt: skip
    for r in rows:
        lines.append("| " + " | ".join(_cell(k, r[k]) for k in COLUMNS) + " |")
    return "\n".join(lines)


def save_json(path: str, rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> None:
    """Write {"meta": info, "rows": rows} to `path`."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"meta": info, "rows": list(rows)}, f, indent=1)


def load_json(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, meta) from a file save_json wrote."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data["rows"], data["meta"]


# -- the layer benchmark -----------------------------------------------------------------------


class LayerCase(NamedTuple):
    cell: str  # "lstm" or "gru"
    N: int
    T: int
    D: int
    H: int
    backward: bool  # forward + backward, else forward only
    source: str  # where the size comes from

    @property
    def name(self) -> str:
        return f"{self.cell} {'fwd+bwd' if self.backward else 'fwd'} ({self.source})"

    @property
    def shape(self) -> str:
        return f"N={self.N} T={self.T} D={self.D} H={self.H}"


def rnn_flops(cell: str, N: int, T: int, D: int, H: int, backward: bool) -> float:
    """GEMM flops of a recurrent layer with G gates (lstm 4, gru 3):
    forward 2 N T G H (D + H) (input projection and recurrent product); the backward pass does
    two GEMMs of that size per forward GEMM (input and weight gradients), so fwd+bwd is 3x."""
    G = {"lstm": 4, "gru": 3}[cell]
    fwd = 2.0 * N * T * G * H * (D + H)
    return 3 * fwd if backward else fwd


def _sizes(N: int, T: int, D: int, H: int, source: str) -> list[LayerCase]:
    return [LayerCase(c, N, T, D, H, bwd, source) for c in ("lstm", "gru") for bwd in (False, True)]


QUICK = _sizes(32, 20, 64, 128, "seed")  # the seed notebooks' size
GRID = (
    QUICK
    + [c for N in (16, 32, 64) for c in _sizes(N, 25, 512, 512, "DeepBench")]
    + [c for N in (16, 32, 64) for c in _sizes(N, 150, 256, 256, "DeepBench")]
    + _sizes(64, 100, 512, 512, "fastrnns")
)


def _ours(case: LayerCase) -> Callable[[], Any]:
    """One call of our layer on the current backend, float32."""
    from minis2s.layers import gru, lstm

    layer = {"lstm": lstm, "gru": gru}[case.cell]
    be, r = backend.current(), backend.rng(0)
    p = {k: be.asarray(v) for k, v in layer.init(case.D, case.H, r, dtype=np.float32).items()}
    x = be.asarray(r.standard_normal((case.N, case.T, case.D)), dtype=np.float32)
    dys = be.asarray(r.standard_normal((case.N, case.T, case.H)), dtype=np.float32)
    if not case.backward:
        return lambda: layer.forward(x, None, p)

    def step() -> None:
        _, _, cache = layer.forward(x, None, p)
        layer.backward(dys, None, cache)

    return step


def gemm_operands(case: LayerCase, xp: Any) -> list[tuple[Any, Any]]:
    """(a, b) for every product a @ b the layer does, with G gates: forward x W_ih^T over all
    steps, then h W_hh^T per step; backward da_t W_hh per step, then da W_ih, da^T x and
    da^T h_prev over all steps (the weight gradients). Operands in the layouts the layers use
    (transposes are views), float32, on array module `xp`. Their flops are rnn_flops."""
    G = {"lstm": 4, "gru": 3}[case.cell]
    N, T, D, H = case.N, case.T, case.D, case.H
    r = backend.rng(0)
    a = lambda *shape: xp.asarray(r.standard_normal(shape), dtype=np.float32)  # noqa: E731
    W_ih, W_hh, x, h = a(G * H, D), a(G * H, H), a(N * T, D), a(N, H)
    ops = [(x, W_ih.T)] + [(h, W_hh.T)] * T
    if case.backward:
        da, da_t, h_prev = a(N * T, G * H), a(N, G * H), a(N * T, H)
        ops += [(da_t, W_hh)] * T + [(da, W_ih), (da.T, x), (da.T, h_prev)]
    return ops


def _gemms_only(case: LayerCase) -> Callable[[], Any]:
    """One call's worth of the layer's GEMMs alone, on the current backend's arrays."""
    ops = gemm_operands(case, backend.current().xp)

    def gemms() -> None:
        for a, b in ops:
            a @ b

    return gemms


def _torch(case: LayerCase, torch: Any) -> Callable[[], Any]:
    """The same call in PyTorch: nn.LSTM / nn.GRU, batch_first, float32; the forward-only row
    runs under no_grad (inference), fwd+bwd backpropagates dys into x and the weights."""
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[case.cell]
    m = module(case.D, case.H, batch_first=True)
    x = torch.randn(case.N, case.T, case.D, requires_grad=case.backward)
    dys = torch.randn(case.N, case.T, case.H)
    if not case.backward:

        def forward() -> None:
            with torch.no_grad():
                m(x)

        return forward
    return lambda: m(x)[0].backward(dys)


def layer_rows(
    cases: Iterable[LayerCase],
    backends: Sequence[str],
    peak: float,
    *,
    budget_s: float = 2.0,
    report: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """Time every case on every backend (and once in torch), then its GEMMs alone on the first
    backend's arrays (a "GEMMs only" row); `report` sees each row as it comes."""
    torch = torch_or_none()
    rows = []
    for case in cases:
        torch_ms = None
        if torch is not None:
            torch_ms = median_ms(_torch(case, torch), budget_s=budget_s)
        flops = rnn_flops(case.cell, case.N, case.T, case.D, case.H, case.backward)
        for name in backends:
            be = backend.use(name)
            ms = median_ms(_ours(case), budget_s=budget_s, sync=sync_for(be))
            row = make_row(case.name, name, "float32", case.shape, ms, sequences=case.N,
                           tokens=case.N * case.T, flops=flops, peak=peak,
                           torch_ms=torch_ms)  # fmt: skip
            rows.append(row)
            report(row)
        be = backend.use(backends[0])
        ms = median_ms(_gemms_only(case), budget_s=budget_s, sync=sync_for(be))
        row = make_row(case.name, GEMMS_ONLY, "float32", case.shape, ms, sequences=case.N,
                       tokens=case.N * case.T, flops=flops, peak=peak, torch_ms=None)  # fmt: skip
        rows.append(row)
        report(row)
    return rows


def run(quick: bool = False, json_path: str | None = None) -> list[dict[str, Any]]:
    """`minis2s bench`: the layer grid (QUICK or GRID) on the current backend; prints the table."""
    name = backend.current().name
    peak = gemm_peak()
    info = meta(peak)
    rows = layer_rows(QUICK if quick else GRID, [name], peak)
    backend.use(name)
    print(markdown(rows, info))
    if json_path:
        save_json(json_path, rows, info)
    return rows

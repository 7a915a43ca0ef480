"""Timing helpers and the LSTM / GRU layer benchmark behind `minis2s bench`.

    $ minis2s --backend numba bench --quick --json rows.json

Every row times one piece of work on one backend and, where PyTorch is installed, the same work
in PyTorch (same shapes, float32, eager, as many threads as BLAS, or on the GPU):

    ms          median time of one call, after warm-up (numba compiles on its first call): wall
                time on the CPU backends and CPU torch, device time between two CUDA events
                around the call on cupy and CUDA torch
    seq/s       sequences per second, N / time
    tokens/s    time steps per second, N * T / time (target tokens for a training step)
    GFLOP/s     matrix-multiply flops of the work / time; the counts are analytic (the formulas
                are below) and leave out elementwise gate math, softmax and optimizer updates
    peak        GFLOP/s as a fraction of the float32 GEMM peak measured in the same run on the
                row's own device: NumPy's BLAS for numpy and numba, cuBLAS through CuPy for cupy
    torch ms    PyTorch's median on the same work ("n/a" without torch)
    torch/ours  torch ms / ms: above 1 means minis2s is faster

The layer benchmark adds a row per size whose backend is "GEMMs only" ("GEMMs only (cupy)" on
the GPU): the layer's matrix products alone (`gemm_operands`: the same shapes, the same number of
calls, nothing between them) on the first backend's arrays. Its peak column is the most a layer
that calls this BLAS can reach at that size; the gap between it and a backend's row is time
outside the GEMMs.

The seq2seq benchmark (a training step, greedy and beam decoding) is benchmarks/bench_seq2seq.py
in the source tree; it reuses these helpers.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

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
PEAK_N = {"cpu": 1024, "gpu": 4096}  # the peak's (n, n) @ (n, n), per device
TORCH_DEVICES = ("auto", "cpu", "cuda")
Peaks = Mapping[str, float]  # device ("cpu", "gpu") -> float32 GEMM GFLOP/s


# -- threads and the PyTorch peer --------------------------------------------------------------


def torch_or_none() -> Any:
    """The torch module, or None when it is not installed (or hidden: sys.modules["torch"] =
    None), set to as many threads as NumPy's BLAS so both sides get the same cores, and to
    float32 proper on a GPU: cuDNN's RNNs default to TF32 there, CuPy's GEMMs do not."""
    try:
        import torch
    except ImportError:
        return None
    threads = blas_threads()
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cudnn.allow_tf32 = False  # the legacy flags: torch 2.11 and 2.13 alike
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch


def torch_device(choice: str, backends: Sequence[str], torch: Any) -> str:
    """Where the PyTorch peer runs ("cpu" or "cuda") for --torch-device `choice`: "auto" is
    "cuda" when cupy is among the `backends` timed and this PyTorch sees a GPU, else "cpu";
    "cuda" where there is none stops the run, saying what to do."""
    if choice not in TORCH_DEVICES:
        raise ValueError(f"torch device must be one of {', '.join(TORCH_DEVICES)}; got {choice!r}")
    has_cuda = torch is not None and torch.cuda.is_available()
    if choice == "auto":
        return "cuda" if "cupy" in backends and has_cuda else "cpu"
    if choice == "cuda" and not has_cuda:
        why = "PyTorch is not installed"
        if torch is not None:
            v = torch.__version__
            why = f"torch {v} sees no CUDA device (torch.cuda.is_available() is False)"
        raise SystemExit(
            f"--torch-device cuda: {why}. To fix: install a CUDA build of PyTorch on a machine "
            "with an NVIDIA GPU, or pass --torch-device cpu (or auto)"
        )
    return choice


# -- timing ------------------------------------------------------------------------------------


class Clock(Protocol):
    def ms(self, fn: Callable[[], Any]) -> float:
        """Call fn() once; its time in ms."""
        ...


class WallClock:
    """perf_counter around the call: the CPU backends and PyTorch on the CPU."""

    def ms(self, fn: Callable[[], Any]) -> float:
        t0 = time.perf_counter()
        fn()
        return 1e3 * (time.perf_counter() - t0)


class EventClock:
    """Device events around the call: start.record(), fn(), end.record(), end.synchronize(),
    then elapsed_ms(start, end), the device's time from one event to the other. Waiting for the
    end event leaves the device idle, so the next call's start event is not queued behind work
    of this one, and a call is timed from its first launch to the end of its last kernel."""

    def __init__(self, event: Callable[[], Any], elapsed_ms: Callable[[Any, Any], float]) -> None:
        self.event, self.elapsed_ms = event, elapsed_ms

    def ms(self, fn: Callable[[], Any]) -> float:
        start, end = self.event(), self.event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return float(self.elapsed_ms(start, end))


WALL = WallClock()


def clock_for(be: backend.Backend) -> Clock:
    """CUDA events (cupy.cuda.Event) for the cupy backend, perf_counter for the CPU ones."""
    if be.name == "cupy":
        cuda = be.xp.cuda
        return EventClock(cuda.Event, cuda.get_elapsed_time)
    return WALL


def torch_clock(torch: Any, device: str) -> Clock:
    """torch.cuda.Event(enable_timing=True) pairs for the peer on "cuda", else perf_counter."""
    if device == "cuda":
        return EventClock(lambda: torch.cuda.Event(enable_timing=True),
                          lambda start, end: start.elapsed_time(end))  # fmt: skip
    return WALL


def median_ms(
    fn: Callable[[], Any],
    *,
    warmup: int = 1,
    repeats: int | None = None,
    budget_s: float = 2.0,
    clock: Clock = WALL,
) -> float:
    """Median time of fn() in ms by `clock`, after `warmup` calls whose times are dropped.

    Without `repeats`, as many calls as fit in `budget_s` (3 to 100): big sizes get a median of 3,
    small ones a median over the whole budget, which a short burst of load on a shared machine
    moves less than a median of 20 calls of 10 ms.
    """
    for _ in range(warmup):
        clock.ms(fn)
    times: list[float] = []
    while True:
        times.append(clock.ms(fn))
        fit = int(budget_s * 1e3 / max(times[0], 1e-6))
        want = repeats if repeats is not None else min(100, max(3, fit))
        if len(times) >= want:
            return statistics.median(times)


# -- the GEMM peak of each device --------------------------------------------------------------


def device_of(backend_column: str) -> str:
    """The device ("gpu" or "cpu") whose peak rates a row with this backend column: "gpu" for
    cupy and "GEMMs only (cupy)", "cpu" for numpy, numba and "GEMMs only"."""
    return "gpu" if "cupy" in backend_column else "cpu"


def gemm_peak(n: int = 1024, repeats: int = 20, *, xp: Any = np, clock: Clock = WALL) -> float:
    """Measured float32 GEMM rate in GFLOP/s: the fastest of `repeats` (n, n) @ (n, n) on array
    module `xp` (NumPy's BLAS; CuPy's cuBLAS with clock_for's events), after two warm-up calls.
    The fastest, not the median: a peak is what the machine can do, and a burst of load on a
    shared machine during a median of 10 once halved it (every row of that run came out above
    1.0 of the peak)."""
    r = np.random.default_rng(0)
    a, b = (xp.asarray(r.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    for _ in range(2):
        clock.ms(lambda: a @ b)
    return 2 * n**3 / (min(clock.ms(lambda: a @ b) for _ in range(repeats)) * 1e6)


def measure_peaks(bes: Iterable[backend.Backend], gpu_n: int = PEAK_N["gpu"]) -> dict[str, float]:
    """{"cpu": NumPy's BLAS peak} (numpy and numba call it), plus "gpu" (CuPy's (gpu_n, gpu_n)
    float32 matmul, timed with events) when cupy is among the backends `bes`."""
    peaks = {"cpu": gemm_peak(PEAK_N["cpu"])}
    for be in bes:
        if device_of(be.name) == "gpu":
            peaks["gpu"] = gemm_peak(gpu_n, xp=be.xp, clock=clock_for(be))
    return peaks


def peak_text(peaks: Peaks) -> str:
    """ "198.3 GFLOP/s", and ", GPU 51234.5 GFLOP/s" after it when a GPU peak was measured."""
    gpu = f", GPU {peaks['gpu']:.1f} GFLOP/s" if "gpu" in peaks else ""
    return f"{peaks['cpu']:.1f} GFLOP/s{gpu}"


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
    `tokens` tokens in all, `flops` GEMM flops against the `peak` of the row's device; torch
    columns "n/a" when torch_ms is None."""
    gflops = flops / (ms * 1e6)
    return {
        "name": name, "backend": backend_name, "dtype": dtype, "shape": shape, "ms": ms,
        "seq_per_s": sequences / ms * 1e3, "tokens_per_s": tokens / ms * 1e3, "gflops": gflops,
        "peak_frac": gflops / peak,
        "torch_ms": NA if torch_ms is None else torch_ms,
        "torch_ratio": NA if torch_ms is None else torch_ms / ms,
    }  # fmt: skip


def merge_rounds(rounds: Sequence[Sequence[dict[str, Any]]], peaks: Peaks) -> list[dict[str, Any]]:
    """Rows measured in several rounds of the same table -> one row each: the median ms and the
    median torch ms over the rounds, the rates rescaled to that ms, torch/ours their ratio, and
    peak the GFLOP/s over the peak of the row's device (`device_of`; the fastest of the rounds'
    gemm_peak). On a shared machine a burst of load hits one round's row, not every round's."""
    if len({tuple((r["name"], r["backend"], r["shape"]) for r in rows) for rows in rounds}) != 1:
        raise ValueError("merge_rounds: every round must have the same rows in the same order")
    merged = []
    for same in zip(*rounds, strict=True):
        first, ms = same[0], statistics.median(r["ms"] for r in same)
        row = dict(first, ms=ms)
        for key in ("seq_per_s", "tokens_per_s", "gflops"):  # all are work / ms
            row[key] = first[key] * first["ms"] / ms
        row["peak_frac"] = row["gflops"] / peaks[device_of(row["backend"])]
        if first["torch_ms"] != NA:
            row["torch_ms"] = statistics.median(r["torch_ms"] for r in same)
            row["torch_ratio"] = row["torch_ms"] / ms
        merged.append(row)
    return merged


def meta(peaks: Peaks, *, torch_device: str = "cpu", cp: Any = None) -> dict[str, Any]:
    """Run-wide facts for the table header and the JSON file: the peaks (gemm_peak of PEAK_N),
    threads, versions, where torch ran, and with `cp` (the cupy module of a cupy backend) the
    GPU's."""
    info = peak_facts(peaks) | {"blas_threads": blas_threads(), "numba_blas": _numba_blas()}
    info |= torch_facts(torch_or_none(), torch_device)
    if cp is not None:
        info |= gpu_facts(cp)
    return info | {"numpy": np.__version__, "cpus": os.cpu_count()}


def peak_facts(peaks: Peaks) -> dict[str, Any]:
    """The peaks' part of meta: GFLOP/s and matrix size, the GPU's only where measured."""
    facts = {"gemm_peak_gflops": peaks["cpu"], "gemm_peak_n": PEAK_N["cpu"]}
    if "gpu" in peaks:
        facts |= {"gpu_gemm_peak_gflops": peaks["gpu"], "gpu_gemm_peak_n": PEAK_N["gpu"]}
    return facts


def torch_facts(torch: Any, device: str) -> dict[str, Any]:
    """torch's version, device and threads; on "cuda" also its CUDA and cuDNN versions, the
    GPU's name and whether TF32 is allowed (torch_or_none turns it off)."""
    if torch is None:
        return {"torch": NA, "torch_device": NA, "torch_threads": NA}
    facts = {"torch": torch.__version__, "torch_device": device,
             "torch_threads": torch.get_num_threads()}  # fmt: skip
    if device == "cuda":
        try:
            tf32 = bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)
        except RuntimeError:  # these getters refuse when the flags were set by the newer API
            tf32 = NA
        facts |= {"torch_cuda": torch.version.cuda, "torch_gpu": torch.cuda.get_device_name(),
                  "cudnn": torch.backends.cudnn.version(), "torch_tf32": tf32}  # fmt: skip
    return facts


def gpu_facts(cp: Any) -> dict[str, Any]:
    """The cupy backend's GPU: its name, CuPy's version, the CUDA runtime's (12080 -> "12.8")
    and CUPY_TF32 (unset: CuPy's float32 GEMMs are float32 proper)."""
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name, v = props["name"], cp.cuda.runtime.runtimeGetVersion()
    return {
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "cupy": cp.__version__,
        "cuda_runtime": f"{v // 1000}.{v % 1000 // 10}",
        "cupy_tf32": os.environ.get("CUPY_TF32", "0"),
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


def _head(info: dict[str, Any]) -> str:
    """The line above the table: peaks, threads and versions (from meta)."""
    rounds = info.get("rounds", 1)
    peak = f"float32 GEMM peak {info['gemm_peak_gflops']:.1f} GFLOP/s ({info['gemm_peak_n']}^3)"
    if "gpu_gemm_peak_gflops" in info:
        gpu_peak = f"{info['gpu_gemm_peak_gflops']:,.1f} GFLOP/s ({info['gpu_gemm_peak_n']}^3)"
        peak += f" on the CPU and {gpu_peak} on the GPU, each row against its device's"
    gpu = ""
    if "gpu" in info:
        gpu = (f", GPU {info['gpu']} (cupy {info['cupy']}, CUDA runtime {info['cuda_runtime']}, "
               f"CUPY_TF32={info['cupy_tf32']})")  # fmt: skip
    if info["torch"] == NA:
        torch = "torch n/a"
    elif info["torch_device"] == "cuda":
        tf32 = {True: "on", False: "off"}.get(info["torch_tf32"], NA)
        torch = (f"torch {info['torch']} on cuda (CUDA {info['torch_cuda']}, cuDNN "
                 f"{info['cudnn']}, {info['torch_gpu']}, TF32 {tf32})")  # fmt: skip
    else:
        torch = f"torch {info['torch']} on cpu with {info['torch_threads']} threads"
    return (f"median of {rounds} rounds, " if rounds > 1 else "") + (
        f"{peak}, BLAS threads {info['blas_threads'] or 'unknown'}, numba twins' BLAS "
        f"{info.get('numba_blas', NA)}{gpu}, {torch}, numpy {info['numpy']}, {info['cpus']} CPUs"
    )


def markdown(rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> str:
    """A markdown table of `rows` under a line of `info` (meta(): peaks, threads, versions)."""
    lines = [_head(info), "", "| " + " | ".join(COLUMNS.values()) + " |"]
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
GPU_GRID = (  # bench_layers.py --gpu: DeepBench's 512/64/25 and 1024/64/25 (H/N/T)
    QUICK
    + [c for H in (512, 1024) for c in _sizes(64, 25, H, H, "DeepBench")]
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


def gemms_only_label(be: backend.Backend) -> str:
    """The backend column of the GEMMs-only rows on `be`'s arrays: "GEMMs only" on the CPU (as
    in every table before the GPU columns), "GEMMs only (cupy)" on the GPU."""
    return GEMMS_ONLY if device_of(be.name) == "cpu" else f"{GEMMS_ONLY} ({be.name})"


def _torch(case: LayerCase, torch: Any, device: str = "cpu") -> Callable[[], Any]:
    """The same call in PyTorch on `device`: nn.LSTM / nn.GRU (cuDNN's on "cuda"), batch_first,
    float32; the forward-only row runs under no_grad (inference), fwd+bwd backpropagates dys
    into x and the weights."""
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[case.cell]
    m = module(case.D, case.H, batch_first=True).to(device)
    x = torch.randn(case.N, case.T, case.D, device=device, requires_grad=case.backward)
    dys = torch.randn(case.N, case.T, case.H, device=device)
    if not case.backward:

        def forward() -> None:
            with torch.no_grad():
                m(x)

        return forward
    return lambda: m(x)[0].backward(dys)


def layer_rows(
    cases: Iterable[LayerCase],
    backends: Sequence[str],
    peaks: Peaks,
    *,
    budget_s: float = 2.0,
    report: Callable[[dict[str, Any]], None] = lambda row: None,
    torch_device: str = "cpu",
) -> list[dict[str, Any]]:
    """Time every case on every backend (and once in torch on `torch_device`), then its GEMMs
    alone on the first backend's arrays (a "GEMMs only" row); each row's peak column is against
    its device's peak in `peaks` (measure_peaks); `report` sees each row as it comes."""
    torch = torch_or_none()
    rows = []
    for case in cases:
        torch_ms = None
        if torch is not None:
            torch_ms = median_ms(_torch(case, torch, torch_device), budget_s=budget_s,
                                 clock=torch_clock(torch, torch_device))  # fmt: skip
        flops = rnn_flops(case.cell, case.N, case.T, case.D, case.H, case.backward)
        for name in backends:
            be = backend.use(name)
            ms = median_ms(_ours(case), budget_s=budget_s, clock=clock_for(be))
            row = make_row(case.name, name, "float32", case.shape, ms, sequences=case.N,
                           tokens=case.N * case.T, flops=flops, peak=peaks[device_of(name)],
                           torch_ms=torch_ms)  # fmt: skip
            rows.append(row)
            report(row)
        be = backend.use(backends[0])
        label = gemms_only_label(be)
        ms = median_ms(_gemms_only(case), budget_s=budget_s, clock=clock_for(be))
        row = make_row(case.name, label, "float32", case.shape, ms, sequences=case.N,
                       tokens=case.N * case.T, flops=flops, peak=peaks[device_of(label)],
                       torch_ms=None)  # fmt: skip
        rows.append(row)
        report(row)
    return rows


def run(quick: bool = False, json_path: str | None = None) -> list[dict[str, Any]]:
    """`minis2s bench`: the layer grid (QUICK or GRID) on the current backend, against torch on
    the GPU when the backend is cupy and torch has CUDA (else on the CPU); prints the table."""
    be = backend.current()
    device = torch_device("auto", [be.name], torch_or_none())
    peaks = measure_peaks([be])
    info = meta(peaks, torch_device=device, cp=be.xp if device_of(be.name) == "gpu" else None)
    rows = layer_rows(QUICK if quick else GRID, [be.name], peaks, torch_device=device)
    backend.use(be.name)
    print(markdown(rows, info))
    if json_path:
        save_json(json_path, rows, info)
    return rows

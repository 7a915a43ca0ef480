"""Timing for the benchmarks: where the PyTorch peer runs, one clock per device (wall time on the
CPU, CUDA events around each call on the GPU), the median of a budget of calls, and the float32
GEMM peak of each device that rows are rated against."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from minis2s import backend
from minis2s.threads import blas_threads

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

"""The benchmarks' machinery: timing (`timing`), rows and their table (`report`) and the LSTM /
GRU layer benchmark behind `minis2s bench` (`layers`); every public name is here too.

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
    torch ms    PyTorch's median on the same work ("n/a" without torch; null in the JSON)
    torch/ours  torch ms / ms: above 1 means minis2s is faster

The layer benchmark adds a row per size whose backend is "GEMMs only" ("GEMMs only (cupy)" on
the GPU): the layer's matrix products alone (`gemm_operands`: the same shapes, the same number of
calls, nothing between them) on the first backend's arrays. Its peak column is the most a layer
that calls this BLAS can reach at that size; the gap between it and a backend's row is time
outside the GEMMs.

The seq2seq benchmark (a training step, greedy and beam decoding) is benchmarks/bench_seq2seq.py
in the source tree; it reuses these helpers.
"""

from minis2s.bench.layers import (
    GEMMS_ONLY,
    GPU_GRID,
    GRID,
    QUICK,
    LayerCase,
    gemm_operands,
    gemms_only_label,
    layer_rows,
    rnn_flops,
    run,
)
from minis2s.bench.report import (
    COLUMNS,
    NA,
    check_writable,
    gpu_facts,
    load_json,
    make_row,
    markdown,
    merge_rounds,
    meta,
    peak_facts,
    save_json,
    torch_facts,
)
from minis2s.bench.timing import (
    PEAK_N,
    TORCH_DEVICES,
    WALL,
    Clock,
    EventClock,
    Peaks,
    WallClock,
    clock_for,
    device_of,
    gemm_peak,
    measure_peaks,
    median_ms,
    peak_text,
    torch_clock,
    torch_device,
    torch_or_none,
)
from minis2s.threads import blas_threads, set_blas_threads

__all__ = [
    "COLUMNS",
    "Clock",
    "EventClock",
    "GEMMS_ONLY",
    "GPU_GRID",
    "GRID",
    "LayerCase",
    "NA",
    "PEAK_N",
    "Peaks",
    "QUICK",
    "TORCH_DEVICES",
    "WALL",
    "WallClock",
    "blas_threads",
    "clock_for",
    "device_of",
    "gemm_operands",
    "gemm_peak",
    "gemms_only_label",
    "gpu_facts",
    "layer_rows",
    "load_json",
    "check_writable",
    "make_row",
    "markdown",
    "measure_peaks",
    "median_ms",
    "merge_rounds",
    "meta",
    "peak_facts",
    "peak_text",
    "rnn_flops",
    "run",
    "save_json",
    "set_blas_threads",
    "torch_clock",
    "torch_device",
    "torch_facts",
    "torch_or_none",
]

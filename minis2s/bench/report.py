"""A benchmark's output: rows (one piece of work on one backend, with PyTorch's time on the same
work), rounds merged row by row, the run's facts (peaks, threads, versions, the GPU) and the
markdown table and JSON file they make."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.bench.timing import PEAK_N, Peaks, device_of, torch_or_none
from minis2s.threads import blas_core, blas_threads
from minis2s.train import checkpoint

NA = "n/a"
COLUMNS = {  # JSON key -> table heading
    "name": "bench", "backend": "backend", "dtype": "dtype", "shape": "shape", "ms": "ms",
    "seq_per_s": "seq/s", "tokens_per_s": "tokens/s", "gflops": "GFLOP/s", "peak_frac": "peak",
    "torch_ms": "torch ms", "torch_ratio": "torch/ours",
}  # fmt: skip


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
    columns None (null in the JSON, "n/a" in the table) when torch_ms is None."""
    gflops = flops / (ms * 1e6)
    return {
        "name": name, "backend": backend_name, "dtype": dtype, "shape": shape, "ms": ms,
        "seq_per_s": sequences / ms * 1e3, "tokens_per_s": tokens / ms * 1e3, "gflops": gflops,
        "peak_frac": gflops / peak,
        "torch_ms": torch_ms,
        "torch_ratio": None if torch_ms is None else torch_ms / ms,
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
        if first["torch_ms"] is not None:
            row["torch_ms"] = statistics.median(r["torch_ms"] for r in same)
            row["torch_ratio"] = row["torch_ms"] / ms
        merged.append(row)
    return merged


def meta(peaks: Peaks, *, torch_device: str = "cpu", cp: Any = None) -> dict[str, Any]:
    """Run-wide facts for the table header and the JSON file: the peaks (gemm_peak of PEAK_N),
    threads, NumPy's OpenBLAS kernels (and OPENBLAS_CORETYPE where set), versions, where torch
    ran, and with `cp` (the cupy module of a cupy backend) the GPU's."""
    info = peak_facts(peaks) | {"blas_threads": blas_threads(), "blas_core": blas_core() or NA,
                                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE") or NA,
                                "numba_blas": _numba_blas()}  # fmt: skip
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
    """torch's version, device and threads; on "cpu" the vector instructions its kernels use
    ("AVX512"), on "cuda" its CUDA and cuDNN versions, the GPU's name and whether TF32 is allowed
    (torch_or_none turns it off)."""
    if torch is None:
        return {"torch": NA, "torch_device": NA, "torch_threads": NA}
    facts = {"torch": torch.__version__, "torch_device": device,
             "torch_threads": torch.get_num_threads()}  # fmt: skip
    if device == "cpu":
        try:
            facts["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except AttributeError:  # torch before 2.0
            facts["torch_cpu_capability"] = NA
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
    if v is None:
        return NA
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
        isa = info.get("torch_cpu_capability", NA)
        torch = (f"torch {info['torch']}{'' if isa == NA else f' ({isa})'} on cpu with "
                 f"{info['torch_threads']} threads")  # fmt: skip
    core = info.get("blas_core", NA)
    if info.get("openblas_coretype", NA) != NA:
        core += f" (OPENBLAS_CORETYPE={info['openblas_coretype']})"
    return (f"median of {rounds} rounds, " if rounds > 1 else "") + (
        f"{peak}, BLAS threads {info['blas_threads'] or 'unknown'}, OpenBLAS kernels {core}, "
        f"numba twins' BLAS {info.get('numba_blas', NA)}{gpu}, {torch}, numpy {info['numpy']}, "
        f"{info['cpus']} CPUs"
    )


def markdown(rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> str:
    """A markdown table of `rows` under a line of `info` (meta(): peaks, threads, versions)."""
    lines = [_head(info), "", "| " + " | ".join(COLUMNS.values()) + " |"]
    lines.append("|" + "|".join("---" if k in ("name", "backend", "dtype", "shape") else "---:"
                                for k in COLUMNS) + "|")  # fmt: skip
    for r in rows:
        lines.append("| " + " | ".join(_cell(k, r[k]) for k in COLUMNS) + " |")
    return "\n".join(lines)


def check_writable(option: str, path: str) -> None:
    """`path` can be written: its directory exists and takes files, is not inside a checkpoint
    (which its run's next save replaces whole), and `path` is not a directory (checked before a
    benchmark, not after its minutes). ValueError, or NotADirectoryError where a folder above
    `path` is a file (`checkpoint.refuse_blocked_above`)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{option} {path} is a directory; give a file name inside it")
    checkpoint.refuse_blocked_above(path, option, "this file")
    if not os.path.isdir(folder):
        raise ValueError(
            f"{option} {path}: the directory {folder} does not exist; create it first, or give "
            "a path in an existing directory"
        )
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        raise ValueError(f"{option} {path}: cannot write there (permission denied)")


def save_json(path: str, rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> None:
    """Write {"meta": info, "rows": rows} to `path`."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"meta": info, "rows": list(rows)}, f, indent=1)


def load_json(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, meta) from a file save_json wrote."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data["rows"], data["meta"]

"""What the benchmark scripts share: their options and the run around their rows.

The timing, peak and output helpers live in the installed package (minis2s.bench), so that
`minis2s bench` has them too; this module re-exports them for the scripts here.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from minis2s import backend
from minis2s.bench import (  # noqa: F401  (re-exported for the scripts)
    NA,
    TORCH_DEVICES,
    Peaks,
    blas_threads,
    check_writable,
    clock_for,
    device_of,
    make_row,
    markdown,
    measure_peaks,
    median_ms,
    merge_rounds,
    meta,
    peak_facts,
    peak_text,
    save_json,
    set_blas_threads,
    torch_clock,
    torch_device,
    torch_or_none,
)
from minis2s.cli_parser import refuse_repeated
from minis2s.threads import check_forced_core, forced_core_note

Rows = list[dict[str, Any]]


def parser(description: str) -> argparse.ArgumentParser:
    """Options every script takes: --backends, --only, --quick, --gpu, --torch-device, --json,
    --threads, --budget, --rounds."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backends", default=",".join(b for b in backend.available()),
                   help="comma-separated (default: every backend usable here)")  # fmt: skip
    p.add_argument("--only", help="run only rows whose name contains this")
    p.add_argument("--quick", action="store_true", help="the small sizes only")
    p.add_argument("--gpu", action="store_true",
                   help="the GPU sizes: layers DeepBench H=512/1024 and fastrnns; seq2seq adds "
                        "the large workload (put cupy first in --backends)")  # fmt: skip
    p.add_argument("--torch-device", choices=TORCH_DEVICES, default="auto",
                   help="where the PyTorch peer runs (auto: cuda when cupy is among the backends "
                        "and torch has CUDA, else cpu)")  # fmt: skip
    p.add_argument("--json", metavar="PATH", help="also write the rows and run facts as JSON")
    p.add_argument("--threads", type=int, help="BLAS and torch threads (default: BLAS's own)")
    p.add_argument("--budget", type=float, default=2.0,
                   help="seconds of timed calls per row (3 to 100 calls; median)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=1,
                   help="time the whole table K times; report each row's median")  # fmt: skip
    return p


def main(
    description: str,
    rows: Callable[[argparse.Namespace, list[str], Peaks], Rows],
    chosen: Callable[[argparse.Namespace], list] | None = None,
) -> Rows:
    """Parse the options, then --rounds times measure the GEMM peaks (measure_peaks: the CPU's,
    and the GPU's when cupy is among the backends) and let `rows(args, backends, peaks)` time
    the work, with args.torch_device resolved to "cpu" or "cuda"; merge the rounds row by row
    against the highest peaks (`merge_rounds`), print the markdown table and write the JSON
    file. `chosen(args)`: what `rows` will time with these options (its sizes or jobs, --only
    applied), so that an --only that keeps none is refused before any work."""
    p = parser(description)
    args = p.parse_args()
    refuse_repeated(p, sys.argv[1:])  # argparse keeps the last of --only, --json given twice
    if args.only and chosen is not None and not chosen(args):
        raise SystemExit(_matches_none(args.only))
    if args.threads is not None and args.threads < 1:
        raise SystemExit(f"--threads must be at least 1; got {args.threads}")
    if not (math.isfinite(args.budget) and args.budget > 0):  # nan, inf: no count of calls
        raise SystemExit(f"--budget {args.budget:g}: give the seconds of timed calls per row, "
                         "above 0 (each row takes 3 to 100 calls), e.g. --budget 0.5")  # fmt: skip
    if args.json:
        try:
            check_writable("--json", args.json)
        except (ValueError, OSError) as e:  # OSError: a file where a folder of it should be
            raise SystemExit(str(e)) from None
    try:
        check_forced_core()  # a kernel family the CPU cannot run: refused, not SIGILL
    except RuntimeError as e:
        raise SystemExit(str(e)) from None
    if args.threads:
        set_blas_threads(args.threads)  # the OpenBLAS libraries loaded now (NumPy's)
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # any loaded later (Numba's)
    backends = _backend_names(args.backends)
    if "numba" in backends:  # refused naming the variable: --backends is not at fault
        try:
            backend.check_numba_environment()
        except ValueError as e:
            raise SystemExit(str(e)) from None
    try:
        bes = [backend.use(name) for name in backends]  # fails early, naming those available
    except (RuntimeError, ValueError) as e:
        raise SystemExit(f"--backends: {e}") from None
    if args.rounds < 1:
        raise SystemExit(f"--rounds must be at least 1; got {args.rounds}")
    args.torch_device = torch_device(args.torch_device, backends, torch_or_none())
    note = forced_core_note()
    if note and any(device_of(name) == "cpu" for name in backends):
        print(f"note: {note}", file=sys.stderr, flush=True)
    cp = next((be.xp for be in bes if device_of(be.name) == "gpu"), None)
    peaks, rounds, info = [], [], {}
    for k in range(args.rounds):  # the peaks again in every round: a burst of load can lower them
        peaks.append(measure_peaks(bes))
        if not info:  # the run's facts before any timing: a failure here costs seconds, not rows
            info = meta(peaks[0], torch_device=args.torch_device, cp=cp)
        print(f"round {k + 1}: GEMM peak {peak_text(peaks[-1])}; timing on "
              f"{', '.join(backends)} ...", flush=True)  # fmt: skip
        rounds.append(rows(args, backends, peaks[-1]))
    peak = {device: max(p[device] for p in peaks) for device in peaks[0]}
    out = merge_rounds(rounds, peak)
    if not out and args.only:  # a script that gives no `chosen`: refused only now
        raise SystemExit(_matches_none(args.only))
    info |= peak_facts(peak) | {"rounds": args.rounds}
    print(markdown(out, info))
    if args.json:
        save_json(args.json, out, info)
        print(f"wrote {args.json}")
    return out


def _matches_none(only: str) -> str:
    return f"no row to report: --only {only!r} matches none of this script's"


def _backend_names(typed: str) -> list[str]:
    """--backends' names, in lower case as backend.use reads them (a row's label, its peak's
    device and the PyTorch peer's device go by the name); SystemExit where it names none, or
    one twice."""
    names = [b.strip().lower() for b in typed.split(",") if b.strip()]
    if not names:
        here = ", ".join(backend.available())
        raise SystemExit(f"--backends {typed!r} names no backend; give one or more, "
                         f"comma-separated (available here: {here})")  # fmt: skip
    twice = next((b for i, b in enumerate(names) if b in names[:i]), None)
    if twice:
        raise SystemExit(f"--backends {typed} names {twice} twice; give each backend once")
    return names


def progress(row: dict[str, Any]) -> None:
    """One line per row as it is measured (the table comes at the end)."""
    print(f"  {row['name']:<28} {row['backend']:<6} {row['shape']:<36} {row['ms']:9.2f} ms  "
          f"torch {NA if row['torch_ms'] is None else round(row['torch_ms'], 2)}",
          flush=True)  # fmt: skip

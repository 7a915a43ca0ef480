"""Two training runs at once on few cores: time a training step alone and beside a copy of itself,
at the default BLAS threads and at 1. (OpenBLAS's workers spin while they wait for work; two
processes' spinning workers on the same cores slow each other's every product.)

    python benchmarks/bench_contention.py                     # small workload, numba, 300 steps
    python benchmarks/bench_contention.py --workload standard --steps 20 --backend numpy

Prints, per thread count, the seconds each process took for its steps, alone and side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def run_steps(backend: str, workload: str, steps: int) -> None:
    """The child: `steps` training steps of bench_seq2seq's workload; prints their seconds."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_seq2seq

    from minis2s import backend as backends

    backends.use(backend)
    step, _ = bench_seq2seq.ours_train(bench_seq2seq.WORKLOADS[workload])
    for _ in range(3):  # warm-up: numba compiles on the first call
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"{time.perf_counter() - start:.2f}")


def timed(args: argparse.Namespace, threads: int | None, copies: int) -> list[float]:
    """Seconds for args.steps steps in each of `copies` processes started together."""
    env = dict(os.environ)
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--child", "--backend", args.backend,
           "--workload", args.workload, "--steps", str(args.steps)]  # fmt: skip
    out = subprocess.PIPE
    procs = [subprocess.Popen(cmd, env=env, stdout=out, text=True) for _ in range(copies)]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="numba")
    ap.add_argument("--workload", default="small", choices=("small", "standard"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return run_steps(args.backend, args.workload, args.steps)
    print(f"{args.steps} training steps ({args.workload}, {args.backend}) per process, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    for threads in (None, 1):
        name = "default BLAS threads" if threads is None else f"{threads} BLAS thread"
        alone = timed(args, threads, 1)
        side = timed(args, threads, 2)
        print(f"{name:>22}: alone {alone[0]:.1f} s; two at once "
              + ", ".join(f"{s:.1f} s" for s in side))  # fmt: skip


if __name__ == "__main__":
    main()

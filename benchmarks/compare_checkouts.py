"""Two checkouts of minis2s timed side by side: did a change make the training step or decoding
faster, and by how much?

On a shared machine a whole table timed once per checkout, one after the other, swings by 15-30%
with the same code on both sides. So this script starts one long-lived worker process per checkout
(its own PYTHONPATH, BLAS threads fixed) and asks them for one call each in turn, base and new
alternating (and which goes first alternating too): both see the same interference at the same
moments. It first checks that both compute the same results to the bit (the parameters after their
warm-up training steps, the decoders' hypotheses: ids, scores, attention), then reports, per job,
each checkout's median and fastest call and the median of the per-pair ratios new/base, in the
workers' CPU time by default (`--clock wall` for wall-clock time). Run it with the same checkout as
both sides first: the ratios it then prints (about 0.97-1.03 here) are the noise to read a change's
ratios against.

    python benchmarks/compare_checkouts.py ../minis2s-before . --pairs 60
    python benchmarks/compare_checkouts.py ../minis2s-before . --backend numba --workload standard \
        --jobs train --pairs 10

The jobs are bench_seq2seq.py's rows of the workload (its model and batch): `train` (one
loss_and_grads and Adam step), `greedy`, `beam5`. Both checkouts must have that script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

JOBS = ("train", "greedy", "beam5")

WORKER = r"""
import hashlib, sys, time
sys.path.insert(0, "benchmarks")
import numpy as np
import bench_seq2seq as b
from minis2s import backend
backend.use(sys.argv[1])
w = b.WORKLOADS[sys.argv[2]]
made = {"train": lambda: b.ours_train(w), "greedy": lambda: b.ours_decode(w, 1),
        "beam5": lambda: b.ours_decode(w, 5)}
made = {name: made[name]() for name in sys.argv[3].split(",")}
jobs = {name: fn for name, (fn, _) in made.items()}
for fn in jobs.values():
    fn(); fn()  # warm-up: Numba's compilation, BLAS's buffers
digest = hashlib.sha256()  # of what the jobs computed: parameters after training, hypotheses
for name, (fn, model) in made.items():
    if name == "train":
        for key in sorted(model.params):
            digest.update(key.encode() + np.ascontiguousarray(model.params[key]).tobytes())
        continue
    batch = b.random_batch(w)
    options = dict(max_len_a=b.MAX_LEN_A, max_len_b=b.MAX_LEN_B)
    if name == "greedy":
        hyps = b.greedy(model, batch.src, batch.src_mask, **options)
    else:
        hyps = b.beam_search(model, batch.src, batch.src_mask, beam_size=5, **options)
    for h in (h for per_sentence in hyps for h in per_sentence):
        digest.update(repr((h.ids, h.logprob, h.score, h.ended)).encode())
        if h.attention is not None:
            digest.update(np.ascontiguousarray(h.attention).tobytes())
print("ready", digest.hexdigest(), flush=True)
for line in sys.stdin:
    fn = jobs[line.strip()]
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{wall * 1e3:.4f} {cpu * 1e3:.4f}", flush=True)
"""


def worker(root: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    """A worker importing minis2s from `root`, warmed up, waiting for job names on stdin, and
    the digest of what its jobs computed (the parameters after its warm-up training steps, the
    hypotheses of its decoders)."""
    threads = str(args.threads)
    env = dict(os.environ, PYTHONPATH=str(root))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = threads
    env.pop("OPENBLAS_CORETYPE", None)  # the CPU's own kernels: see the README's Performance
    argv = [sys.executable, "-c", WORKER, args.backend, args.workload, args.jobs]
    p = subprocess.Popen(argv, cwd=root, env=env, text=True, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)  # fmt: skip
    ready, _, digest = p.stdout.readline().strip().partition(" ")
    if ready != "ready":
        p.kill()
        sys.exit(f"compare_checkouts: the worker in {root} did not start (its error is above)")
    return p, digest


def call(p: subprocess.Popen, job: str, clock: str) -> float:
    """ms of one call of `job` in worker `p`, on `clock`."""
    p.stdin.write(job + "\n")
    p.stdin.flush()
    wall, cpu = p.stdout.readline().split()
    return float(cpu if clock == "cpu" else wall)


def compare(procs: dict[str, subprocess.Popen], job: str, pairs: int, clock: str) -> str:
    """One line: each side's median and fastest ms, and the median per-pair ratio new/base."""
    ms: dict[str, list[float]] = {"base": [], "new": []}
    for i in range(pairs):
        for side in ("base", "new") if i % 2 == 0 else ("new", "base"):
            ms[side].append(call(procs[side], job, clock))
    ratios = [n / b for b, n in zip(ms["base"], ms["new"], strict=True)]
    mb, mn = statistics.median(ms["base"]), statistics.median(ms["new"])
    fb, fn = min(ms["base"]), min(ms["new"])
    return (f"  {job:7s} median base {mb:8.2f} new {mn:8.2f} ms ({mn / mb:.3f})   fastest base "
            f"{fb:8.2f} new {fn:8.2f} ({fn / fb:.3f})   median pair ratio "
            f"{statistics.median(ratios):.3f}")  # fmt: skip


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", type=Path, help="the checkout before the change")
    ap.add_argument("new", type=Path, help="the checkout after it")
    ap.add_argument("--backend", default="numpy", choices=("numpy", "numba"))
    ap.add_argument("--workload", default="small", choices=("small", "standard"))
    ap.add_argument("--jobs", default="greedy,beam5,train", help=f"comma-separated, of {JOBS}")
    ap.add_argument("--pairs", type=int, default=40, help="calls of each checkout per job")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads of each worker")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: the worker's CPU time (time.process_time), which leaves out the "
                    "time other processes hold its core; wall: time.perf_counter")  # fmt: skip
    args = ap.parse_args(argv)
    unknown = set(args.jobs.split(",")) - set(JOBS)
    if unknown:
        ap.error(f"--jobs: unknown {sorted(unknown)}; choose from {', '.join(JOBS)}")
    if args.pairs < 1 or args.threads < 1:
        ap.error("--pairs and --threads must be at least 1")
    for side in (args.base, args.new):
        if not side.exists():
            ap.error(f"{side} does not exist: give a checkout of minis2s (the commit before "
                     f"yours: git worktree add {side} HEAD~1)")  # fmt: skip
        if not (side / "minis2s").is_dir() or not (side / "benchmarks/bench_seq2seq.py").is_file():
            ap.error(f"{side} is not a minis2s checkout (minis2s/ and benchmarks/bench_seq2seq.py)")
    args.base, args.new = args.base.resolve(), args.new.resolve()
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    procs: dict[str, subprocess.Popen] = {}
    digests: dict[str, str] = {}
    try:
        for side, root in (("base", args.base), ("new", args.new)):
            procs[side], digests[side] = worker(root, args)
        print(f"{args.backend} backend, {args.workload} workload, {args.threads} BLAS thread(s), "
              f"{args.pairs} alternating pairs a job, {args.clock} time")  # fmt: skip
        if digests["base"] != digests["new"]:  # timings of different results compare nothing
            sys.exit("compare_checkouts: the two checkouts compute different results (trained "
                     "parameters or decoded hypotheses differ): not timed")  # fmt: skip
        print(f"  same results to the bit on both sides (sha256 {digests['new'][:16]})")
        for job in args.jobs.split(","):
            print(compare(procs, job, args.pairs, args.clock), flush=True)
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()


if __name__ == "__main__":
    main()

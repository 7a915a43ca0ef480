"""LSTM and GRU layers, forward and forward+backward, float32, against nn.LSTM / nn.GRU.

    python benchmarks/bench_layers.py [--quick] [--only gru] [--backends numpy,numba] [--json F]
    python benchmarks/bench_layers.py --gpu --backends cupy,numpy     # on a GPU, against cuDNN

Sizes (minis2s.bench.GRID; input size D = hidden size H unless stated):
    seed notebooks      N=32  T=20   D=64  H=128
    DeepBench training  N=16/32/64, T=25, H=512;  N=16/32/64, T=150, H=256  (those that fit a
                        2-core CPU)
    PyTorch fastrnns    N=64  T=100  D=H=512 (its default)
--gpu runs minis2s.bench.GPU_GRID instead: the seed size, DeepBench N=64 T=25 at H=512 and
H=1024, and fastrnns; it is chosen by the flag, not by the backends (cupy can run either grid).
--quick runs the seed size only (what `minis2s bench --quick` runs), with or without --gpu.
"""

from __future__ import annotations

import argparse

import common

from minis2s.bench import GPU_GRID, GRID, QUICK, LayerCase, layer_rows


def cases(args: argparse.Namespace) -> list[LayerCase]:
    """QUICK with --quick, else GPU_GRID with --gpu, else GRID; --only keeps the names with it."""
    chosen = QUICK if args.quick else GPU_GRID if args.gpu else GRID
    return [c for c in chosen if not args.only or args.only in c.name]


def rows(args: argparse.Namespace, backends: list[str], peaks: common.Peaks) -> common.Rows:
    return layer_rows(cases(args), backends, peaks, budget_s=args.budget, report=common.progress,
                      torch_device=args.torch_device)  # fmt: skip


if __name__ == "__main__":
    common.main(__doc__.split("\n")[0], rows, cases)

"""LSTM and GRU layers, forward and forward+backward, float32, against nn.LSTM / nn.GRU.

    python benchmarks/bench_layers.py [--quick] [--only gru] [--backends numpy,numba] [--json F]

Sizes (minis2s.bench.GRID; input size D = hidden size H unless stated):
    seed notebooks      N=32  T=20   D=64  H=128
    DeepBench training  N=16/32/64, T=25, H=512;  N=16/32/64, T=150, H=256  (those that fit a
                        2-core CPU)
    PyTorch fastrnns    N=64  T=100  D=H=512 (its default)
--quick runs the seed size only (what `minis2s bench --quick` runs).
"""

from __future__ import annotations

import argparse

import common

from minis2s.bench import GRID, QUICK, layer_rows


def rows(args: argparse.Namespace, backends: list[str], peak: float) -> common.Rows:
    cases = QUICK if args.quick else GRID
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    return layer_rows(cases, backends, peak, budget_s=args.budget, report=common.progress)


if __name__ == "__main__":
    common.main(__doc__.split("\n")[0], rows)

"""Softmax cross-entropy over a vocabulary, forward + backward, float32, against PyTorch.

    python benchmarks/bench_loss.py [--gpu] [--backends numpy,numba] [--json F]

The work: `loss.forward(logits, targets, ignore_index=PAD, label_smoothing=0.1)` then
`loss.backward(1.0, cache)` on M = N * T target tokens of V logits each, a tenth of them padding:
a training step's passes over its largest arrays. A backend with twins for them runs it twice:
with the twins (numba: one row loop per pass; cupy: fused kernels, minis2s.kernels.cupy_loss),
and with the reference alone (`backend.use(name, twins=False)`, the backend column reads
"<name> ref"), so the two rows show what the twins save there. The peer is
`torch.nn.functional.cross_entropy` with the same ignore_index and label_smoothing, forward and
backward, on --torch-device.
Sizes (M = N * T, V): standard 64 * 30, 8000; --gpu adds large 128 * 50, 32000 (not with
--quick); --only TEXT keeps the sizes whose row name contains TEXT.
The work is a few passes over memory, not matrix products: GFLOP/s and peak read 0.
"""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

import common
import numpy as np

from minis2s import backend
from minis2s.data.vocab import PAD_ID
from minis2s.layers import loss

EPS = 0.1  # label smoothing: the heavier path (one more pass)


class Size(NamedTuple):
    name: str
    N: int
    T: int
    V: int

    @property
    def shape(self) -> str:
        return f"M={self.N}*{self.T} V={self.V}"


SIZES = [Size("standard", 64, 30, 8000)]
GPU_SIZES = [*SIZES, Size("large", 128, 50, 32000)]


def inputs(size: Size) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, T, V) float32 and targets (N, T), a tenth of them PAD_ID."""
    r = np.random.default_rng(0)
    logits = r.standard_normal((size.N, size.T, size.V), dtype=np.float32)
    targets = r.integers(4, size.V, (size.N, size.T))
    targets[r.random((size.N, size.T)) < 0.1] = PAD_ID
    return logits, targets


def ours(size: Size) -> Any:
    """One forward + backward on the current backend's arrays."""
    be = backend.current()
    logits, targets = (be.asarray(a) for a in inputs(size))

    def step() -> None:
        _, cache = loss.forward(logits, targets, ignore_index=PAD_ID, label_smoothing=EPS)
        loss.backward(1.0, cache)

    return step


def peer(torch: Any, size: Size, device: str) -> Any:
    """The same work in PyTorch."""
    logits, targets = inputs(size)
    z = torch.tensor(logits.reshape(-1, size.V), device=device, requires_grad=True)
    t = torch.tensor(targets.reshape(-1), device=device)

    def step() -> None:
        z.grad = None  # a fresh gradient, as ours returns one (not added into the last)
        out = torch.nn.functional.cross_entropy(z, t, ignore_index=PAD_ID, label_smoothing=EPS)
        out.backward()

    return step


def sizes(args: argparse.Namespace) -> list[Size]:
    """GPU_SIZES with --gpu (not with --quick), else SIZES; --only keeps those whose row name
    contains it."""
    chosen = GPU_SIZES if args.gpu and not args.quick else SIZES
    return [size for size in chosen if not args.only or args.only in row_name(size)]


def row_name(size: Size) -> str:
    return f"loss fwd+bwd ({size.name})"


def rows(args: argparse.Namespace, backends: list[str], peaks: common.Peaks) -> common.Rows:
    torch, out = common.torch_or_none(), []
    for size in sizes(args):
        torch_ms = None
        if torch is not None:
            clock = common.torch_clock(torch, args.torch_device)
            torch_ms = common.median_ms(peer(torch, size, args.torch_device),
                                        budget_s=args.budget, clock=clock)  # fmt: skip
        for name in backends:
            has_twins = backend.use(name).kernel("loss.log_softmax", None) is not None
            for twins in (True, False) if has_twins else (True,):
                be = backend.use(name, twins=twins)
                ms = common.median_ms(ours(size), budget_s=args.budget, clock=common.clock_for(be))
                row = common.make_row(row_name(size),
                                      name if twins else f"{name} ref", "float32", size.shape, ms,
                                      sequences=size.N, tokens=size.N * size.T, flops=0.0,
                                      peak=peaks[common.device_of(name)],
                                      torch_ms=torch_ms)  # fmt: skip
                common.progress(row)
                out.append(row)
    return out


if __name__ == "__main__":
    common.main(__doc__.split("\n")[0], rows, sizes)

"""The LSTM / GRU layer benchmark behind `minis2s bench` and benchmarks/bench_layers.py: our
layers' forward (and backward) on each backend against nn.LSTM / nn.GRU, and each size's GEMMs
alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from minis2s import _warn, backend
from minis2s.bench.report import make_row, markdown, meta, save_json
from minis2s.bench.timing import (
    Peaks,
    clock_for,
    device_of,
    measure_peaks,
    median_ms,
    torch_clock,
    torch_device,
    torch_or_none,
)
from minis2s.threads import forced_core_note

GEMMS_ONLY = "GEMMs only"  # the backend column of the layer rows that time the GEMMs alone


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
    into fresh gradients of x and the weights."""
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[case.cell]
    m = module(case.D, case.H, batch_first=True).to(device)
    x = torch.randn(case.N, case.T, case.D, device=device, requires_grad=case.backward)
    dys = torch.randn(case.N, case.T, case.H, device=device)
    if not case.backward:

        def forward() -> None:
            with torch.no_grad():
                m(x)

        return forward

    def forward_backward() -> None:
        x.grad = None  # fresh gradients, as ours returns them (not added into the last call's)
        m.zero_grad(set_to_none=True)
        m(x)[0].backward(dys)

    return forward_backward


def _row(case: LayerCase, label: str, be: backend.Backend, work: Callable[[], Any], peaks: Peaks,
         budget_s: float, torch_ms: float | None) -> dict[str, Any]:  # fmt: skip
    """The row of `work` (one call of `case` on backend `be`), timed on be's clock and rated
    against the peak of the device that `label` (the backend column) names."""
    ms = median_ms(work, budget_s=budget_s, clock=clock_for(be))
    flops = rnn_flops(case.cell, case.N, case.T, case.D, case.H, case.backward)
    return make_row(case.name, label, "float32", case.shape, ms, sequences=case.N,
                    tokens=case.N * case.T, flops=flops, peak=peaks[device_of(label)],
                    torch_ms=torch_ms)  # fmt: skip


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
        for name in backends:
            be = backend.use(name)
            rows.append(_row(case, name, be, _ours(case), peaks, budget_s, torch_ms))
            report(rows[-1])
        be = backend.use(backends[0])
        rows.append(_row(case, gemms_only_label(be), be, _gemms_only(case), peaks, budget_s, None))
        report(rows[-1])
    return rows


def run(quick: bool = False, json_path: str | None = None) -> list[dict[str, Any]]:
    """`minis2s bench`: the layer grid (QUICK or GRID) on the current backend, against torch on
    the GPU when the backend is cupy and torch has CUDA (else on the CPU); prints the table."""
    be = backend.current()
    note = forced_core_note()
    if note and device_of(be.name) == "cpu":
        _warn.warn(note)
    device = torch_device("auto", [be.name], torch_or_none())
    peaks = measure_peaks([be])
    info = meta(peaks, torch_device=device, cp=be.xp if device_of(be.name) == "gpu" else None)
    rows = layer_rows(QUICK if quick else GRID, [be.name], peaks, torch_device=device)
    backend.use(be.name)
    print(markdown(rows, info))
    if json_path:
        save_json(json_path, rows, info)
    return rows

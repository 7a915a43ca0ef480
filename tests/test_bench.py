"""Smoke runs of the benchmarks at toy sizes: every row has every column, the JSON round-trips,
the torch columns say "n/a" without torch, the flop counts match a count of the GEMMs, and the
PyTorch peer of the seq2seq benchmark computes the same function as our model."""

import argparse
import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from minis2s import bench
from minis2s.cli import main

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
TOY = [bench.LayerCase(c, N, T, 3, 4, bwd, "toy") for c in ("lstm", "gru")
       for N, T in ((1, 1), (2, 3)) for bwd in (False, True)]  # fmt: skip
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.fixture(autouse=True)
def _one_thread():
    """One BLAS (and so torch) thread: on a busy machine torch's OpenMP threads spin-wait for
    each other, and a toy step takes 100x longer with 2 threads than with 1."""
    n = bench.blas_threads()
    bench.set_blas_threads(1)
    yield
    if n is not None:
        bench.set_blas_threads(n)


@pytest.fixture
def s2s(monkeypatch):
    """benchmarks/bench_seq2seq.py (not a package) with toy workloads."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    module = importlib.import_module("bench_seq2seq")
    toy = module.Workload(N=2, S=3, T=2, E=4, H=5, V=9)
    monkeypatch.setattr(module, "WORKLOADS", {"standard": toy, "small": toy})
    return module


def check_rows(rows, n, torch_present):
    """n rows with every column; the "GEMMs only" rows have no torch peer."""
    assert len(rows) == n
    for r in rows:
        assert list(r) == list(bench.COLUMNS)
        for key in ("ms", "seq_per_s", "tokens_per_s", "gflops", "peak_frac"):
            assert isinstance(r[key], float) and math.isfinite(r[key]) and r[key] > 0, (key, r)
        peer = torch_present and r["backend"] != bench.GEMMS_ONLY
        for key in ("torch_ms", "torch_ratio"):
            assert isinstance(r[key], float) == peer and (peer or r[key] == "n/a")
        assert r["dtype"] == "float32" and r["backend"] in ("numpy", "numba", bench.GEMMS_ONLY)


def test_layer_rows_have_every_column():
    rows = bench.layer_rows(TOY, ["numpy", "numba"], peak=1.0, budget_s=0.01)
    check_rows(rows, 3 * len(TOY), HAS_TORCH)
    assert [r["backend"] for r in rows[:3]] == ["numpy", "numba", bench.GEMMS_ONLY]
    assert {r["name"] for r in rows[:3]} == {TOY[0].name}
    assert rows[0]["shape"] == "N=1 T=1 D=3 H=4"
    assert rows[0]["tokens_per_s"] == pytest.approx(1e3 / rows[0]["ms"])  # N*T = 1 token


def test_torch_columns_say_na_without_torch(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    assert bench.torch_or_none() is None
    rows = bench.layer_rows(TOY[:2], ["numpy"], peak=1.0, budget_s=0.01)
    check_rows(rows, 4, torch_present=False)
    info = bench.meta(1.0)
    assert info["torch"] == "n/a" and info["torch_threads"] == "n/a"
    table = bench.markdown(rows, info)
    assert all(line.endswith("| n/a | n/a |") for line in table.splitlines()[-2:])


def test_markdown_and_json_round_trip(tmp_path):
    rows = bench.layer_rows(TOY[:3], ["numpy"], peak=2.0, budget_s=0.01)
    info = bench.meta(2.0, peak_n=64)
    lines = bench.markdown(rows, info).splitlines()
    assert "GEMM peak 2.0 GFLOP/s (64^3)" in lines[0] and "BLAS threads" in lines[0]
    assert lines[2] == "| " + " | ".join(bench.COLUMNS.values()) + " |"
    assert [line.count("|") for line in lines[3:]] == [len(bench.COLUMNS) + 1] * (1 + len(rows))
    path = tmp_path / "rows.json"
    bench.save_json(str(path), rows, info)
    assert bench.load_json(str(path)) == (rows, info)
    assert json.loads(path.read_text())["meta"]["gemm_peak_n"] == 64


def test_merge_rounds_takes_each_rows_medians():
    def row(ms, torch_ms):
        return bench.make_row("x", "numba", "float32", "N=1", ms, sequences=2, tokens=8,
                              flops=4e6, peak=10.0, torch_ms=torch_ms)  # fmt: skip

    merged = bench.merge_rounds([[row(3.0, 9.0)], [row(1.0, 30.0)], [row(2.0, 4.0)]], peak=10.0)
    assert merged == [row(2.0, 9.0)]  # medians 2 and 9, each taken on its own
    assert merged[0]["torch_ratio"] == 4.5 and merged[0]["gflops"] == pytest.approx(2.0)
    assert bench.merge_rounds([[row(1.0, None)]], peak=10.0) == [row(1.0, None)]
    assert bench.merge_rounds([[row(1.0, None)]], peak=8.0)[0]["peak_frac"] == 0.5  # 4 / 8
    info = bench.meta(10.0) | {"rounds": 3}
    assert bench.markdown(merged, info).startswith("median of 3 rounds, float32 GEMM peak")
    with pytest.raises(ValueError, match="same rows in the same order"):
        bench.merge_rounds([[row(1.0, None)], []], peak=1.0)


def gemm_flops(shapes):
    """2 m k n summed over (m, k, n) GEMMs."""
    return sum(2 * m * k * n for m, k, n in shapes)


@pytest.mark.parametrize("cell, G", [("lstm", 4), ("gru", 3)])
def test_rnn_flops_count_the_gemms(cell, G):
    N, T, D, H = 3, 5, 7, 11
    fwd = [(N * T, D, G * H)] + [(N, H, G * H)] * T  # x W_ih^T for all steps; h W_hh^T per step
    bwd = [(N * T, G * H, D), (G * H, N * T, D), (G * H, N * T, H)] + [(N, G * H, H)] * T
    assert bench.rnn_flops(cell, N, T, D, H, backward=False) == gemm_flops(fwd)
    assert bench.rnn_flops(cell, N, T, D, H, backward=True) == gemm_flops(fwd + bwd)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("backward", [False, True])
def test_gemms_only_does_the_layers_gemms(cell, backward):
    """The "GEMMs only" row times the layer's products: the same shapes, as many, float32."""
    case = bench.LayerCase(cell, 3, 5, 7, 11, backward, "toy")
    ops = bench.gemm_operands(case, np)
    assert all(a.dtype == b.dtype == np.float32 and a.ndim == b.ndim == 2 for a, b in ops)
    shapes = [(a.shape[0], a.shape[1], b.shape[1]) for a, b in ops]
    assert all(a.shape[1] == b.shape[0] for a, b in ops)
    assert gemm_flops(shapes) == bench.rnn_flops(cell, 3, 5, 7, 11, backward)
    G = {"lstm": 4, "gru": 3}[cell]
    assert shapes.count((3, 11, G * 11)) == 5  # h W_hh^T at each of the T steps
    assert shapes.count((3, G * 11, 11)) == (5 if backward else 0)  # da_t W_hh, each step


def test_seq2seq_flops_count_the_gemms(s2s):
    w = s2s.Workload(N=2, S=3, T=4, E=5, H=6, V=7)
    N, S, T, E, H, V = w
    enc = [(N * S, E, 4 * H), (N * S, H, 4 * H)]
    # per step: cell (input, recurrent), q W_a, scores, context, combine W_c [c; h], output
    step = [(N, E + H, 4 * H), (N, H, 4 * H), (N, H, H), (N, H, S), (N, S, H), (N, 2 * H, H),
            (N, H, V)]  # fmt: skip
    assert s2s.train_flops(w) == 3 * gemm_flops(enc + step * T)
    assert s2s.decode_flops(w, beam=1, tokens=T * N - N) == gemm_flops(enc + step * T)


def test_median_ms_calls_warmup_then_at_least_three_repeats():
    calls = []
    ms = bench.median_ms(lambda: calls.append(1), warmup=2, budget_s=0.0)
    assert len(calls) == 5 and ms >= 0
    calls.clear()
    bench.median_ms(lambda: calls.append(1), warmup=0, repeats=7)
    assert len(calls) == 7


def test_blas_threads_can_be_set():
    n = bench.blas_threads()
    if n is None:
        pytest.skip("no OpenBLAS found in this process: the thread count is reported unknown")
    other = 2 if n == 1 else 1
    try:
        bench.set_blas_threads(other)
        assert bench.blas_threads() == other
    finally:
        bench.set_blas_threads(n)
    assert bench.gemm_peak(n=32, repeats=3) > 0


def test_seq2seq_rows_have_every_column(s2s, monkeypatch):
    args = argparse.Namespace(quick=False, only=None, budget=0.01)
    rows = s2s.rows(args, ["numpy", "numba"], peak=1.0)
    check_rows(rows, 2 * len(s2s.JOBS), HAS_TORCH)
    assert [r["name"] for r in rows[::2]] == [f"{j.name} ({j.workload})" for j in s2s.JOBS]
    monkeypatch.setitem(sys.modules, "torch", None)
    args = argparse.Namespace(quick=True, only="beam", budget=0.01)
    check_rows(s2s.rows(args, ["numpy"], peak=1.0), 1, torch_present=False)


def test_torch_peer_is_the_same_model(s2s):
    """Loss in float64 to 1e-10, and the same decoded token counts, from our weights."""
    torch = pytest.importorskip("torch")
    w = s2s.Workload(N=5, S=4, T=3, E=4, H=5, V=11)
    model = s2s.Seq2Seq(s2s.config(w), dtype=np.float64, seed=3)
    b = s2s.random_batch(w, seed=1)
    peer = s2s.torch_model(torch, s2s.config(w), model.params).double()
    src, valid, tgt_in, tgt_out = s2s.torch_tensors(torch, b)
    logits = peer(src, valid, tgt_in).reshape(-1, w.V)
    theirs = torch.nn.functional.cross_entropy(logits, tgt_out.reshape(-1), ignore_index=0)
    assert abs(theirs.item() - model.loss(b)) < 1e-10
    greedy = s2s.greedy(model, b.src, b.src_mask, max_len_a=2.0, max_len_b=10)
    beam = s2s.beam_search(model, b.src, b.src_mask, beam_size=3, max_len_a=2.0, max_len_b=10)
    limit = s2s.limit(w)
    assert s2s.torch_greedy(torch, peer, src, valid, limit) == sum(len(h[0].ids) for h in greedy)
    assert s2s.torch_beam(torch, peer, src, valid, limit, 3) == sum(len(h[0].ids) for h in beam)


def test_cli_bench_quick_writes_json(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench, "QUICK", TOY[:2])
    path = tmp_path / "quick.json"
    assert main(["--backend", "numba", "bench", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("| numba | float32 |") == 2 and out.count("| GEMMs only | float32 |") == 2
    rows, info = bench.load_json(str(path))
    check_rows(rows, 4, HAS_TORCH)
    assert info["blas_threads"] == bench.blas_threads()

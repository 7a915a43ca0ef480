"""Smoke runs of the benchmarks at toy sizes: every row has every column, the JSON round-trips,
the torch columns are null without torch ("n/a" in the table), the flop counts match a count of
the GEMMs, and the PyTorch peer of the seq2seq benchmark computes the same function as our model.

The GPU columns are checked without a GPU: fake CUDA events (FakeCuda) stand in for cupy's and
torch's, a fake cupy module for the GPU's facts and GEMM peak, and a "cupy" backend over NumPy
arrays (fake_gpu) for the rows timed with events and rated against the GPU's peak."""

import argparse
import functools
import importlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from minis2s import backend, bench, threads
from minis2s.cli import main
from minis2s.layers import loss

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
TOY = [bench.LayerCase(c, N, T, 3, 4, bwd, "toy") for c in ("lstm", "gru")
       for N, T in ((1, 1), (2, 3)) for bwd in (False, True)]  # fmt: skip
HAS_TORCH = importlib.util.find_spec("torch") is not None
CPU_PEAK = {"cpu": 1.0}  # measure_peaks' dict when no backend runs on a GPU


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
def s2s_sizes(monkeypatch):
    """benchmarks/bench_seq2seq.py (not a package) with its own workloads."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return importlib.import_module("bench_seq2seq")


@pytest.fixture
def s2s(s2s_sizes, monkeypatch):
    """benchmarks/bench_seq2seq.py with toy workloads."""
    toy = s2s_sizes.Workload(N=2, S=3, T=2, E=4, H=5, V=9)
    monkeypatch.setattr(s2s_sizes, "WORKLOADS", {"standard": toy, "small": toy, "large": toy})
    return s2s_sizes


@pytest.fixture
def layers(monkeypatch):
    """benchmarks/bench_layers.py (not a package)."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return importlib.import_module("bench_layers")


@pytest.fixture
def common(monkeypatch):
    """benchmarks/common.py (not a package)."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    return importlib.import_module("common")


def check_rows(rows, n, torch_present):
    """n rows with every column; the "GEMMs only" rows have no torch peer."""
    assert len(rows) == n
    for r in rows:
        assert list(r) == list(bench.COLUMNS)
        for key in ("ms", "seq_per_s", "tokens_per_s", "gflops", "peak_frac"):
            assert isinstance(r[key], float) and math.isfinite(r[key]) and r[key] > 0, (key, r)
        peer = torch_present and r["backend"] != bench.GEMMS_ONLY
        for key in ("torch_ms", "torch_ratio"):
            assert isinstance(r[key], float) == peer and (peer or r[key] is None)
        assert r["dtype"] == "float32" and r["backend"] in ("numpy", "numba", bench.GEMMS_ONLY)


def test_layer_rows_have_every_column():
    rows = bench.layer_rows(TOY, ["numpy", "numba"], CPU_PEAK, budget_s=0.01)
    check_rows(rows, 3 * len(TOY), HAS_TORCH)
    assert [r["backend"] for r in rows[:3]] == ["numpy", "numba", bench.GEMMS_ONLY]
    assert {r["name"] for r in rows[:3]} == {TOY[0].name}
    assert rows[0]["shape"] == "N=1 T=1 D=3 H=4"
    assert rows[0]["tokens_per_s"] == pytest.approx(1e3 / rows[0]["ms"])  # N*T = 1 token


def test_torch_columns_say_na_without_torch(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    assert bench.torch_or_none() is None
    rows = bench.layer_rows(TOY[:2], ["numpy"], CPU_PEAK, budget_s=0.01)
    check_rows(rows, 4, torch_present=False)
    info = bench.meta(CPU_PEAK)
    assert info["torch"] == "n/a" and info["torch_threads"] == "n/a"
    table = bench.markdown(rows, info)
    assert ", torch n/a, numpy" in table.splitlines()[0]
    assert all(line.endswith("| n/a | n/a |") for line in table.splitlines()[-2:])


def test_markdown_and_json_round_trip(tmp_path):
    rows = bench.layer_rows(TOY[:3], ["numpy"], {"cpu": 2.0}, budget_s=0.01)
    info = bench.meta({"cpu": 2.0})
    lines = bench.markdown(rows, info).splitlines()
    assert lines[0].startswith("float32 GEMM peak 2.0 GFLOP/s (1024^3), BLAS threads")
    assert "GPU" not in lines[0] and "gpu_gemm_peak_gflops" not in info
    if HAS_TORCH:  # the peer ran on the CPU
        isa = info["torch_cpu_capability"]  # the vector instructions its kernels use
        assert (
            f"torch {info['torch']} ({isa}) on cpu with {info['torch_threads']} threads" in lines[0]
        )
    assert lines[2] == "| " + " | ".join(bench.COLUMNS.values()) + " |"
    assert [line.count("|") for line in lines[3:]] == [len(bench.COLUMNS) + 1] * (1 + len(rows))
    path = tmp_path / "rows.json"
    bench.save_json(str(path), rows, info)
    assert bench.load_json(str(path)) == (rows, info)
    assert json.loads(path.read_text())["meta"]["gemm_peak_n"] == 1024


def test_merge_rounds_takes_each_rows_medians():
    def row(ms, torch_ms):
        return bench.make_row("x", "numba", "float32", "N=1", ms, sequences=2, tokens=8,
                              flops=4e6, peak=10.0, torch_ms=torch_ms)  # fmt: skip

    rounds = [[row(3.0, 9.0)], [row(1.0, 30.0)], [row(2.0, 4.0)]]
    merged = bench.merge_rounds(rounds, {"cpu": 10.0})
    assert merged == [row(2.0, 9.0)]  # medians 2 and 9, each taken on its own
    assert merged[0]["torch_ratio"] == 4.5 and merged[0]["gflops"] == pytest.approx(2.0)
    assert bench.merge_rounds([[row(1.0, None)]], {"cpu": 10.0}) == [row(1.0, None)]
    assert bench.merge_rounds([[row(1.0, None)]], {"cpu": 8.0})[0]["peak_frac"] == 0.5  # 4 / 8
    info = bench.meta({"cpu": 10.0}) | {"rounds": 3}
    assert bench.markdown(merged, info).startswith("median of 3 rounds, float32 GEMM peak")
    with pytest.raises(ValueError, match="same rows in the same order"):
        bench.merge_rounds([[row(1.0, None)], []], CPU_PEAK)


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


@pytest.mark.parametrize("size", ["toy", "large"])
def test_seq2seq_flops_count_the_gemms(s2s_sizes, size):
    s2s = s2s_sizes
    w = s2s.Workload(N=2, S=3, T=4, E=5, H=6, V=7) if size == "toy" else s2s.WORKLOADS[size]
    N, S, T, E, H, V = w
    enc = [(N * S, E, 4 * H), (N * S, H, 4 * H)]
    # per step: cell (input, recurrent), q W_a, scores, context, combine W_c [c; h], output
    step = [(N, E + H, 4 * H), (N, H, 4 * H), (N, H, H), (N, H, S), (N, S, H), (N, 2 * H, H),
            (N, H, V)]  # fmt: skip
    assert s2s.train_flops(w) == 3 * gemm_flops(enc + step * T)
    assert s2s.decode_flops(w, row_steps=N * T) == gemm_flops(enc + step * T)


def test_decoding_is_rated_on_the_rows_the_decoder_steps(s2s_sizes):
    """Every row of the batch (N, or N*K in beam search) is stepped until the last sentence is
    done: rating the flops on output tokens undercounted the work by 1.3 to 1.4 times."""
    w = s2s_sizes.Workload(N=3, S=4, T=4, E=5, H=6, V=9)
    for beam in (1, 2):
        decode, model = s2s_sizes.ours_decode(w, beam)
        tokens, row_steps = s2s_sizes.counted_decode(decode, model)
        assert tokens == decode() and "step" not in vars(model)  # the count left no trace
        steps = row_steps // (w.N * beam)
        assert row_steps == steps * w.N * beam and 1 <= steps <= s2s_sizes.limit(w)
        assert row_steps >= tokens  # every output token took a row's step (and so did EOS)
        b = s2s_sizes.random_batch(w)
        kw = dict(max_len_a=s2s_sizes.MAX_LEN_A, max_len_b=s2s_sizes.MAX_LEN_B)
        hyps = (s2s_sizes.greedy(model, b.src, b.src_mask, **kw) if beam == 1 else
                s2s_sizes.beam_search(model, b.src, b.src_mask, beam_size=beam, **kw))  # fmt: skip
        assert tokens == sum(len(h[0].ids) for h in hyps)  # output tokens, EOS cut
    b = s2s_sizes.random_batch(w)  # S source tokens, T decoder steps, no padding
    assert b.src.shape == (w.N, w.S) and b.tgt_in.shape == b.tgt_out.shape == (w.N, w.T)
    assert b.src_mask.all() and b.tgt_mask.all() and (b.src >= 4).all()


def test_seq2seq_train_rows_count_the_target_tokens(s2s):
    args = argparse.Namespace(quick=True, gpu=False, only="train", budget=0.01, torch_device="cpu")
    (row,) = s2s.rows(args, ["numpy"], CPU_PEAK)
    w = s2s.WORKLOADS["small"]
    assert row["tokens_per_s"] == pytest.approx(w.N * w.T * 1e3 / row["ms"])
    assert row["seq_per_s"] == pytest.approx(w.N * 1e3 / row["ms"])


def test_layer_rows_get_the_budget_and_the_torch_device(layers, monkeypatch):
    seen = []
    monkeypatch.setattr(layers, "layer_rows", lambda *a, **kw: seen.append(kw) or [])
    args = argparse.Namespace(quick=True, gpu=False, only=None, budget=0.25, torch_device="cuda")
    layers.rows(args, ["numpy"], CPU_PEAK)
    assert seen[0]["budget_s"] == 0.25 and seen[0]["torch_device"] == "cuda"


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
    args = argparse.Namespace(quick=False, gpu=False, only=None, budget=0.01, torch_device="cpu")
    rows = s2s.rows(args, ["numpy", "numba"], CPU_PEAK)
    check_rows(rows, 2 * len(s2s.JOBS), HAS_TORCH)
    assert [r["name"] for r in rows[::2]] == [f"{j.name} ({j.workload})" for j in s2s.JOBS]
    monkeypatch.setitem(sys.modules, "torch", None)
    args = argparse.Namespace(quick=True, gpu=True, only="beam", budget=0.01, torch_device="cpu")
    check_rows(s2s.rows(args, ["numpy"], CPU_PEAK), 1, torch_present=False)


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


def test_torch_peer_decodes_the_same_tokens_in_as_many_row_steps(s2s):
    """The peer's timed work is ours: the same output tokens (on models whose sentences end at
    different steps, some at the limit, or all at once; <pad> and <s> score highest, and neither
    may be chosen), from the same rows stepped (greedy stops when every sentence is done, beam
    search when no live hypothesis can win)."""
    torch = pytest.importorskip("torch")
    w = s2s.Workload(N=5, S=4, T=3, E=4, H=5, V=11)
    kw, lengths = dict(max_len_a=s2s.MAX_LEN_A, max_len_b=s2s.MAX_LEN_B), set()
    for seed, eos in ((0, 0.0), (1, 0.0), (2, 0.0), (0, 1.0)):  # eos 1: every sentence ends at once
        model = s2s.Seq2Seq(s2s.config(w), dtype=np.float64, seed=seed)
        model.params["out.b"][list(s2s.NEVER_CHOSEN)] += 10.0
        model.params["out.b"][s2s.EOS_ID] += eos
        b = s2s.random_batch(w, seed=seed)
        peer = s2s.torch_model(torch, s2s.config(w), model.params).double()
        src, valid, _, _ = s2s.torch_tensors(torch, b)
        theirs, step = [], peer.step

        def counting_step(y, *args, step=step, theirs=theirs):
            theirs.append(len(y))
            return step(y, *args)

        peer.step = counting_step
        for K in (1, 3):
            if K == 1:
                run = functools.partial(s2s.greedy, model, b.src, b.src_mask, **kw)
                tokens = s2s.torch_greedy(torch, peer, src, valid, s2s.limit(w))
            else:
                run = functools.partial(
                    s2s.beam_search, model, b.src, b.src_mask, beam_size=K, **kw
                )
                tokens = s2s.torch_beam(torch, peer, src, valid, s2s.limit(w), K)
            hyps, row_steps = s2s.counted_decode(run, model)
            lengths |= {len(h[0].ids) for h in hyps}
            assert tokens == sum(len(h[0].ids) for h in hyps), (seed, K)
            assert sum(theirs) == row_steps, (seed, K)
            theirs.clear()
    assert len(lengths) > 2 and s2s.limit(w) in lengths  # the counts tell decodings apart


def test_train_step_and_its_peer_take_the_same_adam_steps(s2s, monkeypatch):
    """Three timed steps of ours (loss_and_grads + Adam) and of the peer (fresh gradients, Adam
    over every parameter) leave the same loss, and it has fallen."""
    torch = pytest.importorskip("torch")
    w = s2s.Workload(N=4, S=3, T=3, E=4, H=5, V=11)
    made, real = [], s2s.torch_model
    monkeypatch.setattr(s2s, "torch_model", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    ours, model = s2s.ours_train(w)
    theirs = s2s.torch_train(torch, w, model.params)
    b = s2s.random_batch(w)
    src, valid, tgt_in, tgt_out = s2s.torch_tensors(torch, b)

    def their_loss():
        with torch.no_grad():
            logits = made[0](src, valid, tgt_in).reshape(-1, w.V)
            return torch.nn.functional.cross_entropy(logits, tgt_out.reshape(-1)).item()

    start = model.loss(b)
    assert abs(their_loss() - start) < 1e-5
    for _ in range(3):
        ours()
        theirs()
        assert abs(their_loss() - model.loss(b)) < 2e-5
    assert start - model.loss(b) > 1e-3


def test_cli_bench_quick_writes_json(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(bench.layers, "QUICK", TOY[:2])
    path = tmp_path / "quick.json"
    assert main(["--backend", "numba", "bench", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("| numba | float32 |") == 2 and out.count("| GEMMs only | float32 |") == 2
    rows, info = bench.load_json(str(path))
    check_rows(rows, 4, HAS_TORCH)
    assert info["blas_threads"] == bench.blas_threads()


# -- the GPU columns, without a GPU ------------------------------------------------------------


class FakeCuda:
    """cupy.cuda's Event and get_elapsed_time, and torch.cuda's Event(enable_timing=True) with
    start.elapsed_time(end): events log what is done to them in `log`, and each elapsed time
    read is the next of `times` (ms)."""

    def __init__(self, times):
        self.log, self.times = [], list(times)
        cuda = self

        class Event:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

            def record(self):
                cuda.log.append(("record", self))

            def synchronize(self):
                cuda.log.append(("synchronize", self))

            def elapsed_time(self, end):
                return cuda.get_elapsed_time(self, end)

        self.Event = Event

    def get_elapsed_time(self, start, end):
        self.log.append(("elapsed", start, end))
        return self.times.pop(0)


def fake_cupy(cuda):
    """A cupy module as far as the benchmarks use it: asarray (NumPy's), cuda events, and the
    device queries of gpu_facts."""
    cuda.runtime = types.SimpleNamespace(
        getDeviceProperties=lambda i: {"name": b"NVIDIA H200"}, runtimeGetVersion=lambda: 12080
    )
    cuda.Device = lambda: types.SimpleNamespace(id=0)
    return types.SimpleNamespace(__version__="14.0.0", asarray=np.asarray, cuda=cuda)


def check_event_calls(cuda, calls, fn_mark="fn"):
    """Each of `calls` calls was: start.record(), fn(), end.record(), end.synchronize(), then
    the elapsed time from start to end was read, with two new events."""
    assert len(cuda.log) == 5 * calls
    for k in range(calls):
        (_, start), mark, (_, end), sync, elapsed = cuda.log[5 * k : 5 * k + 5]
        assert start is not end and mark == fn_mark
        assert sync == ("synchronize", end) and elapsed == ("elapsed", start, end)


def test_median_ms_with_events_records_then_synchronizes():
    cuda = FakeCuda([50.0, 3.0, 1.0, 2.0])  # the warm-up's time, then the timed calls'
    clock = bench.EventClock(cuda.Event, cuda.get_elapsed_time)
    ms = bench.median_ms(lambda: cuda.log.append("fn"), warmup=1, repeats=3, clock=clock)
    assert ms == 2.0  # the median of the timed calls' event times; the warm-up's is dropped
    check_event_calls(cuda, 4)


def test_median_ms_budget_counts_event_time():
    """10 ms of budget at 1 ms a call (by the events) is 10 timed calls, though the calls take
    microseconds of wall time (a budget counted in wall time would make 100)."""
    cuda = FakeCuda([1.0] * 200)
    clock = bench.EventClock(cuda.Event, cuda.get_elapsed_time)
    calls = []
    assert bench.median_ms(lambda: calls.append(1), budget_s=0.01, clock=clock) == 1.0
    assert len(calls) == 1 + 10


def test_clock_for_cupy_uses_cupy_events():
    cuda = FakeCuda([5.0, 7.0, 6.0, 9.0])
    clock = bench.clock_for(backend.Backend("cupy", fake_cupy(cuda)))
    assert bench.median_ms(lambda: cuda.log.append("fn"), repeats=3, clock=clock) == 7.0
    check_event_calls(cuda, 4)
    assert bench.clock_for(backend.Backend("numpy", np)) is bench.WALL
    assert bench.clock_for(backend.Backend("numba", np)) is bench.WALL


def test_torch_clock_uses_torch_events_on_cuda():
    cuda = FakeCuda([5.0, 4.0, 8.0, 6.0])
    torch = types.SimpleNamespace(cuda=cuda)
    clock = bench.torch_clock(torch, "cuda")
    assert bench.median_ms(lambda: cuda.log.append("fn"), repeats=3, clock=clock) == 6.0
    check_event_calls(cuda, 4)
    assert all(event.kwargs == {"enable_timing": True} for _, event, *_ in cuda.log[::5])
    assert bench.torch_clock(torch, "cpu") is bench.WALL


def test_gpu_peak_is_cupys_matmul_timed_with_events():
    """measure_peaks adds a "gpu" peak only with a cupy backend: the fastest of 20 (n, n)
    float32 matmuls by the events, after 2 warm-up ones."""
    cuda = FakeCuda([0.5, 0.5] + [4.0, 2.0, 8.0] * 6 + [3.0, 3.0])
    gpu = backend.Backend("cupy", fake_cupy(cuda))
    peaks = bench.measure_peaks([backend.Backend("numpy", np), gpu], gpu_n=16)
    assert peaks["gpu"] == 2 * 16**3 / (2.0 * 1e6) and not cuda.times
    assert set(peaks) == {"cpu", "gpu"} and peaks["cpu"] > 0
    assert list(bench.measure_peaks([backend.Backend("numpy", np)])) == ["cpu"]
    assert bench.peak_text({"cpu": 198.3}) == "198.3 GFLOP/s"
    assert bench.peak_text(peaks).endswith(f", GPU {peaks['gpu']:.1f} GFLOP/s")


def test_peak_column_is_against_the_rows_device():
    def row(backend_name, flops):
        return bench.make_row("x", backend_name, "float32", "N=1", 2.0, sequences=1, tokens=1,
                              flops=flops, peak=1.0, torch_ms=None)  # fmt: skip

    assert bench.gemms_only_label(backend.Backend("numpy", np)) == "GEMMs only"
    assert bench.gemms_only_label(backend.Backend("cupy", np)) == "GEMMs only (cupy)"
    names = ["numpy", "numba", "GEMMs only", "cupy", "GEMMs only (cupy)"]
    rows = [row(name, 8e6) for name in names]  # 4 GFLOP/s each
    merged = bench.merge_rounds([rows], {"cpu": 8.0, "gpu": 400.0})
    assert [r["peak_frac"] for r in merged] == [0.5, 0.5, 0.5, 0.01, 0.01]
    with pytest.raises(KeyError):  # a cupy row needs a GPU peak
        bench.merge_rounds([rows], CPU_PEAK)


@pytest.fixture
def fake_gpu(monkeypatch):
    """Backend "cupy" is NumPy under that name (no twins), and clock_for gives it fake CUDA
    events that say every call takes 4 ms; returns (their FakeCuda, that clock_for)."""
    cuda, real_use, now = FakeCuda([4.0] * 1000), backend.use, [backend.current()]

    def use(name, **kw):
        now[0] = backend.Backend("cupy", np) if name == "cupy" else real_use(name, **kw)
        return now[0]

    def clock_for(be):
        return (
            bench.EventClock(cuda.Event, cuda.get_elapsed_time) if be.name == "cupy" else bench.WALL
        )

    monkeypatch.setattr(backend, "use", use)
    monkeypatch.setattr(backend, "current", lambda: now[0])
    monkeypatch.setattr(bench.layers, "clock_for", clock_for)
    return cuda, clock_for


def test_layer_rows_on_a_gpu_time_with_events_against_the_gpu_peak(fake_gpu):
    case = TOY[-1]  # gru fwd+bwd N=2 T=3
    peaks = {"cpu": 1.0, "gpu": 1e-3}
    rows = bench.layer_rows([case], ["cupy", "numpy"], peaks, budget_s=0.01)
    assert [r["backend"] for r in rows] == ["cupy", "numpy", "GEMMs only (cupy)"]
    flops = bench.rnn_flops(case.cell, case.N, case.T, case.D, case.H, case.backward)
    for r in rows:
        device = bench.device_of(r["backend"])
        assert r["peak_frac"] == pytest.approx(r["gflops"] / peaks[device])
        assert (r["ms"] == 4.0) == (device == "gpu")  # the events' time, on the GPU only
    assert rows[0]["gflops"] == pytest.approx(flops / 4e6)
    # per second: N sequences and N * T tokens every 4 ms
    assert rows[0]["seq_per_s"] == pytest.approx(case.N * 1e3 / 4.0)
    assert rows[0]["tokens_per_s"] == pytest.approx(case.N * case.T * 1e3 / 4.0)
    assert rows[2]["torch_ms"] is None and (rows[0]["torch_ms"] is not None) == HAS_TORCH


def test_seq2seq_rows_on_a_gpu_time_with_events_against_the_gpu_peak(s2s, fake_gpu, monkeypatch):
    monkeypatch.setattr(s2s.common, "clock_for", fake_gpu[1])
    args = argparse.Namespace(quick=True, gpu=False, only="train", budget=0.01, torch_device="cpu")
    rows = s2s.rows(args, ["cupy", "numpy"], {"cpu": 1.0, "gpu": 1e-3})
    assert [(r["backend"], r["ms"] == 4.0) for r in rows] == [("cupy", True), ("numpy", False)]
    w = s2s.WORKLOADS["small"]
    assert rows[0]["peak_frac"] == pytest.approx(s2s.train_flops(w) / 4e6 / 1e-3)
    assert rows[1]["peak_frac"] == pytest.approx(rows[1]["gflops"])  # cpu peak 1.0


def test_gpu_facts_and_the_head_line_with_two_peaks():
    cp = fake_cupy(FakeCuda([]))
    assert bench.gpu_facts(cp) == {"gpu": "NVIDIA H200", "cupy": "14.0.0",
                                   "cuda_runtime": "12.8", "cupy_tf32": "0"}  # fmt: skip
    info = bench.meta({"cpu": 198.3, "gpu": 51234.5}, cp=cp)
    assert info["gpu_gemm_peak_gflops"] == 51234.5 and info["gpu_gemm_peak_n"] == 4096
    head = bench.markdown([], info).splitlines()[0]
    assert head.startswith(
        "float32 GEMM peak 198.3 GFLOP/s (1024^3) on the CPU and "
        "51,234.5 GFLOP/s (4096^3) on the GPU, each row against its device's"
    )
    assert ", GPU NVIDIA H200 (cupy 14.0.0, CUDA runtime 12.8, CUPY_TF32=0), " in head


def test_torch_facts_on_cuda_name_the_gpu_cuda_and_cudnn():
    torch = types.SimpleNamespace(
        __version__="2.11.0+cu128", get_num_threads=lambda: 16,
        version=types.SimpleNamespace(cuda="12.8"),
        cuda=types.SimpleNamespace(get_device_name=lambda: "NVIDIA H200"),
        backends=types.SimpleNamespace(
            cudnn=types.SimpleNamespace(version=lambda: 91002, allow_tf32=False),
            cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False))),
    )  # fmt: skip
    facts = bench.torch_facts(torch, "cuda")
    assert facts["torch_device"] == "cuda" and facts["cudnn"] == 91002
    info = bench.meta(CPU_PEAK) | facts
    head = bench.markdown([], info).splitlines()[0]
    assert ", torch 2.11.0+cu128 on cuda (CUDA 12.8, cuDNN 91002, NVIDIA H200, TF32 off), " in head
    torch.backends.cudnn.allow_tf32 = True
    assert bench.torch_facts(torch, "cuda")["torch_tf32"] is True

    class Refuses:  # torch's legacy getter when the flags were set by the newer API
        @property
        def allow_tf32(self):
            raise RuntimeError("a mix of the legacy and new APIs")

    torch.backends.cudnn = torch.backends.cuda.matmul = Refuses()
    torch.backends.cudnn.version = lambda: 91002
    facts = bench.torch_facts(torch, "cuda")
    assert facts["torch_tf32"] == "n/a" and "TF32 n/a)" in bench.markdown([], info | facts)
    assert "torch_cuda" not in bench.torch_facts(torch, "cpu")


def test_torch_or_none_turns_tf32_off():
    torch = pytest.importorskip("torch")
    torch.backends.cudnn.allow_tf32 = True  # cuDNN's default
    assert bench.torch_or_none() is torch
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32


def test_torch_device_auto_is_cuda_only_with_cupy_and_cuda(monkeypatch):
    torch = pytest.importorskip("torch")
    for cuda in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        assert bench.torch_device("auto", ["numpy", "numba"], torch) == "cpu"
        assert bench.torch_device("auto", ["cupy", "numpy"], torch) == ("cuda" if cuda else "cpu")
        assert bench.torch_device("cpu", ["cupy"], torch) == "cpu"
    assert bench.torch_device("cuda", ["numpy"], torch) == "cuda"  # is_available() True
    assert bench.torch_device("auto", ["cupy"], None) == "cpu"
    with pytest.raises(ValueError, match="one of auto, cpu, cuda"):
        bench.torch_device("gpu", ["cupy"], torch)


def test_torch_device_cuda_without_cuda_stops_with_the_fix(monkeypatch):
    torch = types.SimpleNamespace(__version__="2.13.0+cpu", cuda=types.SimpleNamespace(
        is_available=lambda: False))  # fmt: skip
    with pytest.raises(SystemExit, match=r"--torch-device cuda: torch 2.13.0\+cpu sees no CUDA "
                                         r"device .* or pass --torch-device cpu"):  # fmt: skip
        bench.torch_device("cuda", ["cupy"], torch)
    with pytest.raises(SystemExit, match="PyTorch is not installed. To fix: install a CUDA"):
        bench.torch_device("cuda", ["cupy"], None)


def test_options_gpu_and_torch_device(common):
    p = common.parser("x")
    args = p.parse_args([])
    assert args.gpu is False and args.torch_device == "auto"
    args = p.parse_args(["--gpu", "--torch-device", "cuda", "--backends", "cupy,numpy"])
    assert args.gpu is True and args.torch_device == "cuda"
    with pytest.raises(SystemExit):
        p.parse_args(["--torch-device", "gpu"])


def test_main_stops_on_torch_device_cuda_before_timing(common, monkeypatch):
    if HAS_TORCH:
        import torch

        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--torch-device", "cuda"])
    timed = []
    with pytest.raises(SystemExit, match="--torch-device cuda: .* --torch-device cpu"):
        common.main("x", lambda *a: timed.append(a))
    assert timed == []


@pytest.mark.parametrize("name, problem", [("jax", "unknown backend 'jax'"),
                                           ("cupy", "backend 'cupy'(: CuPy is installed but no GPU"
                                                    " is usable| needs CuPy)")])  # fmt: skip
def test_main_names_a_backend_it_cannot_use_and_stops(common, monkeypatch, name, problem):
    if name in backend.available():
        pytest.skip(f"{name} is usable here")
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", f"numpy,{name}"])
    with pytest.raises(SystemExit, match=f"--backends: {problem}.*available here: numpy"):
        common.main("x", lambda *a: pytest.fail("timed"))


@pytest.mark.parametrize("variable, value", [("NUMBA_NUM_THREADS", "junk"), ("MINIS2S_BLAS", "x")])
def test_main_names_a_numba_variable_it_refuses_alone(common, monkeypatch, variable, value):
    """The refusal read "--backends: NUMBA_NUM_THREADS='junk': ...", as if the backends given
    were at fault; the variable is what to fix."""
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy,numba"])
    with pytest.raises(SystemExit) as e:
        common.main("x", lambda *a: pytest.fail("timed"))
    assert str(e.value).startswith(f"{variable}={value!r}: "), e.value


def test_main_passes_the_resolved_device_and_the_peaks(common, monkeypatch, capsys):
    seen = []

    def rows(args, backends, peaks):
        seen.append((args.torch_device, backends, dict(peaks)))
        return [bench.make_row("x", "numpy", "float32", "N=1", 2.0, sequences=1, tokens=1,
                               flops=4e6, peak=peaks["cpu"], torch_ms=None)]  # fmt: skip

    monkeypatch.setattr(common, "measure_peaks", lambda bes: {"cpu": float(len(seen) + 1)})
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--rounds", "2"])
    out = common.main("x", rows)
    assert seen == [("cpu", ["numpy"], {"cpu": 1.0}), ("cpu", ["numpy"], {"cpu": 2.0})]
    assert out[0]["peak_frac"] == 1.0  # 2 GFLOP/s against the higher of the rounds' peaks
    text = capsys.readouterr().out
    assert "round 2: GEMM peak 2.0 GFLOP/s; timing on numpy ..." in text
    assert "median of 2 rounds, float32 GEMM peak 2.0 GFLOP/s (1024^3), " in text


def test_main_sets_the_threads_and_refuses_zero_rounds(common, monkeypatch):
    """--threads sets NumPy's BLAS now and OPENBLAS_NUM_THREADS for those loaded later."""
    set_to = []
    monkeypatch.setattr(common, "set_blas_threads", set_to.append)
    monkeypatch.setattr(common, "measure_peaks", lambda bes: {"cpu": 1.0})
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--threads", "3"])
    common.main("x", lambda *a: [])
    assert set_to == [3] and os.environ["OPENBLAS_NUM_THREADS"] == "3"
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--rounds", "0"])
    with pytest.raises(SystemExit, match="--rounds must be at least 1; got 0"):
        common.main("x", lambda *a: pytest.fail("timed"))


def test_main_on_a_gpu_names_it_and_writes_the_json(common, monkeypatch, capsys, tmp_path):
    """With cupy timed: the head line names the GPU, --torch-device auto is decided from the
    backends given, the CPU's OPENBLAS_CORETYPE note stays out, and --json holds the rows."""
    gpu = backend.Backend("cupy", fake_cupy(FakeCuda([])))
    monkeypatch.setattr(backend, "use", lambda name: gpu)
    monkeypatch.setattr(common, "measure_peaks", lambda bes: {"cpu": 1.0, "gpu": 2.0})
    monkeypatch.setattr(common, "forced_core_note", lambda: "OPENBLAS_CORETYPE=X holds ...")
    asked = []
    monkeypatch.setattr(common, "torch_device", lambda c, b, t: asked.append((c, b)) or "cpu")
    path = tmp_path / "rows.json"
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "cupy", "--json", str(path)])
    row = bench.make_row("x", "cupy", "float32", "N=1", 2.0, sequences=1, tokens=1, flops=4e6,
                         peak=2.0, torch_ms=None)  # fmt: skip
    out = common.main("x", lambda *a: [dict(row)])
    assert asked == [("auto", ["cupy"])]
    captured = capsys.readouterr()
    assert "note:" not in captured.err
    assert ", GPU NVIDIA H200 (cupy 14.0.0, CUDA runtime 12.8, CUPY_TF32=0), " in captured.out
    assert bench.load_json(str(path))[0] == out


def test_gpu_grid_sizes(layers):
    """--gpu: the seed size, DeepBench 512/64/25 and 1024/64/25 (H/N/T, D=H), fastrnns; every
    size with lstm and gru, fwd and fwd+bwd. --quick wins over --gpu."""
    sizes = {(c.N, c.T, c.D, c.H, c.source) for c in bench.GPU_GRID}
    assert sizes == {
        (32, 20, 64, 128, "seed"), (64, 25, 512, 512, "DeepBench"),
        (64, 25, 1024, 1024, "DeepBench"), (64, 100, 512, 512, "fastrnns"),
    }  # fmt: skip
    assert len(bench.GPU_GRID) == 4 * len(sizes) == len(set(bench.GPU_GRID))
    assert {(c.cell, c.backward) for c in bench.GPU_GRID} == {
        (cell, bwd) for cell in ("lstm", "gru") for bwd in (False, True)
    }

    def cases(**kw):
        return layers.cases(argparse.Namespace(**{"quick": False, "gpu": False, "only": None} | kw))

    assert cases() == bench.GRID and cases(gpu=True) == bench.GPU_GRID
    assert cases(gpu=True, quick=True) == bench.QUICK
    assert len(cases(gpu=True, only="DeepBench")) == 8


def test_gpu_grid_flops_at_deepbench_1024():
    """DeepBench's LSTM 1024/64/25 fwd+bwd: 80.5 GFLOP per call, as many as its GEMMs do."""
    case = bench.LayerCase("lstm", 64, 25, 1024, 1024, True, "DeepBench")
    assert case in bench.GPU_GRID
    ops = bench.gemm_operands(case, np)
    flops = gemm_flops([(a.shape[0], a.shape[1], b.shape[1]) for a, b in ops])
    assert bench.rnn_flops("lstm", 64, 25, 1024, 1024, True) == flops == 80_530_636_800


def test_large_workload_runs_with_gpu_only(s2s_sizes):
    s2s = s2s_sizes
    assert s2s.WORKLOADS["large"] == s2s.Workload(N=128, S=50, T=50, E=512, H=512, V=32000)
    assert s2s.train_flops(s2s.WORKLOADS["large"]) == 862_637_260_800  # 0.86 TFLOP a step

    def jobs(**kw):
        return s2s.jobs(argparse.Namespace(**{"quick": False, "gpu": False, "only": None} | kw))

    assert jobs() == s2s.JOBS and jobs(quick=True, gpu=True) == jobs(quick=True)
    assert jobs(gpu=True) == s2s.JOBS + [s2s.Job("train step", "large", 0)]
    assert jobs(gpu=True, only="large") == [s2s.Job("train step", "large", 0)]


@pytest.fixture
def loss_bench(monkeypatch):
    """benchmarks/bench_loss.py (not a package) with toy sizes."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    module = importlib.import_module("bench_loss")
    toy = module.Size("toy", 3, 4, 11)
    monkeypatch.setattr(module, "SIZES", [toy])
    monkeypatch.setattr(module, "GPU_SIZES", [toy, module.Size("toy large", 2, 2, 13)])
    return module


def test_loss_rows_time_the_twins_and_the_reference(loss_bench):
    """A row per backend, and a "ref" row for a backend with loss twins (numba), so the two
    show what the twins save; --gpu adds the large size."""
    args = argparse.Namespace(gpu=False, quick=False, only=None, budget=0.01, torch_device="cpu")
    rows = loss_bench.rows(args, ["numpy", "numba"], {"cpu": 1.0})
    assert [r["backend"] for r in rows] == ["numpy", "numba", "numba ref"]
    assert {r["shape"] for r in rows} == {"M=3*4 V=11"} and all(r["ms"] > 0 for r in rows)
    assert (rows[0]["torch_ms"] is None) == (not HAS_TORCH)
    args.gpu = True
    assert len(loss_bench.rows(args, ["numpy"], {"cpu": 1.0})) == 2
    args.only = "large"
    assert [r["name"] for r in loss_bench.rows(args, ["numpy"], {"cpu": 1.0})] == [
        "loss fwd+bwd (toy large)"
    ]
    args.only, args.quick = None, True  # --quick wins over --gpu
    assert [r["name"] for r in loss_bench.rows(args, ["numpy"], {"cpu": 1.0})] == [
        "loss fwd+bwd (toy)"
    ]
    for r in rows:  # M = N * T tokens a call
        assert r["tokens_per_s"] == pytest.approx(3 * 4 * 1e3 / r["ms"])


def test_loss_rows_do_the_work_they_name(loss_bench, monkeypatch):
    """Each timed call of ours runs the forward pass with label smoothing and the backward pass,
    the "ref" row without the twins, the row with them; the peer's gradient (fresh each call)
    is ours, from the same ignore_index and label smoothing."""
    torch = pytest.importorskip("torch")
    calls, forward, backward = [], loss.forward, loss.backward

    def recording_forward(*args, **kw):
        calls.append(("fwd", backend.current().kernel("loss.log_softmax", None) is not None, kw))
        return forward(*args, **kw)

    def recording_backward(*args, **kw):
        calls.append(("bwd", backward(*args, **kw)))
        return calls[-1][1]

    monkeypatch.setattr(loss_bench.loss, "forward", recording_forward)
    monkeypatch.setattr(loss_bench.loss, "backward", recording_backward)
    args = argparse.Namespace(gpu=False, quick=False, only=None, budget=0.0, torch_device="cpu")
    rows = loss_bench.rows(args, ["numba"], {"cpu": 1.0})
    assert [r["backend"] for r in rows] == ["numba", "numba ref"]
    fwd = [c for c in calls if c[0] == "fwd"]
    assert len(fwd) == len([c for c in calls if c[0] == "bwd"]) > 0
    assert all(kw == {"ignore_index": 0, "label_smoothing": loss_bench.EPS} for *_, kw in fwd)
    twins = [t for _, t, _ in fwd]
    assert twins == sorted(twins, reverse=True) and twins[0] and not twins[-1]
    size = loss_bench.Size("padded", 5, 8, 13)  # 40 targets, some of them padding
    logits, targets = loss_bench.inputs(size)
    assert (targets == 0).any()
    _, cache = loss.forward(logits, targets, ignore_index=0, label_smoothing=loss_bench.EPS)
    dz = loss.backward(1.0, cache).reshape(-1, size.V)
    made = []
    proxy = types.SimpleNamespace(
        tensor=lambda *a, **k: made.append(torch.tensor(*a, **k)) or made[-1], nn=torch.nn
    )
    step = loss_bench.peer(proxy, size, "cpu")
    step()
    step()  # a second call: a fresh gradient again
    np.testing.assert_allclose(made[0].grad.numpy(), dz, atol=1e-6)


def test_loss_rows_on_a_gpu_time_with_events_against_the_gpu_peak(loss_bench, fake_gpu,
                                                                   monkeypatch):  # fmt: skip
    monkeypatch.setattr(loss_bench.common, "clock_for", fake_gpu[1])
    args = argparse.Namespace(gpu=False, quick=False, only=None, budget=0.01, torch_device="cpu")
    rows = loss_bench.rows(args, ["cupy", "numpy"], {"cpu": 2.0, "gpu": 1e-3})
    assert [(r["backend"], r["ms"] == 4.0) for r in rows] == [("cupy", True), ("numpy", False)]
    assert all(r["gflops"] == r["peak_frac"] == 0.0 for r in rows)  # no GEMMs counted


def test_loss_inputs_pad_a_tenth_and_the_peer_computes_the_same_loss(loss_bench):
    logits, targets = loss_bench.inputs(loss_bench.Size("s", 20, 30, 50))
    assert logits.dtype == np.float32 and 0.05 < (targets == 0).mean() < 0.15
    torch = pytest.importorskip("torch")
    value, _ = loss.forward(logits, targets, ignore_index=0, label_smoothing=loss_bench.EPS)
    peer = torch.nn.functional.cross_entropy(
        torch.tensor(logits.reshape(-1, 50)), torch.tensor(targets.reshape(-1)),
        ignore_index=0, label_smoothing=loss_bench.EPS,
    )  # fmt: skip
    assert abs(value - float(peer)) < 1e-5 * abs(value)


# -- which OpenBLAS kernels ran ----------------------------------------------------------------


def test_blas_core_names_numpys_kernels_in_the_head_line():
    core = threads.blas_core()
    if not threads.openblas_libs():
        pytest.skip("NumPy has no OpenBLAS here: the kernels are reported n/a")
    assert isinstance(core, str) and core
    info = bench.meta(CPU_PEAK)
    assert info["blas_core"] == core
    assert f", OpenBLAS kernels {core}" in bench.markdown([], info).splitlines()[0]


def test_head_line_names_a_forced_core_and_torchs_instructions():
    info = {"gemm_peak_gflops": 2.0, "gemm_peak_n": 1024, "blas_threads": 2, "numba_blas": "x",
            "blas_core": "Haswell", "openblas_coretype": "Haswell", "torch": "2.13.0+cpu",
            "torch_device": "cpu", "torch_threads": 2, "torch_cpu_capability": "AVX512",
            "numpy": "2.4.6", "cpus": 2}  # fmt: skip
    head = bench.markdown([], info).splitlines()[0]
    assert ", OpenBLAS kernels Haswell (OPENBLAS_CORETYPE=Haswell), " in head
    assert ", torch 2.13.0+cpu (AVX512) on cpu with 2 threads, " in head
    del info["openblas_coretype"], info["torch_cpu_capability"]  # a JSON file from before them
    head = bench.markdown([], info).splitlines()[0]
    assert ", OpenBLAS kernels Haswell, " in head and "torch 2.13.0+cpu on cpu" in head


@pytest.mark.parametrize(
    "forced, core, flags, noted",
    [("Haswell", "Haswell", {"avx2", "avx512f"}, True),  # held below the CPU: the note
     ("Zen", "Zen", {"avx2", "avx512f"}, True),
     ("SkylakeX", "SkylakeX", {"avx2", "avx512f"}, False),  # forced, but to AVX-512 kernels
     ("Cooperlake", "Cooperlake", {"avx2", "avx512f"}, False),
     ("SapphireRapids", "SapphireRapids", {"avx2", "avx512f"}, False),
     ("Haswell", "Haswell", {"avx2"}, False),  # an AVX2 CPU: nothing lost
     ("", "SkylakeX", {"avx2", "avx512f"}, False),  # not forced (empty: OpenBLAS's own pick)
     (None, "Haswell", {"avx2", "avx512f"}, False)],
)  # fmt: skip
def test_forced_core_note_only_where_the_cpu_has_more(monkeypatch, forced, core, flags, noted):
    if forced is None:
        monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_CORETYPE", forced)
    monkeypatch.setattr(threads, "blas_core", lambda: core)
    monkeypatch.setattr(threads, "cpu_flags", lambda: flags)
    note = threads.forced_core_note()
    assert (note is not None) == noted
    if noted:
        assert f"OPENBLAS_CORETYPE={forced} holds NumPy's OpenBLAS to its {core} kernels" in note
        assert "env -u OPENBLAS_CORETYPE" in note


def test_cpu_flags_are_the_first_flags_line_of_proc_cpuinfo():
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    lines = [ln for ln in text.splitlines() if ln.startswith("flags")]  # x86 Linux: one per CPU
    assert threads.cpu_flags() == (set(lines[0].partition(":")[2].split()) if lines else set())


def test_the_benchmarks_print_the_forced_core_note(common, monkeypatch, capsys):
    monkeypatch.setattr(common, "forced_core_note", lambda: "OPENBLAS_CORETYPE=X holds ...")
    monkeypatch.setattr(common, "measure_peaks", lambda bes: {"cpu": 1.0})
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy"])
    common.main("x", lambda *a: [])
    assert "note: OPENBLAS_CORETYPE=X holds ..." in capsys.readouterr().err
    monkeypatch.setattr(bench.layers, "forced_core_note", lambda: "OPENBLAS_CORETYPE=X holds ...")
    monkeypatch.setattr(bench.layers, "QUICK", TOY[:1])
    assert main(["--backend", "numpy", "bench", "--quick"]) == 0
    assert "minis2s bench: note: OPENBLAS_CORETYPE=X holds ..." in capsys.readouterr().err


@pytest.mark.parametrize("forced, family", [("haswell", "Haswell"), ("SANDYBRIDGE", "Sandybridge")])
def test_blas_core_reads_the_family_openblas_loaded(forced, family):
    """A fresh process under OPENBLAS_CORETYPE=<forced> reports the family OpenBLAS loaded, in
    OpenBLAS's spelling: the name comes from the library NumPy loaded, not from the environment."""
    if "avx2" not in threads.cpu_flags() or not threads.openblas_libs():
        pytest.skip("needs an x86-64 CPU with AVX2 and NumPy's OpenBLAS (a DYNAMIC_ARCH build)")
    code = "from minis2s.threads import blas_core; print(blas_core())"
    env = os.environ | {"OPENBLAS_CORETYPE": forced}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == family


def test_gpu_check_script_is_valid_bash_and_names_its_parts():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    typo = subprocess.run(["bash", str(script), "test"], capture_output=True, text=True)
    assert typo.returncode == 2 and "unknown part 'test'; give tests, bench" in typo.stderr


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_gpu_check_without_a_gpu_stops_and_fails(tmp_path):
    """Without CuPy every GPU test is skipped, which once left the script's run green."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    env = os.environ | {"OUT": str(tmp_path), "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(script), "tests"], env=env, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    summary = (tmp_path / "summary.txt").read_text()
    assert "== facts: exit 0" not in summary and "no usable GPU through CuPy" in summary
    assert not (tmp_path / "tests.txt").exists()  # no stage ran after the facts


@pytest.mark.parametrize(
    "options,message",
    [
        (["--threads", "0"], "--threads must be at least 1; got 0"),
        (["--json", "/no/such/dir/x.json"], "--json /no/such/dir/x.json: the directory /no/such"),
        (["--only", "no such row", "--budget", "0.01"], "--only 'no such row' matches none"),
    ],
)
def test_the_scripts_refuse_options_that_would_waste_or_lose_a_run(options, message):
    """Checked before any timing: a bad --json path failed after the whole run, --threads 0
    was ignored, an --only that matched nothing printed an empty table and exited 0."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_loss.py"
    run = subprocess.run([sys.executable, str(script), "--quick", "--backends", "numpy", *options],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode != 0 and message in run.stderr, run.stdout + run.stderr


@pytest.mark.parametrize("script", ["bench_layers.py", "bench_loss.py", "bench_seq2seq.py"])
def test_an_only_that_matches_no_row_is_refused_before_any_work(script):
    """It was refused once every row had been passed over: after the GEMM peaks were measured
    (seconds of work, a minute on a GPU) and, with --rounds K, K times."""
    run = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), "--backends", "numpy", "--only", "nothing"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode != 0, run.stdout + run.stderr
    assert "--only 'nothing' matches none of this script's" in run.stderr, run.stderr
    assert run.stdout == "", run.stdout  # no round begun: its peak line comes first


def test_the_contention_script_times_each_thread_count_alone_and_side_by_side():
    script = BENCH_DIR / "bench_contention.py"
    out = subprocess.run(
        [sys.executable, str(script), "--backend", "numpy", "--steps", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout.splitlines()  # fmt: skip
    assert out[0] == f"1 training steps (small, numpy) per process, {os.cpu_count()} CPUs"
    assert [line.split(":")[0].strip() for line in out[1:]] == [
        "default BLAS threads",
        "1 BLAS thread",
    ]
    for line in out[1:]:  # "...: alone A s; two at once B s, C s": three times
        words = line.split(":")[1].replace(",", " ").split()
        assert len([w for w in words if w.replace(".", "").isdigit()]) == 3


def test_median_ms_times_at_most_100_calls():
    """A call of 1 us would fit a million times in a 1 s budget: 100 is the most it takes."""

    class OneMicrosecond:
        calls = 0

        def ms(self, fn):
            fn()
            self.calls += 1
            return 1e-3

    clock = OneMicrosecond()
    assert bench.median_ms(lambda: None, warmup=0, budget_s=1.0, clock=clock) == 1e-3
    assert clock.calls == 100


def test_merge_rounds_takes_the_torch_median_whichever_round_holds_it():
    """The torch ms is the median of the rounds' too, not the first round's."""

    def row(ms, torch_ms):
        return bench.make_row("x", "numba", "float32", "N=1", ms, sequences=2, tokens=8,
                              flops=4e6, peak=10.0, torch_ms=torch_ms)  # fmt: skip

    merged = bench.merge_rounds([[row(1.0, 30.0)], [row(3.0, 9.0)], [row(2.0, 4.0)]], {"cpu": 10.0})
    assert merged[0]["torch_ms"] == 9.0 and merged[0]["torch_ratio"] == 4.5


def test_torch_or_none_gives_torch_as_many_threads_as_numpys_blas():
    torch = pytest.importorskip("torch")
    n = bench.blas_threads()  # 1: the autouse fixture
    if n is None:
        pytest.skip("no OpenBLAS found in this process: nothing to match")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(n + 1)
        bench.torch_or_none()
        assert torch.get_num_threads() == n
    finally:
        torch.set_num_threads(before)


def test_the_torch_peer_backpropagates_into_fresh_gradients_each_call(monkeypatch):
    """As ours returns fresh gradients: a second call of the fwd+bwd peer gives x the same
    gradient as the first, not twice it."""
    torch = pytest.importorskip("torch")
    made, real = [], torch.randn
    monkeypatch.setattr(torch, "randn", lambda *a, **kw: made.append(real(*a, **kw)) or made[-1])
    step = bench.layers._torch(TOY[-1], torch)  # gru fwd+bwd
    step()
    first = made[0].grad.clone()
    step()
    assert torch.equal(made[0].grad, first)

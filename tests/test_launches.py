"""Kernel launches, counted on the CPU stand-in for CuPy (tests.fake_device.LAUNCHES).

At a decoder step's sizes a GPU runs each kernel in microseconds, and CuPy's Python and the CUDA
launch around it cost more: a step's time is about its launches times that cost, on our side and
on PyTorch eager's. The cupy twins exist to cut launches; these tests hold them to what their
docstrings say (one GEMM and one fused kernel per step of a cell's loop, six and two for the
masked softmax, one per parameter array for Adam), and compare a whole training step's launches
per target step with the reference's and with PyTorch eager's on the benchmark's model.
"""

import collections
import importlib
from pathlib import Path

import numpy as np
import pytest

from minis2s import backend
from minis2s.data.batching import make_batch
from minis2s.kernels import cupy_gru, cupy_lstm, cupy_optim, cupy_rnn, cupy_softmax
from minis2s.layers import gru, lstm, rnn, softmax
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import optim
from tests.fake_device import LAUNCHES, on_fake_device
from tests.parity import backward_inputs, loop_inputs, step_inputs

CELLS = {"rnn": (rnn, cupy_rnn), "lstm": (lstm, cupy_lstm), "gru": (gru, cupy_gru)}
BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def launches(run, *args) -> int:
    """Kernels launched by run(*args) on the fake device (the current backend's)."""
    LAUNCHES.clear()
    run(*args)
    return sum(LAUNCHES.values())


def test_the_count_is_of_kernels_not_of_views_or_of_what_a_kernel_runs_on():
    with on_fake_device() as xp:
        x = xp.asarray(np.arange(6.0).reshape(2, 3))
        k = cupy_lstm.LOOP_STEP_FORWARD
        assert launches(lambda: (x[1:], x.T, x.reshape(3, 2), xp.empty((2, 2)))) == 0
        assert launches(lambda: x * 2 + 1) == 2
        assert launches(lambda: (x.sum(axis=-1), xp.max(x), x @ x.T)) == 3
        # zeros, the comparison, where, the gather
        assert launches(lambda: (xp.zeros(3), xp.where(x > 1, x, 0), x[[0, 1]])) == 4
        y = xp.zeros((2, 3))
        assert launches(y.__setitem__, (slice(None), 0), 1.0) == 1
        assert launches(lambda: x.astype(np.float32)) == 1
        assert launches(lambda: x.astype(np.float64, copy=False)) == 0
        ones = [xp.asarray(np.ones((2, 3))) for _ in k.inputs]
        outs = [xp.zeros((2, 3)) for _ in k.outputs]
        assert launches(k, *ones, *outs) == 1  # its dozen NumPy operations here are one kernel


@pytest.mark.parametrize("cell", CELLS)
def test_a_twin_loop_launches_one_gemm_and_one_kernel_per_step(cell):
    """Forward and backward, T = 3 and 7: two more launches per extra step; the reference makes
    several times as many."""
    ref, twin = CELLS[cell]
    r = np.random.default_rng(0)
    per_step = {}
    for name, module, twins in (("twin", twin, True), ("reference", ref, False)):
        counts = []
        for T in (3, 7):
            args = loop_inputs(cell, 2, T, 4, np.ones((2, T)), r, np.float64)
            bargs = backward_inputs(cell, args, ref.forward_loop(*args), r, np.float64)
            with on_fake_device(twins=twins) as xp:
                fwd = launches(module.forward_loop, *map(xp.asarray, args))
                bwd = launches(module.backward_loop, *map(xp.asarray, bargs))
            counts.append((fwd, bwd))
        per_step[name] = [(b - a) / 4 for a, b in zip(*counts, strict=True)]
    assert per_step["twin"] == [2, 2]
    assert all(t < r for t, r in zip(per_step["twin"], per_step["reference"], strict=True))


@pytest.mark.parametrize("cell", CELLS)
def test_a_twin_step_forward_is_two_gemms_and_one_kernel(cell):
    ref, twin = CELLS[cell]
    x, state, p, _ = step_inputs(cell, 2, 3, 4, np.random.default_rng(0), np.float64)
    counts = {}
    for module, twins in ((twin, True), (ref, False)):
        with on_fake_device(twins=twins) as xp:
            dev = tuple(map(xp.asarray, state)) if cell == "lstm" else xp.asarray(state)
            p_dev = {k: xp.asarray(v) for k, v in p.items()}
            counts[twins] = launches(module.step_forward, xp.asarray(x), dev, p_dev)
    assert counts[True] == 3 < counts[False]


def test_the_masked_softmax_twins_launch_six_and_two():
    r = np.random.default_rng(0)
    s, mask = r.standard_normal((3, 2, 5)), (r.random((3, 1, 5)) < 0.7).astype(np.float64)
    counts = {}
    for module, twins in ((cupy_softmax, True), (softmax, False)):
        with on_fake_device(twins=twins) as xp:
            fwd = launches(module.forward, xp.asarray(s), xp.asarray(mask))
            _, cache = module.forward(xp.asarray(s), xp.asarray(mask))
            counts[twins] = (fwd, launches(module.backward, xp.asarray(s), cache))
    assert counts[True] == (6, 2)
    assert counts[False][0] > 6 and counts[False][1] > 2


@pytest.mark.parametrize(
    "kind, weight_decay, per_array",
    [(optim.Adam, 0.0, 1), (optim.Adam, 0.1, 1), (optim.AdamW, 0.01, 2)],
    ids=["Adam", "Adam-L2", "AdamW"],
)
def test_adam_launches_one_kernel_per_parameter_array(kind, weight_decay, per_array):
    """Adam's L2 decay is inside the kernel; AdamW's decay of the weights is one launch more per
    array, as in the reference."""
    r = np.random.default_rng(0)
    params = {f"p{i}": r.standard_normal((3, i + 1)) for i in range(4)}
    counts = {}
    for twins in (True, False):
        with on_fake_device(twins=twins) as xp:
            twin = backend.current().kernel("optim.adam_update", None)
            assert (twin is cupy_optim.adam_update) == twins
            held = {k: xp.asarray(a) for k, a in params.items()}
            grads = {k: xp.asarray(r.standard_normal(a.shape)) for k, a in params.items()}
            opt = kind(held, weight_decay=weight_decay)
            counts[twins] = launches(opt.step, held, grads)
    assert counts[True] == per_array * len(params) < counts[False]


def training_launches(cfg: ModelConfig, T: int, twins: bool) -> int:
    """Launches of one loss_and_grads on a batch of 3 pairs with T target steps."""
    with on_fake_device(twins=twins):
        model = Seq2Seq(cfg, dtype=np.float64, seed=0)
        r = np.random.default_rng(0)
        pairs = [(r.integers(4, cfg.src_vocab, 2 + n).tolist(),
                  r.integers(4, cfg.tgt_vocab, T - 1).tolist()) for n in range(3)]  # fmt: skip
        b = make_batch(pairs, list(range(3)))
        return launches(lambda: model.loss_and_grads(b, rng=np.random.default_rng(1)))


def per_target_step(count) -> float:
    """Extra launches per extra target step, from T = 3 and T = 7."""
    return (count(7) - count(3)) / 4


@pytest.mark.parametrize(
    "kw", [dict(), dict(cell="gru", attention="additive", dec_layers=2, dropout=0.3)]
)
def test_a_training_step_launches_fewer_kernels_per_target_step_with_the_twins(kw):
    cfg = ModelConfig(src_vocab=11, tgt_vocab=13, emb=4, hidden=5, **kw)
    twins = per_target_step(lambda T: training_launches(cfg, T, True))
    reference = per_target_step(lambda T: training_launches(cfg, T, False))
    assert 0 < twins < reference / 2


TORCH_NO_KERNEL = frozenset(
    """
    view _unsafe_view t transpose unsqueeze squeeze select slice expand as_strided detach alias
    permute reshape split unbind empty empty_like empty_strided _reshape_alias lift_fresh
    """.split()
)  # fmt: skip  (ATen operations that make views or allocate: no kernel)


def torch_launches(run) -> int:
    """The ATen operations of run() that launch a kernel."""
    from torch.utils._python_dispatch import TorchDispatchMode

    count = 0

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            nonlocal count
            count += func.overloadpacket.__name__ not in TORCH_NO_KERNEL
            return func(*args, **(kwargs or {}))

    with Count():
        run()
    return count


def test_per_target_step_our_training_step_launches_fewer_kernels_than_pytorch_eager(monkeypatch):
    """The benchmark's model (benchmarks/bench_seq2seq.py: LSTM encoder, general attention, input
    feeding, Adam) at toy sizes: PyTorch eager's ATen operations per target step, forward and
    backward, against our launches on the fake device. On a GPU, at a step's small sizes, these
    counts rather than the arithmetic set the time of the decoder's loop."""
    torch = pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    s2s = importlib.import_module("bench_seq2seq")

    def work(T):
        return s2s.Workload(N=4, S=5, T=T, E=6, H=7, V=11)

    def ours(T):
        with on_fake_device():
            step, _ = s2s.ours_train(work(T))
            step()  # Adam's state made
            return launches(step)

    def theirs(T):
        step = s2s.torch_train(torch, work(T), Seq2Seq(s2s.config(work(T))).params)
        step()
        return torch_launches(step)

    ours_per_step, torch_per_step = per_target_step(ours), per_target_step(theirs)
    print(f"launches per target step: ours {ours_per_step}, PyTorch eager {torch_per_step}")
    assert 0 < ours_per_step < torch_per_step


def test_counts_are_per_line_of_minis2s():
    """What the counter reports, so a launch added inside a loop shows where it is."""
    cfg = ModelConfig(src_vocab=11, tgt_vocab=13, emb=4, hidden=5)
    training_launches(cfg, 3, True)
    lines = collections.Counter(LAUNCHES)
    assert lines and all(":" in k and k.split(":")[0].endswith(".py") for k in lines)
    assert "(outside minis2s)" not in lines

"""Host round trips per batch and per step, counted on a CPU stand-in for CuPy (fake_device).

On a GPU every conversion of a device array to a Python value waits for the device. A training
step must make a fixed number of them per batch, however many target steps it runs: here the
count is taken at two target lengths and must not change at any line of minis2s. Decoding makes
a few per step by design (it picks the next tokens and checks for EOS on the host); the tests
pin how many, so a new one inside a loop fails here rather than in a GPU benchmark.
"""

import itertools

import numpy as np
import pytest

from minis2s import validate
from minis2s.data.batching import make_batch
from minis2s.data.vocab import EOS_ID
from minis2s.decode.beam import beam_search
from minis2s.decode.greedy import greedy
from minis2s.decode.sample import sample
from minis2s.models import ModelConfig, Seq2Seq, decoder
from minis2s.train.config import TrainConfig
from minis2s.train.trainer import Trainer
from tests.fake_device import ROUND_TRIPS, TO_DEVICE, Device, fake_cupy, on_fake_device

V_SRC, V_TGT = 11, 13


def round_trips(cfg: ModelConfig, T: int, run) -> dict[str, int]:
    """Round trips per line of `run(model, batch)` on the fake device, T target steps."""
    with on_fake_device():
        model = Seq2Seq(cfg, dtype=np.float64, seed=0)
        model.params["out.b"][EOS_ID] = -1e9  # never chosen: decoding runs every step it may
        r = np.random.default_rng(0)
        pairs = [(r.integers(4, V_SRC, 2 + n).tolist(), r.integers(4, V_TGT, T - 1).tolist())
                 for n in range(3)]  # fmt: skip
        b = make_batch(pairs, list(range(3)))
        ROUND_TRIPS.clear()
        TO_DEVICE.clear()
        run(model, b)
        return dict(ROUND_TRIPS)


def growth(cfg: ModelConfig, run, T0: int = 3, T1: int = 7) -> dict[str, float]:
    """{line: extra round trips per extra target step} for the lines whose count grows."""
    a, b = round_trips(cfg, T0, run), round_trips(cfg, T1, run)
    return {k: (b.get(k, 0) - a.get(k, 0)) / (T1 - T0) for k in a.keys() | b.keys()
            if a.get(k, 0) != b.get(k, 0)}  # fmt: skip


CONFIGS = [
    dict(),
    dict(cell="gru", attention="concat", enc_layers=2, dec_layers=2, dropout=0.3, bridge="learned"),
    dict(cell="rnn", attention="additive", input_feed=False),
    dict(attention="none", input_feed=False),
    dict(attention="dot", bidirectional=False),
]


def config(**kw) -> ModelConfig:
    return ModelConfig(src_vocab=V_SRC, tgt_vocab=V_TGT, emb=4, hidden=5, **kw)


@pytest.mark.parametrize("kw, eps", list(itertools.product(CONFIGS, [0.0, 0.5])))
def test_a_training_step_makes_no_round_trip_per_target_step(kw, eps):
    """Teacher forcing (eps 0) and scheduled sampling (eps 0.5), in training mode (dropout where
    the config has it): the same count at every line for 3 and 7 target steps."""

    def train(model, b):
        model.loss_and_grads(b, rng=np.random.default_rng(1), sampling_eps=eps)

    assert growth(config(**kw), train) == {}
    assert sum(round_trips(config(**kw), 3, train).values()) > 0  # the batch's checks are seen


def test_a_training_update_adds_one_round_trip_for_the_gradient_norm(tmp_path):
    """Trainer.step = loss_and_grads + the global gradient norm (one round trip, clipped or
    not: it was one per parameter array without clipping) + the optimizer (none)."""
    cfg, rng = config(dropout=0.2), lambda: np.random.default_rng(1)
    plain = round_trips(cfg, 3, lambda m, b: m.loss_and_grads(b, rng=rng()))
    for clip, optimizer in itertools.product([0.0, 1.0], ["adam", "sgd", "adagrad", "adamw"]):
        tcfg = TrainConfig(clip=clip, optimizer=optimizer,
                           weight_decay=0.01 if optimizer == "adamw" else 0.0)  # fmt: skip

        def update(model, b, tcfg=tcfg):
            # round_trips' EOS bias of -1e9 makes a loss of ~3e8 nats, which the trainer
            # refuses as diverged (check_update); training needs EOS choosable
            model.params["out.b"][EOS_ID] = 0.0
            Trainer(model, tcfg, [b], dict, tmp_path, meta={}, progress=False).step(b)

        counts = round_trips(cfg, 3, update)
        assert sum(counts.values()) == sum(plain.values()) + 1, (clip, optimizer, counts)
        assert growth(cfg, update) == {}


def decode(name: str, L: int):
    """run(model, batch) decoding with `name` up to L tokens (EOS is never chosen: exactly L)."""
    limit = dict(max_len_a=0, max_len_b=L)
    if name == "greedy":
        return lambda m, b: greedy(m, b.src, b.src_mask, **limit)
    if name == "sample":
        return lambda m, b: sample(m, b.src, b.src_mask, rng=np.random.default_rng(0), **limit)
    return lambda m, b: beam_search(m, b.src, b.src_mask, beam_size=2, **limit)


@pytest.mark.parametrize("kw", CONFIGS)
def test_decoding_round_trips_per_step(kw):
    """Greedy: one per step (its tokens, for the EOS check). Sampling: two (the
    log-probabilities it draws from on the host, then its tokens). Beam search: one for the
    log-probabilities it prunes on the host, one more for the attention weights it keeps."""
    cfg = config(**kw)
    per_step = {"greedy": 1, "sample": 2, "beam": 1 + (cfg.attention != "none")}
    for name, want in per_step.items():
        short, long = (sum(round_trips(cfg, 3, decode(name, L)).values()) for L in (5, 9))
        assert (long - short) / 4 == want, (name, short, long)


def test_the_count_sees_a_round_trip_per_step(monkeypatch):
    """The check can fail: a decoder step that looks at the source mask's values again (what
    every step did before the mask was checked once per batch) is caught."""
    step_forward = decoder.step_forward

    def checking_step(e, states, out_prev, enc, src_mask, *args, **kwargs):
        validate.mask("step", src_mask, *src_mask.shape, src_mask.dtype)
        return step_forward(e, states, out_prev, enc, src_mask, *args, **kwargs)

    monkeypatch.setattr(decoder, "step_forward", checking_step)
    train = lambda model, b: model.loss_and_grads(b)  # noqa: E731
    assert list(growth(config(), train).values()) == [1.0]


def test_fake_device_counts_conversions_like_cupy():
    with on_fake_device():
        a = fake_cupy.arange(6.0).reshape(2, 3)
        assert isinstance(a, Device) and isinstance(a.sum(axis=0), Device)
        assert isinstance(a[1, 2], Device) and a[1, 2].shape == ()  # CuPy: a 0-d array
        bool(a.all()), float(a[0, 1]), int(a.max()), a.tolist(), a.get()
        assert sum(ROUND_TRIPS.values()) == 5


def test_a_batch_goes_to_the_device_without_waiting_for_it():
    """`Backend.to_device` packs a batch into pinned memory and copies it on the current stream,
    named: CuPy 14's `ndarray.set(a)` uses the current stream anyway, but older CuPy's, without
    a stream, was a cudaMemcpy on the null stream, which returns only when the GPU has finished
    all the work queued before it (a wait per batch); `set(a, stream=...)` is a
    cudaMemcpyAsync on both."""
    from minis2s import backend

    with on_fake_device():
        r = np.random.default_rng(0)
        got = backend.current().to_device([r.integers(0, 9, (3, 5)), r.random(4)], [None, None])
        assert [type(g) for g in got] == [Device, Device]
        assert dict(ROUND_TRIPS) == {} and sum(TO_DEVICE.values()) == 1, (ROUND_TRIPS, TO_DEVICE)


def to_device_copies(cfg: ModelConfig, T: int, run) -> dict[str, int]:
    """Host-to-device copies per line of `run(model, batch)` on the fake device."""
    round_trips(cfg, T, run)  # the same run: TO_DEVICE was cleared where ROUND_TRIPS was
    return dict(TO_DEVICE)


@pytest.mark.parametrize("kw, eps", list(itertools.product(CONFIGS, [0.0, 0.5])))
def test_a_training_step_copies_to_the_device_a_fixed_number_of_times(kw, eps):
    """One copy for the whole batch (through pinned memory, `Backend.to_device`), one for the
    random numbers the decoder draws ahead (scheduled sampling, dropout), one per dropout outside
    the decoder's loop; none per target step."""
    cfg = config(**kw)

    def train(model, b):
        model.loss_and_grads(b, rng=np.random.default_rng(1), sampling_eps=eps)

    short, long = to_device_copies(cfg, 3, train), to_device_copies(cfg, 7, train)
    assert short == long
    outside = 3 if cfg.dropout else 0  # encoder input, between its 2 layers, decoder outputs
    drawn_ahead = 1 if eps or cfg.dropout else 0
    assert sum(short.values()) == 1 + drawn_ahead + outside, short

"""Gradient accumulation (TrainConfig.accum_steps, train --accum-steps): an update from K batches
is the update from one batch holding all their sentences, counted, scheduled and resumed as one."""

import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.cli import main
from minis2s.data.batching import make_batch
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import checkpoint
from minis2s.train.accumulate import group_loss_and_grads, groups
from minis2s.train.config import TrainConfig
from minis2s.train.frozen_embeddings import FROZEN
from minis2s.train.grad_norm import global_norm
from minis2s.train.trainer import Trainer
from tests.test_cli import TINY
from tests.test_trainer import (
    POSIX_MAIN,
    assert_same_run,
    interrupt_inside,
    make_trainer,
    train_losses,
    uninterrupted,
)
from tests.test_trainer import data as _data_fixture

data = _data_fixture  # the trainer tests' 80 reverse-digits examples (5 batches of 16)

V = 9  # ids 0-3 are PAD, BOS, EOS, UNK; sentences use 4..8
F64 = np.float64


def tiny_model(cell: str = "lstm", seed: int = 0) -> Seq2Seq:
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, emb=3, hidden=4, cell=cell)
    return Seq2Seq(cfg, seed=seed, dtype=F64)


@st.composite
def sentence_groups(draw):
    """Examples (src, tgt) of random lengths (targets may be empty) cut into 1-4 consecutive
    batches of 1-4 sentences each, so the batches pad to different lengths."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    sentence = lambda lo: st.lists(st.integers(4, V - 1), min_size=lo, max_size=6)  # noqa: E731
    examples = [(draw(sentence(1)), draw(sentence(0))) for _ in range(sum(sizes))]
    return examples, sizes


@given(case=sentence_groups(), cell=st.sampled_from(["rnn", "lstm", "gru"]))
def test_a_groups_gradient_is_that_of_one_batch_of_all_its_sentences(case, cell):
    """sum_i (n_i / N) dL_i/dθ is the gradient of the per-token mean over the union, whatever
    the batch sizes (1 included) and each batch's padding; the loss is their token mean."""
    examples, sizes = case
    model = tiny_model(cell)
    cuts = np.cumsum([0, *sizes])
    group = [make_batch(examples[a:b], range(a, b)) for a, b in zip(cuts, cuts[1:], strict=False)]
    loss, grads = group_loss_and_grads(model, group)
    want_loss, want = model.loss_and_grads(make_batch(examples, range(len(examples))))
    assert loss == pytest.approx(want_loss, rel=1e-12)
    assert grads.keys() == want.keys()
    for k in want:
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_a_group_of_one_batch_is_that_batchs_own_result_bit_for_bit():
    model = tiny_model()
    batch = make_batch([([4, 5, 6], [6, 5]), ([7], [])], [0, 1])
    loss, grads = group_loss_and_grads(model, [batch])
    want_loss, want = model.loss_and_grads(batch)
    assert loss == want_loss
    for k in want:
        np.testing.assert_array_equal(grads[k], want[k], err_msg=k)


def test_a_group_holds_one_set_of_gradients_besides_the_batchs_own():
    """Measured with tracemalloc (NumPy reports its buffers to it) on a model whose gradients
    outweigh its activations (a large vocabulary, one short sentence): a group of 3 batches
    peaks at one batch's pass plus the group's sum (one set, and one array being added), not
    also a scaled copy of every gradient."""
    cfg = ModelConfig(src_vocab=4000, tgt_vocab=4000, emb=32, hidden=32)
    model = Seq2Seq(cfg, seed=0)
    one_set = sum(p.nbytes for p in model.params.values())
    batch = make_batch([([5, 6, 7], [8, 9])], [0])

    def peak(f):
        tracemalloc.start()
        try:
            f()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    model.loss_and_grads(batch)  # first-call allocations out of the way
    single = peak(lambda: model.loss_and_grads(batch))
    group = peak(lambda: group_loss_and_grads(model, [batch, batch, batch]))
    assert single > one_set  # the batch's own gradients
    assert group - single < 1.5 * one_set


@given(n=st.integers(1, 20), k=st.integers(1, 6))
def test_groups_are_k_consecutive_batches_and_the_last_holds_the_rest(n, k):
    cut = groups(list(range(n)), k)
    assert [b for g in cut for b in g] == list(range(n))
    assert len(cut) == -(-n // k)  # ceil(n / k)
    assert all(len(g) == k for g in cut[:-1]) and 1 <= len(cut[-1]) <= k


def sgd_trainer(data, out, **train_kw) -> Trainer:
    """A float64, dropout-free trainer with plain SGD at a constant lr: each update is
    p -= lr * g, which a test can repeat by hand."""
    examples, V_src, V_tgt = data
    cfg = ModelConfig(src_vocab=V_src, tgt_vocab=V_tgt, emb=6, hidden=8)
    opts = dict(epochs=1, batch_size=16, optimizer="sgd", lr=0.5, lr_schedule="constant",
                metric="loss", patience=0) | train_kw  # fmt: skip
    return Trainer(Seq2Seq(cfg, seed=0, dtype=F64), TrainConfig(**opts), examples,
                   lambda m: {"loss": 0.0}, out, meta={}, progress=False)  # fmt: skip


def by_hand(trainer: Trainer) -> tuple[dict, list[float]]:
    """The parameters after the trainer's first epoch, each update made by hand from one batch
    holding the sentences of its group (clipped, frozen embeddings left out), and the updates'
    gradient norms."""
    t = trainer.tcfg
    examples, model = trainer.train, tiny_copy(trainer.model)
    norms = []
    for group in groups(trainer.epoch_batches(0), t.accum_steps):
        index = np.concatenate([b.index for b in group])
        _, g = model.loss_and_grads(make_batch([examples[i] for i in index], index))
        g = {k: v for k, v in g.items() if k not in FROZEN[t.freeze_embeddings]}
        norms.append(global_norm(g))
        if t.clip > 0 and norms[-1] > t.clip:
            g = {k: v * (t.clip / (norms[-1] + 1e-6)) for k, v in g.items()}
        for k, v in g.items():
            model.params[k] -= t.lr * v
    return model.params, norms


def tiny_copy(model: Seq2Seq) -> Seq2Seq:
    return Seq2Seq(model.cfg, {k: v.copy() for k, v in model.params.items()}, dtype=F64)


@pytest.mark.parametrize(
    "kw",
    [dict(accum_steps=2, clip=0.0), dict(accum_steps=3, clip=0.5, freeze_embeddings="src"),
     dict(accum_steps=5, clip=0.0), dict(accum_steps=7, clip=0.0)],
)  # fmt: skip
def test_each_update_is_that_of_one_batch_of_its_groups_sentences(data, tmp_path, kw):
    """5 batches of 16: K = 2 and 3 leave a short last group, 5 is the whole epoch in one
    update, 7 is more than the epoch has. Clipping and freezing act on the combined gradient,
    and the logged gradient norms are the updates'."""
    trainer = sgd_trainer(data, tmp_path, **kw)
    want, norms = by_hand(trainer)
    trainer.fit()
    assert trainer.state["step"] == len(norms) == -(-5 // kw["accum_steps"])
    for k in want:
        np.testing.assert_allclose(trainer.model.params[k], want[k], rtol=1e-9, err_msg=k)
    record = json.loads((tmp_path / "log.jsonl").read_text())
    assert record["step"] == len(norms)
    assert record["grad_norm"] == pytest.approx(np.mean(norms), rel=1e-9)
    assert record["grad_norm_max"] == pytest.approx(max(norms), rel=1e-9)


def test_accum_steps_1_trains_as_one_batch_per_update_bit_for_bit(data, tmp_path):
    trainer = sgd_trainer(data, tmp_path, clip=0.5)
    want, norms = by_hand(trainer)
    trainer.fit()
    assert trainer.state["step"] == len(norms) == 5
    for k in want:
        np.testing.assert_array_equal(trainer.model.params[k], want[k], err_msg=k)


def test_the_train_loss_is_the_epochs_token_mean_and_schedules_count_updates(data, tmp_path):
    """Warmup's lr moves once per update (s = k + 1), and the epoch's train loss is the mean
    over all its target tokens, as without accumulation."""
    trainer = make_trainer(data, tmp_path, accum_steps=2, lr=0.1, lr_schedule="warmup",
                           warmup_steps=4)  # fmt: skip
    lrs, batch_losses, loss_and_grads = [], [], trainer.model.loss_and_grads
    real_step = trainer.optimizer.step

    def spy_loss_and_grads(batch, **kw):
        loss, grads = loss_and_grads(batch, **kw)
        batch_losses.append((trainer.state["epoch"], loss, batch.n_tokens))
        return loss, grads

    def spy_step(params, grads):
        lrs.append(trainer.optimizer.lr)
        real_step(params, grads)

    trainer.model.loss_and_grads, trainer.optimizer.step = spy_loss_and_grads, spy_step
    trainer.fit()
    assert len(batch_losses) == 15 and len(lrs) == 9  # 3 epochs of 5 batches, 3 updates each
    assert lrs == pytest.approx([0.1 * min((k + 1) / 4, (4 / (k + 1)) ** 0.5) for k in range(9)])
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6, 9]
    for e, r in enumerate(records):
        epoch = [(loss, n) for ep, loss, n in batch_losses if ep == e]
        want = sum(loss * n for loss, n in epoch) / sum(n for _, n in epoch)
        assert r["train_loss"] == pytest.approx(want, rel=1e-12)


def test_max_steps_counts_updates_and_resume_is_bit_for_bit(data, tmp_path, tmp_path_factory):
    full, full_out = uninterrupted(data, tmp_path_factory, accum_steps=2)
    first = make_trainer(data, tmp_path / "split", accum_steps=2, max_steps=4)
    first.fit()
    assert (first.state["epoch"], first.state["step"], first.state["batch"]) == (1, 4, 2)
    second = make_trainer(data, tmp_path / "split", accum_steps=2)
    assert second.resume()
    second.fit()
    assert_same_run(full, second)
    assert train_losses(tmp_path / "split") == train_losses(full_out)


@POSIX_MAIN
def test_ctrl_c_inside_a_group_finishes_the_update_and_resume_is_exact(
    data, tmp_path, tmp_path_factory, monkeypatch
):
    """A SIGINT during the second batch of update 5 (epoch 2's second group) is held until that
    update is made: the checkpoint lands on a group boundary and resumes bit for bit."""
    full, full_out = uninterrupted(data, tmp_path_factory, accum_steps=2)
    run = make_trainer(data, tmp_path / "cut", accum_steps=2)
    calls = []
    interrupt_inside(monkeypatch, run.model, "loss_and_grads",
                     lambda *a: calls.append(1) or len(calls) == 9)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    monkeypatch.undo()
    state = checkpoint.load(tmp_path / "cut" / "last").trainer_state
    assert (state["epoch"], state["step"], state["batch"]) == (1, 5, 4)
    resumed = make_trainer(data, tmp_path / "cut", accum_steps=2)
    assert resumed.resume()
    resumed.fit()
    assert_same_run(full, resumed)
    assert train_losses(tmp_path / "cut") == train_losses(full_out)


def test_resume_with_another_accum_steps_is_refused(data, tmp_path):
    make_trainer(data, tmp_path, epochs=1, accum_steps=2).fit()
    with pytest.raises(ValueError, match=r"train.accum_steps=2, this run asks train.accum_steps=3"):
        make_trainer(data, tmp_path, epochs=2, accum_steps=3).resume()
    assert make_trainer(data, tmp_path, epochs=2, accum_steps=2).resume()


@pytest.mark.parametrize(
    "kw,error,message",
    [
        (dict(accum_steps=0), ValueError, "accum_steps must be >= 1; got 0"),
        (dict(accum_steps=-2), ValueError, "accum_steps must be >= 1; got -2"),
        (dict(accum_steps=2.0), TypeError, r"accum_steps must be an integer; got 2.0"),
    ],
)
def test_a_bad_accum_steps_is_refused(kw, error, message):
    with pytest.raises(error, match=message):
        TrainConfig(**kw)


def test_the_accum_steps_option(tmp_path, capsys):
    """--accum-steps reaches the run (64 pairs in batches of 32, 2 batches: one update an
    epoch), --help says what it does, and a resume with another value is refused."""
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "effective batch of K x --batch-size" in " ".join(capsys.readouterr().out.split())
    out = str(tmp_path / "r")
    assert main(["train", *TINY, "--out", out, "--accum-steps", "2"]) == 0
    state = json.loads((tmp_path / "r" / "last" / "state.json").read_text())
    assert state["config"]["train"]["accum_steps"] == 2
    assert state["trainer_state"]["step"] == 1
    capsys.readouterr()
    again = ["--out", out, "--resume", "--epochs", "2", "--accum-steps", "1"]
    assert main(["train", *TINY, *again]) == 2
    assert "train.accum_steps=2, this run asks train.accum_steps=1" in capsys.readouterr().err

"""The trainer: exact resume (after a stop, after Ctrl-C), non-finite loss, config mismatch."""

import io
import json
import os
import re
import signal
import sys
import threading
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from minis2s import backend
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.tasks import get_task
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import checkpoint, runlog
from minis2s.train.config import TrainConfig
from minis2s.train.grad_norm import global_norm
from minis2s.train.interrupts import StopNow
from minis2s.train.trainer import NonFiniteLoss, Trainer

TOK = get_tokenizer("char")


@pytest.fixture
def no_fsync(monkeypatch):
    """Checkpoints saved without fsync, for tests of what a run writes and how it resumes: an
    fsync changes nothing the files hold (it makes them survive a power cut: test_kill9 and
    test_disk_errors test saves as they are), and was a tenth to a fifth of these tests' time."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


pytestmark = pytest.mark.usefixtures("no_fsync")


@pytest.fixture(scope="module")
def data():
    pairs = get_task("reverse-digits").generate(seed=0)["train"][:80]
    src = Vocab.build([TOK.tokenize(s) for s, _ in pairs])
    tgt = Vocab.build([TOK.tokenize(t) for _, t in pairs])
    examples, _ = encode_pairs(pairs, src, tgt, TOK)
    return examples, len(src), len(tgt)


# Dropout, scheduled sampling and a plateau schedule: every source of state is exercised.
TRAINER_OPTIONS = dict(epochs=3, batch_size=16, metric="loss", teacher_forcing=0.7,
                       lr_schedule="plateau", lr_patience=0, patience=0)  # fmt: skip


def make_trainer(data, out, hidden=8, vocabs=None, **train_kw):
    examples, V_src, V_tgt = data
    cfg = ModelConfig(src_vocab=V_src, tgt_vocab=V_tgt, emb=6, hidden=hidden, dropout=0.2)
    model = Seq2Seq(cfg, seed=0)
    dev = batches(examples[:16], batch_size=16)

    def evaluate(m):
        total, n = (sum(x) for x in zip(*(m.nll(b) for b in dev), strict=True))
        return {"loss": total / n}

    opts = TRAINER_OPTIONS | train_kw
    meta = {"model": cfg.to_dict(), "train": TrainConfig(**opts).to_dict()}
    return Trainer(model, TrainConfig(**opts), examples, evaluate, out, meta=meta,
                   vocabs=vocabs, progress=False)  # fmt: skip


_UNINTERRUPTED: dict = {}  # (id(data), backend, options) -> (data, trainer, out)


def uninterrupted(data, tmp_path_factory, **train_kw) -> tuple[Trainer, Path]:
    """make_trainer(data, out, **train_kw) trained to its end, and its run directory `out`: the
    run that a cut and resumed run must end as. Several tests compare with the same one, so it
    is trained once per session for each `data` and options; read it, never change it."""
    options = json.dumps(TrainConfig(**TRAINER_OPTIONS | train_kw).to_dict())
    key = (id(data), backend.current().name, options)  # another backend rounds otherwise
    if key not in _UNINTERRUPTED:
        out = tmp_path_factory.mktemp("uninterrupted") / "full"
        full = make_trainer(data, out, **train_kw)
        full.fit()
        _UNINTERRUPTED[key] = (data, full, out)  # `data` kept alive, so its id stays its own
    _, full, out = _UNINTERRUPTED[key]
    return full, out


def assert_same_run(a: Trainer, b: Trainer):
    for k in a.model.params:
        np.testing.assert_array_equal(a.model.params[k], b.model.params[k], err_msg=k)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    assert a.state == b.state
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_stop_and_resume_is_bit_for_bit(data, tmp_path, tmp_path_factory):
    full, _ = uninterrupted(data, tmp_path_factory)
    first = make_trainer(data, tmp_path / "split", max_steps=7)  # stops inside epoch 2
    first.fit()
    assert first.state["step"] == 7 and first.state["batch"] == 2
    second = make_trainer(data, tmp_path / "split")
    assert second.resume()
    second.fit()
    assert_same_run(full, second)


def test_ctrl_c_saves_and_resume_matches(data, tmp_path, tmp_path_factory, monkeypatch, capsys):
    full, full_out = uninterrupted(data, tmp_path_factory)
    run = make_trainer(data, tmp_path / "cut")
    real_step = Trainer.step

    def step_then_interrupt(self, batch):
        if self.state["step"] == 8:
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    monkeypatch.setattr(Trainer, "step", real_step)
    assert checkpoint.load(tmp_path / "cut" / "last").trainer_state["step"] == 8
    # a Trainer of the caller's own says how it goes on (pipeline.train and the command line
    # name their own ways: tests/test_api.py, tests/test_sigterm.py)
    said = f"interrupted: checkpoint saved to {tmp_path / 'cut'}/last; to go on, build the " \
        "Trainer again and call its resume() before fit()"  # fmt: skip
    assert said in capsys.readouterr().out
    resumed = make_trainer(data, tmp_path / "cut")
    assert resumed.resume()
    resumed.fit()
    assert_same_run(full, resumed)
    assert train_losses(tmp_path / "cut") == train_losses(full_out)


def train_losses(out) -> list[tuple[float, ...]]:
    """Each logged epoch's train_loss and gradient norms (after checking its tokens_per_s is a
    real rate)."""
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all(r["tokens_per_s"] > 0 for r in records)
    keys = ("train_loss", "grad_norm", "grad_norm_max", "clipped")
    return [tuple(r[k] for k in keys) for r in records]


def test_ctrl_c_during_the_dev_evaluation_logs_the_whole_epoch(data, tmp_path, tmp_path_factory):
    """Interrupted after its last batch, while the dev set is scored: the resumed run logs the
    epoch's train_loss over all its batches (it once logged 0 and a rate of 0)."""
    full, full_out = uninterrupted(data, tmp_path_factory, epochs=2)
    run = make_trainer(data, tmp_path / "cut", epochs=2)
    evaluate = run.evaluate

    def interrupt_in_epoch_2(model):
        if run.state["epoch"] == 1:
            raise KeyboardInterrupt
        return evaluate(model)

    run.evaluate = interrupt_in_epoch_2
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    resumed = make_trainer(data, tmp_path / "cut", epochs=2)
    assert resumed.resume() and resumed.state["batch"] == 5  # 80 pairs in batches of 16
    resumed.fit()
    assert_same_run(full, resumed)
    assert train_losses(tmp_path / "cut") == train_losses(full_out)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(data, tmp_path, monkeypatch):
    run = make_trainer(data, tmp_path / "nan", epochs=1)
    run.fit()
    good = checkpoint.load(tmp_path / "nan" / "last")
    run = make_trainer(data, tmp_path / "nan", epochs=2)
    assert run.resume()
    real = Seq2Seq.loss_and_grads
    monkeypatch.setattr(Seq2Seq, "loss_and_grads",
                        lambda self, b, **kw: (float("nan"), real(self, b, **kw)[1]))  # fmt: skip
    with pytest.raises(NonFiniteLoss, match="last good checkpoint"):
        run.fit()
    after = checkpoint.load(tmp_path / "nan" / "last")
    for k in good.params:
        np.testing.assert_array_equal(good.params[k], after.params[k])
    assert after.trainer_state == good.trainer_state


def test_resume_with_another_model_config_is_refused(data, tmp_path):
    make_trainer(data, tmp_path / "r", epochs=1).fit()
    other = make_trainer(data, tmp_path / "r", hidden=12)
    with pytest.raises(ValueError, match="hidden"):
        other.resume()


def test_training_reduces_the_loss(data, tmp_path):
    run = make_trainer(data, tmp_path / "learn", epochs=6, lr=0.02)
    before = run.evaluate(run.model)["loss"]
    after = run.fit()["loss"]
    assert after < before - 0.1


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(clip=-1.0), "clip must be a finite number >= 0"),
        (dict(clip=float("inf")), "clip must be a finite number >= 0"),
        (dict(max_steps=-5), "max_steps must be >= 0"),
        (dict(dev_size=0), "dev_size must be >= 1"),
        (dict(batch_size=-5), "batch_size must be >= 0"),
        (dict(label_smoothing=-0.1), r"label_smoothing must be in \[0, 1\)"),
        (dict(label_smoothing=1.0), r"label_smoothing must be in \[0, 1\) \(1 would train towa"),
        (dict(seed=-1), "seed must be >= 0"),
        (dict(eval_every=-1), "eval_every must be >= 0; got -1"),
        (dict(tokens_per_batch=500), "pass batch_size=0 with tokens_per_batch"),
        (dict(batch_size=0), "set exactly one of batch_size and tokens_per_batch"),
        (dict(optimizer="Adam", momentum=0.9), "momentum and nesterov are for optimizer='sgd'"),
        (dict(optimizer="adamw", nesterov=True), "momentum and nesterov are for optimizer='sgd'"),
        (dict(optimizer="rmsprop"), "optimizer='rmsprop'; choose one of sgd, adam, adamw"),
        (dict(lr_schedule="cosine"), "lr_schedule='cosine'; choose one of constant"),
        (dict(sampling_schedule="cubic"), "sampling_schedule='cubic'; choose one of constant"),
        (dict(lr=0.0), "lr must be a finite number > 0"),
        (dict(lr=float("nan")), "lr must be a finite number > 0"),
        (dict(weight_decay=-1.0), "weight_decay must be a finite number >= 0"),
        (dict(weight_decay=float("inf")), "weight_decay must be a finite number >= 0"),
        (dict(lr_schedule="exponential", lr_decay=0.0), r"lr_decay must be in \(0, 1\] for"),
        (dict(lr_decay=1.0), r"lr_decay must be in \(0, 1\) for lr_schedule='plateau'"),
        (dict(lr_patience=-1), "lr_patience must be >= 0"),
        (dict(min_lr=-1e-5), r"min_lr must be in \[0, lr\] = \[0, 0.002\]; got -1e-05"),
        (dict(lr=1e-3, min_lr=2e-3), r"min_lr must be in \[0, lr\]"),
        (dict(lr_schedule="warmup", warmup_steps=0), "warmup_steps must be >= 1"),
        (dict(teacher_forcing=0.5, sampling_schedule="exponential"), r"sampling_k must be in \(0"),
        (dict(teacher_forcing=0.5, sampling_schedule="inverse_sigmoid", sampling_k=0.5), ">= 1"),
        (
            dict(teacher_forcing=0.5, sampling_schedule="inverse_sigmoid", sampling_k=float("inf")),
            "sampling_k must be a finite number >= 1",
        ),
        (dict(teacher_forcing=0.5, sampling_schedule="linear", sampling_steps=0), "sampling_steps"),
    ],
)
def test_a_bad_train_config_is_refused_before_any_work(kw, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kw)


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(epochs=1.5), r"epochs must be an integer; got 1.5 \(float\)"),
        (dict(batch_size="64"), r"batch_size must be an integer; got '64' \(str\)"),
        (dict(lr="1e-3"), "lr must be a number"),
        (dict(patience=True), "patience must be an integer; got True"),
        (dict(eval_every=2.5), r"eval_every must be an integer; got 2.5 \(float\)"),
        (dict(nesterov=1), "nesterov must be True or False"),
    ],
)
def test_a_train_config_value_of_the_wrong_type_is_named(kw, message):
    with pytest.raises(TypeError, match=message):
        TrainConfig(**kw)
    TrainConfig(epochs=np.int64(3), lr=np.float32(1e-3), seed=np.int32(1))  # NumPy scalars do


def test_sgd_momentum_reaches_the_optimizer_whatever_the_name_case(data, tmp_path):
    trainer = make_trainer(data, tmp_path / "r", optimizer="SGD", momentum=0.9, nesterov=True)
    assert (trainer.optimizer.momentum, trainer.optimizer.nesterov) == (0.9, True)


def test_resume_may_change_when_to_stop_but_not_how_to_train(data, tmp_path):
    make_trainer(data, tmp_path / "r", epochs=1).fit()
    assert make_trainer(data, tmp_path / "r", epochs=3, max_steps=50, patience=2).resume()
    with pytest.raises(ValueError, match=r"train.lr=0.002, this run asks train.lr=0.05"):
        make_trainer(data, tmp_path / "r", epochs=3, lr=0.05).resume()


@pytest.mark.parametrize("schedule", ["exponential", "plateau"])
def test_the_lr_schedule_stops_at_min_lr(data, tmp_path, schedule):
    """lr_decay 0.1 at each of 3 epochs' ends (plateau: lr_patience 0, a metric that never
    improves after the first) takes 2e-3 below 1e-4 (to 2e-6, plateau 2e-5); min_lr holds it
    at 1e-4."""
    trainer = make_trainer(data, tmp_path / schedule, lr_schedule=schedule, lr_decay=0.1,
                           min_lr=1e-4, teacher_forcing=1.0)  # fmt: skip
    trainer.evaluate = lambda m: {"loss": 1.0}
    trainer.fit()
    assert trainer.optimizer.lr == pytest.approx(1e-4)
    floorless = make_trainer(data, tmp_path / f"{schedule}0", lr_schedule=schedule, lr_decay=0.1,
                             teacher_forcing=1.0)  # fmt: skip
    floorless.evaluate = lambda m: {"loss": 1.0}
    floorless.fit()
    assert floorless.optimizer.lr < 5e-5


def test_a_checkpoint_from_before_a_config_field_resumes(data, tmp_path):
    """A field added to TrainConfig or ModelConfig after a run was saved (min_lr here) is taken
    at its default, which is how that run trained, so the run still resumes."""
    make_trainer(data, tmp_path / "r", epochs=1).fit()
    state = tmp_path / "r" / "last" / "state.json"
    saved = json.loads(state.read_text())
    del saved["config"]["train"]["min_lr"], saved["config"]["model"]["forget_bias"]
    state.write_text(json.dumps(saved))
    assert make_trainer(data, tmp_path / "r", epochs=2).resume()
    with pytest.raises(ValueError, match="train.min_lr=0.0, this run asks train.min_lr=0.001"):
        make_trainer(data, tmp_path / "r", epochs=2, min_lr=1e-3).resume()


def test_resume_with_other_vocabularies_of_the_same_sizes_is_refused(data, tmp_path):
    """The config holds only the vocabularies' sizes; ids mean other tokens under another
    vocabulary of the same size, so the trainer compares the vocabularies themselves."""
    tokens = [str(d) for d in range(10)]
    v, shuffled = Vocab(tokens), Vocab(tokens[::-1])
    make_trainer(data, tmp_path / "r", epochs=1, vocabs={"tgt": v.to_dict()}).fit()
    assert make_trainer(data, tmp_path / "r", epochs=2, vocabs={"tgt": v.to_dict()}).resume()
    with pytest.raises(ValueError, match="vocabularies differ from those of the checkpoint"):
        make_trainer(data, tmp_path / "r", epochs=2, vocabs={"tgt": shuffled.to_dict()}).resume()


def test_a_resumed_run_uses_its_new_patience(data, tmp_path):
    """patience may change on resume (RESUMABLE): the early-stopping count goes on from the
    checkpoint, against the new patience (the checkpoint's state held the old one)."""
    make_trainer(data, tmp_path / "r", epochs=1, patience=2).fit()
    resumed = make_trainer(data, tmp_path / "r", epochs=3, patience=7)
    assert resumed.resume() and resumed.stopper.patience == 7


@pytest.mark.parametrize(
    "first, again, why",
    [
        (dict(epochs=1), dict(epochs=1), "it has trained its 1 epoch;"),
        (dict(max_steps=3), dict(max_steps=3), "it has made its 3 updates"),
        (dict(max_steps=3), dict(max_steps=2), "it has made its 2 updates"),
        (dict(max_steps=3), dict(max_steps=1), "it has made its 1 update;"),
    ],
)
def test_resuming_a_run_that_has_stopped_trains_nothing_and_says_why(
    data, tmp_path, first, again, why
):
    """Not one more update (the step loop checked max_steps only after an update)."""
    make_trainer(data, tmp_path / "r", **first).fit()
    before = checkpoint.load(tmp_path / "r" / "last")
    resumed = make_trainer(data, tmp_path / "r", **again)
    assert resumed.resume()
    with pytest.warns(UserWarning, match=f"nothing to train in .*: {why}"):
        assert resumed.fit() == {}
    assert resumed.state["step"] == before.trainer_state["step"]
    for k, v in before.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v, err_msg=k)


def test_resuming_an_early_stopped_run_needs_a_larger_patience(data, tmp_path):
    flat = lambda model: {"loss": 1.0}  # noqa: E731  no epoch improves on the first
    run = make_trainer(data, tmp_path / "r", epochs=5, patience=1)
    run.evaluate = flat
    run.fit()
    assert run.state["epoch"] == 2
    again = make_trainer(data, tmp_path / "r", epochs=5, patience=1)
    again.evaluate = flat
    assert again.resume()
    with pytest.warns(UserWarning, match="early stopping ended it .*larger TrainConfig patience"):
        again.fit()
    longer = make_trainer(data, tmp_path / "r", epochs=5, patience=2)
    longer.evaluate = flat
    assert longer.resume() and longer.finished() is None
    longer.fit()
    assert longer.state["epoch"] == 3


def test_early_stopping_says_why_the_run_ended_before_its_epochs(data, tmp_path, capsys):
    losses = iter([0.5, 0.4, 0.6, 0.7, 0.1])  # epoch 2 is the best; 3 and 4 do not improve on it
    run = make_trainer(data, tmp_path / "r", epochs=5, patience=2)
    run.evaluate, run.progress = (lambda model: {"loss": next(losses)}), True
    run.fit()
    assert run.state["epoch"] == 4
    out = capsys.readouterr().out
    assert (f"early stopping: no better dev loss in 2 epochs, so training ended after epoch 4 of "
            f"5; the best model (dev loss 0.4) is in {tmp_path / 'r'}/best") in out  # fmt: skip
    quiet = make_trainer(data, tmp_path / "q", epochs=5, patience=1)  # progress=False: no lines
    quiet.evaluate = lambda model: {"loss": 1.0}
    quiet.fit()
    assert quiet.state["epoch"] == 2 and capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "exact,losses,best_epoch,lrs,stopped",
    [
        # exact match stuck at 0 while the loss falls: progress, every epoch a new best
        ([0.0] * 4, [2.0, 1.5, 1.2, 1.0], 4, [2e-3] * 4, False),
        # at 1.0 from epoch 1 and the loss rising: no progress; the lr halves after each epoch
        # but the first (lr_patience 0) and patience 2 stops the run after epoch 3 (an epoch
        # logs the lr it trained with)
        ([1.0] * 4, [0.1, 0.2, 0.3, 0.4], 1, [2e-3, 2e-3, 1e-3], True),
        # a better metric wins over a lower loss; then a tie at a lower loss is a new best
        ([0.5, 0.6, 0.6, 0.6], [1.0, 1.1, 1.2, 0.9], 4, [2e-3, 2e-3, 2e-3, 1e-3], False),
    ],
)
def test_the_dev_loss_breaks_ties_of_the_metric(
    data, tmp_path, capsys, exact, losses, best_epoch, lrs, stopped
):
    """Early stopping, the plateau schedule and best/ order epochs by the metric, then by the
    dev loss: exact match at 0 for a model learning real sentences, or at 1.0 for one still
    sharpening, does not call the run stalled while the loss says otherwise."""
    figures = iter([{"exact_match": e, "loss": lo} for e, lo in zip(exact, losses, strict=True)])
    run = make_trainer(data, tmp_path / "r", epochs=4, metric="exact_match", patience=2,
                       lr_patience=0)  # fmt: skip
    run.evaluate, run.progress = (lambda m: next(figures)), True
    run.fit()
    logged = [json.loads(ln) for ln in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [line["lr"] for line in logged] == pytest.approx(lrs)
    best = checkpoint.load(tmp_path / "r" / "best")
    assert best.trainer_state["epoch"] == best_epoch
    out = capsys.readouterr().out
    assert ("early stopping: no better dev exact_match (nor an equal one at a lower dev loss) in "
            "2 epochs, so training ended after epoch 3 of 4; the best model (dev exact_match 1, "
            "dev loss 0.1) is in" in out) == stopped  # fmt: skip


def test_a_sampling_schedule_without_scheduled_sampling_is_never_read(data, tmp_path):
    """teacher_forcing = 1 caps the sampling probability at 0: the schedule's own parameters
    (here the default sampling_k, invalid for "exponential") are not read, at any step."""
    run = make_trainer(data, tmp_path / "r", epochs=1, teacher_forcing=1.0,
                       sampling_schedule="exponential")  # fmt: skip
    run.fit()
    assert run.state["step"] > 0


def test_non_finite_loss_before_any_checkpoint_says_so(data, tmp_path, monkeypatch):
    run = make_trainer(data, tmp_path / "nan0", epochs=1)
    real = Seq2Seq.loss_and_grads
    monkeypatch.setattr(Seq2Seq, "loss_and_grads",
                        lambda self, b, **kw: (float("inf"), real(self, b, **kw)[1]))  # fmt: skip
    with pytest.raises(NonFiniteLoss, match="step 0: .*no checkpoint was written yet"):
        run.fit()
    assert not checkpoint.exists(tmp_path / "nan0" / "last")


def test_an_update_that_overflows_the_parameters_is_never_saved(data, tmp_path):
    """lr 1e300 passes TrainConfig (finite, > 0) but its first update overflows float32: the
    max_steps save refuses parameters that hold infinity rather than write a checkpoint that
    can neither translate nor resume."""
    run = make_trainer(data, tmp_path / "inf", optimizer="sgd", lr=1e300, max_steps=1,
                       lr_schedule="constant", teacher_forcing=1.0)  # fmt: skip
    with pytest.raises(NonFiniteLoss, match=r"step 1: the parameters hold NaN or infinity .*not "
                       r"saved to last/.*no checkpoint was written yet"):  # fmt: skip
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow this test makes
            run.fit()
    assert not checkpoint.exists(tmp_path / "inf" / "last")


def test_a_non_finite_dev_loss_stops_without_saving_the_epoch(data, tmp_path):
    """Parameters can be finite and still overflow on use (lr 1e38 did): the dev loss says so,
    and the last checkpoint stays the epoch before."""
    run = make_trainer(data, tmp_path / "dev", epochs=2)
    losses = iter([1.0, float("nan")])
    run.evaluate = lambda m: {"loss": next(losses)}
    with pytest.raises(NonFiniteLoss, match="epoch 2: dev loss nan: the model has diverged.*"
                       "last good checkpoint is kept in"):  # fmt: skip
        run.fit()
    last = checkpoint.load(tmp_path / "dev" / "last")
    assert last.trainer_state["epoch"] == 1
    assert len((tmp_path / "dev" / "log.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize("loss", [710.0, 2.7e20])
def test_a_dev_loss_whose_perplexity_overflows_stops_as_diverged(data, tmp_path, loss):
    """A finite dev loss above log(float64 max) = 709.78 nats a token (lr 1e20 gave 2.7e20 on
    an AVX-512 CPU, where another CPU's overflows gave NaN) is a diverged model too."""
    run = make_trainer(data, tmp_path / "dev", epochs=2)
    losses = iter([1.0, loss])
    run.evaluate = lambda m: {"loss": next(losses)}
    said = f"epoch 2: dev loss {loss:.4g} nats a token, a perplexity past float64's range: "
    with pytest.raises(NonFiniteLoss, match=re.escape(said + "the model has diverged")):
        run.fit()
    assert checkpoint.load(tmp_path / "dev" / "last").trainer_state["epoch"] == 1


def test_a_dev_loss_just_below_the_overflow_trains_on(data, tmp_path):
    """709 nats is absurd but its perplexity, 8.2e307, is a float64: the rule is the overflow."""
    run = make_trainer(data, tmp_path / "dev", epochs=2)
    run.evaluate = lambda m: {"loss": 709.0}
    run.fit()
    assert run.state["epoch"] == 2


def test_a_gradient_too_large_to_square_stops_when_clipping_is_off(data, tmp_path, monkeypatch):
    """Without --clip a float32 gradient above sqrt(3.4e38) = 1.8e19 would make Adam's g * g
    infinite and freeze that weight for good, with every loss still finite."""
    run = make_trainer(data, tmp_path / "big", clip=0.0)
    real = Seq2Seq.loss_and_grads

    def huge(self, b, **kw):
        loss, grads = real(self, b, **kw)
        return loss, {k: g * np.float32(1e22) for k, g in grads.items()}

    monkeypatch.setattr(Seq2Seq, "loss_and_grads", huge)
    with pytest.raises(NonFiniteLoss, match=r"step 0: gradient norm .*e\+2\d, beyond what "
                       r"float32 can square.*--clip \(it is off\)"):  # fmt: skip
        run.fit()
    make_trainer(data, tmp_path / "clipped", epochs=1, clip=5.0).fit()  # clipped: trains


@pytest.mark.parametrize("schedule", ["constant", "linear", "exponential", "inverse_sigmoid"])
def test_sampling_never_passes_one_minus_teacher_forcing(schedule):
    """teacher_forcing = 0.8 caps the sampled share at 0.2 under every schedule, which reaches
    the cap in the end; teacher_forcing = 1 never samples."""
    from minis2s.train.config import sampling_eps

    k = {"exponential": 0.9, "inverse_sigmoid": 2.0}.get(schedule, 500.0)
    t = TrainConfig(teacher_forcing=0.8, sampling_schedule=schedule, sampling_k=k,
                    sampling_steps=50)  # fmt: skip
    eps = [sampling_eps(t, step) for step in range(0, 100_001, 50)]
    assert all(0.0 <= e <= 0.2 for e in eps) and eps[-1] == pytest.approx(0.2)
    assert eps == sorted(eps)  # a schedule only raises the share
    pure = TrainConfig(sampling_schedule=schedule, sampling_k=k, sampling_steps=50)
    assert all(sampling_eps(pure, step) == 0.0 for step in (0, 10, 10**5))


POSIX_MAIN = pytest.mark.skipif(
    os.name != "posix" or threading.current_thread() is not threading.main_thread(),
    reason="sends this process SIGINT, which only POSIX delivers as a signal to the main thread",
)


def interrupt_inside(monkeypatch, owner, name, when, times=1):
    """Make owner.name send this process a real SIGINT midway (before its real work) when
    when(*args) holds: Python raises KeyboardInterrupt wherever it then is."""
    real = getattr(owner, name)

    def sending(*args, **kw):
        if when(*args):
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, sending)


@POSIX_MAIN
def test_ctrl_c_inside_an_update_finishes_it_and_resume_is_exact(
    data, tmp_path, tmp_path_factory, monkeypatch
):
    """A SIGINT that lands inside the optimizer's step (after dropout and sampling drew, with
    some parameters updated and others not) is held until the update is whole: the checkpoint
    Ctrl-C writes resumes bit for bit (it differed by ~1e-2 when the update was cut)."""
    full, full_out = uninterrupted(data, tmp_path_factory)
    run = make_trainer(data, tmp_path / "cut")
    interrupt_inside(monkeypatch, type(run.optimizer), "step", lambda opt, *a: opt.t == 7)
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    monkeypatch.undo()
    assert checkpoint.load(tmp_path / "cut" / "last").trainer_state["step"] == 8  # whole
    resumed = make_trainer(data, tmp_path / "cut")
    assert resumed.resume()
    resumed.fit()
    assert_same_run(full, resumed)
    assert train_losses(tmp_path / "cut") == train_losses(full_out)


@POSIX_MAIN
def test_ctrl_c_inside_the_best_save_still_writes_best(
    data, tmp_path, tmp_path_factory, monkeypatch
):
    """Interrupted while best/ was written, the epoch's saves ran to the end: best/ is not left
    older than the state that says it is the best."""
    _, full_out = uninterrupted(data, tmp_path_factory, epochs=2)
    run = make_trainer(data, tmp_path / "cut", epochs=2)
    saving_best_2 = lambda path, *a: str(path).endswith("best") and run.state["epoch"] == 2  # noqa: E731
    interrupt_inside(monkeypatch, checkpoint, "save", saving_best_2)
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    monkeypatch.undo()
    for which in ("best", "last"):
        got, want = (checkpoint.load(d / which) for d in (tmp_path / "cut", full_out))
        assert got.trainer_state["epoch"] == want.trainer_state["epoch"] == 2
        for k in want.params:
            np.testing.assert_array_equal(got.params[k], want.params[k], err_msg=k)


@POSIX_MAIN
def test_a_second_ctrl_c_stops_mid_update_and_saves_nothing(data, tmp_path, monkeypatch):
    """Ctrl-C twice inside an update stops at once (a compile or a hang must not make Ctrl-C
    useless), and what is in memory, half an update, is not saved as a checkpoint."""
    run = make_trainer(data, tmp_path / "stop", epochs=2)
    interrupt_inside(monkeypatch, type(run.optimizer), "step", lambda opt, *a: opt.t == 2, times=2)
    with pytest.raises(StopNow):
        run.fit()
    assert not checkpoint.exists(tmp_path / "stop" / "last")


def test_a_resume_mends_the_log_after_a_crash_between_save_and_log(
    data, tmp_path, tmp_path_factory, monkeypatch
):
    """The log line comes after its checkpoint, and the checkpoint keeps it: a crash in
    between (here in the log's write), or a torn last line, is mended by the resume, so each
    epoch has one line (a line used to come twice, or not at all, or stop plot --log)."""
    full, full_out = uninterrupted(data, tmp_path_factory, epochs=3)
    run = make_trainer(data, tmp_path / "cut", epochs=3)
    real = runlog.append

    def crash_at_epoch_2(out_dir, record):
        if record["epoch"] == 2:
            raise OSError("disk full")
        real(out_dir, record)

    monkeypatch.setattr(runlog, "append", crash_at_epoch_2)
    with pytest.raises(OSError, match="disk full"):
        run.fit()
    monkeypatch.undo()
    with open(tmp_path / "cut" / "log.jsonl", "a") as f:
        f.write('{"epoch": 2, "step": 1')  # and a torn line after it
    resumed = make_trainer(data, tmp_path / "cut", epochs=3)
    assert resumed.resume() and resumed.state["epoch"] == 2
    resumed.fit()
    assert_same_run(full, resumed)
    assert train_losses(tmp_path / "cut") == train_losses(full_out)
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "cut" / "log.jsonl").open()]
    assert epochs == [1, 2, 3]


def test_a_save_cut_between_its_renames_resumes(data, tmp_path):
    """A crash between a save's two renames leaves the old checkpoint at .last.old, which
    checkpoint.load reads: the trainer resumes from it too (it looked only for last/)."""
    run = make_trainer(data, tmp_path / "r", epochs=1)
    run.fit()
    (tmp_path / "r" / "last").rename(tmp_path / "r" / ".last.old")
    again = make_trainer(data, tmp_path / "r", epochs=2)
    assert again.resume() and again.state["epoch"] == 1


def test_resuming_on_another_backend_warns_that_it_is_not_bit_exact(data, tmp_path):
    run = make_trainer(data, tmp_path / "b", epochs=1)
    run.meta["backend"] = "numpy"
    run.fit()
    again = make_trainer(data, tmp_path / "b", epochs=2)
    again.meta["backend"] = "numba"
    with pytest.warns(UserWarning, match="trained on the numpy backend on the numba backend"):
        assert again.resume()
    same = make_trainer(data, tmp_path / "b", epochs=2)
    same.meta["backend"] = "numpy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert same.resume()


def test_max_steps_at_the_end_of_an_epoch_scores_and_logs_that_epoch(
    data, tmp_path, tmp_path_factory
):
    """80 pairs in batches of 16 are 5 updates an epoch: max_steps 10 ends with epoch 2's last
    batch, and epoch 2 is scored, logged and considered for best/ like any finished epoch (it
    once stopped with epoch 2's batches all done but the epoch never closed)."""
    run = make_trainer(data, tmp_path / "r", epochs=3, max_steps=10)
    run.fit()
    assert (run.state["step"], run.state["epoch"], run.state["batch"]) == (10, 2, 0)
    assert len((tmp_path / "r" / "log.jsonl").read_text().splitlines()) == 2
    assert checkpoint.load(tmp_path / "r" / "last").trainer_state["epoch"] == 2
    full, _ = uninterrupted(data, tmp_path_factory, epochs=2)
    assert_same_run(full, run)


@pytest.mark.parametrize(
    "schedule, lr_at",  # lr_at(k, e): the schedule's formula for update k (from 0) in epoch e
    [
        ("warmup", lambda k, e: 0.1 * min((k + 1) / 4, ((4 / (k + 1)) ** 0.5))),
        ("exponential", lambda k, e: 0.1 * 0.5**e),
    ],
)
def test_every_update_gets_the_clipped_gradient_at_its_scheduled_lr(
    data, tmp_path, schedule, lr_at
):
    """Each update is given the gradient clipped to norm `clip` (min(norm, clip)), at the
    learning rate its schedule's formula gives (warmup: per update, s = k + 1; exponential: per
    epoch), and each epoch logs the token-weighted mean of its updates' losses and its lr."""
    out = tmp_path / schedule
    trainer = make_trainer(data, out, lr=0.1, clip=0.05, lr_schedule=schedule, warmup_steps=4,
                           lr_decay=0.5)  # fmt: skip
    seen, loss_and_grads, step = [], trainer.model.loss_and_grads, trainer.optimizer.step

    def spy_loss_and_grads(batch, **kw):
        loss, grads = loss_and_grads(batch, **kw)
        seen.append({"loss": loss, "n": batch.n_tokens, "raw": global_norm(grads)})
        return loss, grads

    def spy_step(params, grads):
        seen[-1] |= {
            "lr": trainer.optimizer.lr,
            "norm": global_norm(grads),
            "epoch": trainer.state["epoch"],
        }
        step(params, grads)

    trainer.model.loss_and_grads, trainer.optimizer.step = spy_loss_and_grads, spy_step
    trainer.fit()
    assert len(seen) == 3 * 5  # 80 examples in batches of 16, 3 epochs
    for k, s in enumerate(seen):
        assert s["lr"] == pytest.approx(lr_at(k, s["epoch"]), rel=1e-12), k
        assert s["norm"] == pytest.approx(min(s["raw"], 0.05), rel=1e-5), k
    assert all(s["raw"] > 0.05 for s in seen)  # clipping was needed at every update
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    for e, r in enumerate(records):
        epoch = [s for s in seen if s["epoch"] == e]
        want = sum(s["loss"] * s["n"] for s in epoch) / sum(s["n"] for s in epoch)
        assert r["train_loss"] == pytest.approx(want, rel=1e-12)
        assert r["lr"] == pytest.approx(epoch[-1]["lr"], rel=1e-12)


@pytest.mark.parametrize("clip", [0.0, "median"])
def test_each_epoch_logs_its_updates_gradient_norms(data, tmp_path, clip):
    """grad_norm is the mean over the epoch's updates of the global gradient norm before
    clipping, grad_norm_max the largest, and clipped (with --clip only) the share of updates
    whose norm exceeded it."""
    if clip == "median":  # a clip that some of the first epoch's updates exceed, some not
        pilot = make_trainer(data, tmp_path / "pilot", epochs=1, clip=0.0)
        norms = [pilot.step(b)[1] for b in pilot.epoch_batches(0)]
        clip = float(np.median(norms))
    trainer = make_trainer(data, tmp_path / "run", clip=clip)
    seen, loss_and_grads = [], trainer.model.loss_and_grads

    def spy(batch, **kw):
        loss, grads = loss_and_grads(batch, **kw)
        seen.append((trainer.state["epoch"], global_norm(grads)))
        return loss, grads

    trainer.model.loss_and_grads = spy
    trainer.fit()
    records = [
        json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    ]
    shares = []
    for e, r in enumerate(records):
        norms = [n for epoch, n in seen if epoch == e]
        assert len(norms) == 5  # 80 examples in batches of 16
        assert r["grad_norm"] == pytest.approx(np.mean(norms), rel=1e-12)
        assert r["grad_norm_max"] == pytest.approx(max(norms), rel=1e-12)
        if clip:
            shares.append(r["clipped"])
            assert r["clipped"] == pytest.approx(np.mean([n > clip for n in norms]))
        else:
            assert "clipped" not in r
    assert not clip or 0 < np.mean(shares) < 1


def test_each_epoch_draws_its_own_batch_order(data, tmp_path):
    """Epoch e's batches are cut as `batches` cuts them, in the order default_rng([seed, 0, e])
    draws (the module docstring's exact-resume contract), so every epoch has its own order."""
    trainer = make_trainer(data, tmp_path, batch_size=4)
    orders = [[b.index.tolist() for b in trainer.epoch_batches(e)] for e in range(3)]
    for e, order in enumerate(orders):
        rng = np.random.default_rng([trainer.tcfg.seed, 0, e])
        assert order == [b.index.tolist() for b in batches(data[0], batch_size=4, rng=rng)]
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]


def test_repair_keeps_each_earlier_steps_first_line_then_the_checkpoints_own(tmp_path):
    """runlog.repair for a resume after `step` updates: per step up to it, the first line the
    log has for it (a bool is no epoch nor step; a line needs both), in step order; the
    checkpoint's record replaces the line of its step, and a record of a later step is not
    written. A log of nothing but torn lines is emptied; no log and no record writes none. A
    log of one line per epoch (every log before --eval-every) is repaired as before."""
    log = tmp_path / runlog.NAME
    lines = ['{"epoch": true, "step": 3, "a": "bool"}', '{"epoch": 2, "step": false, "a": "b"}',
             '{"epoch": 2, "a": "no step"}', '{"epoch": 2, "step": 10, "a": "first10"}',
             '{"epoch": 1, "step": 5, "a": "first5"}', '{"epoch": 1, "step": 5, "a": "second5"}',
             '{"epoch": 3, "step": 15, "a": "later"}', '{"epoch": 2, "st']  # fmt: skip

    def repaired(step, record, lines=lines):
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        runlog.repair(str(tmp_path), step, record)
        return [json.loads(x)["a"] for x in log.read_text(encoding="utf-8").splitlines()]

    assert repaired(10, None) == ["first5", "first10"]
    assert repaired(12, None) == ["first5", "first10"]  # a checkpoint between two lines
    assert repaired(10, {"epoch": 2, "step": 10, "a": "saved"}) == ["first5", "saved"]
    assert repaired(10, {"epoch": 3, "step": 15, "a": "other"}) == ["first5", "first10"]
    assert repaired(5, {"epoch": 1, "step": 5, "a": "saved"}) == ["saved"]
    # --eval-every 2 with 5 updates an epoch: lines at steps 2, 4, 5 (epoch 1's end), 6, ...
    mid = [json.dumps({"epoch": 1 + (s > 5), "step": s, "a": s}) for s in (2, 4, 5, 6, 8)]
    assert repaired(7, {"epoch": 2, "step": 6, "a": "saved"}, lines=mid) == [2, 4, 5, "saved"]
    assert repaired(6, None, lines=[*mid[3:], *mid]) == [2, 4, 5, 6]
    log.write_text('{"epoch": 1, "st', encoding="utf-8")
    runlog.repair(str(tmp_path), 1, None)
    assert log.read_text(encoding="utf-8") == ""
    log.unlink()
    runlog.repair(str(tmp_path), 1, None)
    assert not log.exists()


class _Stream(io.StringIO):
    """A stderr that says whether it is a terminal."""

    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty,notebook", [(True, False), (False, False), (False, True)])
def test_the_progress_bar_is_drawn_on_a_terminal_or_in_a_notebook_only(
    data, tmp_path, monkeypatch, capsys, tty, notebook
):
    """Redirected to a file, a bar's redraws would be most of the log: the epoch lines stay.
    A Jupyter kernel's stderr is no terminal, but it shows the bar."""
    stderr = _Stream(tty)
    monkeypatch.setattr("sys.stderr", stderr)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    if notebook:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    run = make_trainer(data, tmp_path / "r", epochs=1)
    run.progress = True
    run.fit()
    assert ("epoch 1/1" in stderr.getvalue()) == (tty or notebook)
    assert "epoch=1 " in capsys.readouterr().out  # the epoch line, either way

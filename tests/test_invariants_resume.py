"""Resuming from a checkpoint reproduces the uninterrupted run exactly (DESIGN.md, Correctness),
as a property over the options that carry state across a resume (the optimizer's moments and
step count, the lr schedule, early stopping, scheduled sampling and dropout's random draws,
accumulation groups, --eval-every's scoring points, the batching) and over where the run is cut:
after any update by --max-steps (the first, the last, an epoch's end, a scoring point), by Ctrl-C
after any batch's pass (mid-group with --accum-steps: the update is finished first), or by
Ctrl-C during any dev evaluation: each way, at its own point, in every example. The cut run,
resumed to the end, must leave last/, best/, steps/ and the log as the uninterrupted run left
them, bit for bit but for timing figures.

The runs go through pipeline.train, as `minis2s train` and `--resume` do, on 24 reverse-digits
pairs with a 4-pair dev set and a model of width 4: each run takes a fraction of a second."""

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, given, note, settings
from hypothesis import strategies as st

from minis2s import backend, pipeline
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig
from tests.test_trainer import POSIX_MAIN

MODEL = {"emb": 4, "hidden": 4}
CUTS = ("max_steps", "ctrl_c_in_update", "ctrl_c_in_scoring")


@pytest.fixture(scope="module")
def data():
    d = pipeline.load_data(task="reverse-digits", train_size=24)
    return d._replace(dev=d.dev[:4], test=d.test[:4])  # a scoring point costs little


@st.composite
def run_options(draw) -> tuple[str, dict, TrainConfig]:
    """(backend, model options, TrainConfig): each option that a resume must carry on, drawn
    with values that make it act within a run of 2-3 epochs of 3-12 updates."""
    optimizer = draw(st.sampled_from(["adam", "sgd", "adamw"]))
    # rates high enough that the dev loss goes up and down: the plateau schedule decays, early
    # stopping ends some runs, and a resume that forgot their state would act otherwise
    opt = {"optimizer": optimizer, "lr": 0.5}
    if optimizer == "sgd":
        opt["momentum"] = draw(st.sampled_from([0.0, 0.9]))
        opt["lr"] = 1.0 if opt["momentum"] else 10.0  # the same step in the long run
        opt["nesterov"] = opt["momentum"] > 0 and draw(st.booleans())
    if optimizer == "adamw":
        opt["weight_decay"] = 0.01  # adamw without it is refused as Adam
    # plateau, the one schedule with state of its own (best, count), half the time
    schedule = draw(st.sampled_from(["plateau"] * 3 + ["warmup", "exponential", "constant"]))
    opt |= {"lr_schedule": schedule, "lr_patience": draw(st.integers(0, 2)), "warmup_steps": 3}
    if draw(st.booleans()):  # --tokens-per-batch: batches of as many sentences as fit
        opt |= {"batch_size": 0, "tokens_per_batch": draw(st.integers(24, 48))}
    else:
        opt["batch_size"] = draw(st.integers(4, 8))
    if draw(st.booleans()):  # scheduled sampling, growing over the run's updates
        opt |= {"teacher_forcing": 0.5, "sampling_steps": 6,
                "sampling_schedule": draw(st.sampled_from(["constant", "linear"]))}  # fmt: skip
    opt |= {
        "epochs": draw(st.integers(2, 3)),
        "clip": draw(st.sampled_from([0.2, 0.0])),  # 0.2: about half the updates are clipped
        "accum_steps": draw(st.integers(1, 3)),
        "eval_every": draw(st.sampled_from([0, 1, 2, 3])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1])),
        "patience": draw(st.sampled_from([0, 2, 3])),  # 2-3: early stopping may end the run
        # 1000: steps/ keeps every scoring point's checkpoint, so each is compared, not only the
        # last (a tracker's state lost at the resume shows at the next point that does not
        # improve); 2: older ones are deleted, as a resumed run must go on deleting them
        "keep_checkpoints": draw(st.sampled_from([1000, 2])),
        "metric": draw(st.sampled_from(["loss", "exact_match"])),
        "dev_size": 4,
    }
    model = MODEL | {"dropout": draw(st.sampled_from([0.3, 0.0]))}
    return draw(st.sampled_from(["numpy", "numba"])), model, TrainConfig(**opt)


def counting(mp: pytest.MonkeyPatch, name: str, calls: list, act=None) -> None:
    """Make Seq2Seq.`name` append to `calls` and, when `act(n)` is given, call it after its
    work with its 1-based call number (to interrupt the run there: after a batch's pass, dropout
    and scheduled sampling have drawn, so an update cut there would not resume exactly)."""
    real = getattr(Seq2Seq, name)

    def counted(self, *args, **kw):
        calls.append(1)
        out = real(self, *args, **kw)
        if act is not None:
            act(len(calls))
        return out

    mp.setattr(Seq2Seq, name, counted)


def train(data, model: dict, tcfg: TrainConfig, out: Path, **kw) -> None:
    pipeline.train(data, model, tcfg, str(out), progress=False, **kw)


def cut_at(cut: str, scoring: bool, u: float, passes: int, evaluations: int, log: list) -> int:
    """The number of the update, batch's pass or dev evaluation at which to `cut` the run, a
    fraction `u` of the way through (0: the first, 1: the last) the uninterrupted run's updates
    (its scoring points if `scoring`), `passes` passes or `evaluations` evaluations; `log`: its
    log lines."""
    if cut == "max_steps":
        steps = [line["step"] for line in log]  # the scoring points, each epoch's end among them
        choices = steps if scoring else range(1, steps[-1] + 1)  # steps[-1]: the last update
    else:
        choices = range(1, (passes if cut == "ctrl_c_in_update" else evaluations) + 1)
    return choices[min(int(u * len(choices)), len(choices) - 1)]


def cut_run(data, model: dict, tcfg: TrainConfig, out: Path, cut: str, at: int) -> None:
    """Train to the cut: --max-steps `at`, or Ctrl-C after the `at`-th batch's pass (a real
    SIGINT, which the trainer holds until the update is whole), or in the `at`-th dev
    evaluation."""
    if cut == "max_steps":
        train(data, model, TrainConfig(**{**tcfg.to_dict(), "max_steps": at}), out)
        assert checkpoint.load(out / "last").trainer_state["step"] == at
        return
    with pytest.MonkeyPatch.context() as mp, pytest.raises(KeyboardInterrupt):
        if cut == "ctrl_c_in_update":
            sigint = lambda n: n == at and os.kill(os.getpid(), signal.SIGINT)  # noqa: E731
            counting(mp, "loss_and_grads", [], sigint)
        else:
            counting(mp, "nll", [], lambda n: _raise_at(n, at))
        train(data, model, tcfg, out)


def _raise_at(n: int, at: int) -> None:
    if n == at:
        raise KeyboardInterrupt


@POSIX_MAIN  # ctrl_c_in_update sends this process SIGINT
# a drawn cut may leave an --eval-every that never comes, or a resume with nothing left to
# train: notes the test expects (tests/test_eval_every.py and test_trainer.py test them)
@pytest.mark.filterwarnings("ignore:--eval-every .* never comes:UserWarning")
@pytest.mark.filterwarnings("ignore:nothing to train in:UserWarning")
# no shrinking: each example trains seven runs, so a shrink takes minutes (hypothesis stops it at
# five); the failing example, with the notes naming its cuts, is reported in seconds
@settings(max_examples=15, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    options=run_options(),
    where=st.tuples(*(st.integers(0, 100) for _ in CUTS)),  # per cut, in % of the run
    scoring=st.booleans(),  # --max-steps at a scoring point
)
def test_a_run_cut_anywhere_and_resumed_is_the_uninterrupted_run(
    data, tmp_path_factory, options, where, scoring
):
    """Each way of cutting the run, at a point drawn for it, then a resume to the end."""
    name, model, tcfg = options
    backend.use(name)
    root = tmp_path_factory.mktemp("resume")  # a fresh directory for each example
    passes, evaluations = [], []
    with pytest.MonkeyPatch.context() as no_fsync:
        # each example saves about 40 checkpoints of 7 fsyncs each, a tenth of its time: what is
        # compared is what the files hold, which fsync (durability on a crash) does not change
        no_fsync.setattr(os, "fsync", lambda fd: None)
        with pytest.MonkeyPatch.context() as mp:
            counting(mp, "loss_and_grads", passes)
            counting(mp, "nll", evaluations)  # one dev batch: one call per evaluation
            train(data, model, tcfg, root / "full")
        log = log_lines(root / "full")
        for cut, percent in zip(CUTS, where, strict=True):
            at = cut_at(cut, scoring, percent / 100, len(passes), len(evaluations), log)
            note(f"{cut} at {at}")
            cut_run(data, model, tcfg, root / cut, cut, at)
            train(data, model, tcfg, root / cut, resume=True)
            assert_same_run_dir(root / "full", root / cut)


def log_lines(out: Path) -> list[dict]:
    """The run's log lines without their timing (tokens_per_s)."""
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k != "tokens_per_s"} for line in lines]


def assert_same_run_dir(want: Path, got: Path) -> None:
    """The same log lines, last/, best/ and steps/ checkpoints, but for timing figures."""
    assert log_lines(got) == log_lines(want)
    assert checkpoint.exists(got / "best") == checkpoint.exists(want / "best")
    kept = sorted(os.listdir(want / "steps")) if (want / "steps").exists() else []
    assert (sorted(os.listdir(got / "steps")) if (got / "steps").exists() else []) == kept
    for which in ["last", *(["best"] if checkpoint.exists(want / "best") else [])]:
        assert_same_checkpoint(want / which, got / which)
    for name in kept:
        assert_same_checkpoint(want / "steps" / name, got / "steps" / name)


def assert_same_checkpoint(want: Path, got: Path) -> None:
    a, b = checkpoint.load(want), checkpoint.load(got)
    for saved, resumed in ((a.params, b.params), (a.optimizer_state, b.optimizer_state)):
        assert saved.keys() == resumed.keys()
        for k in saved:
            np.testing.assert_array_equal(resumed[k], saved[k], err_msg=f"{got}: {k}")
    assert untimed(b.trainer_state) == untimed(a.trainer_state), got
    assert without_max_steps(b.config) == without_max_steps(a.config), got


def untimed(state: dict) -> dict:
    """A checkpoint's trainer state without its timing figures."""
    record = state["record"] and {k: v for k, v in state["record"].items() if k != "tokens_per_s"}
    return {k: v for k, v in state.items() if k != "epoch_seconds"} | {"record": record}


def without_max_steps(config: dict) -> dict:
    """A checkpoint's config without train.max_steps, which the --max-steps cut changes (a best/
    the cut run wrote holds it)."""
    return config | {"train": {k: v for k, v in config["train"].items() if k != "max_steps"}}

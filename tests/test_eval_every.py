"""--eval-every N (TrainConfig.eval_every): the run is scored every N updates as at an epoch's end
(dev figures, a log line, best/, last/, early stopping, the plateau schedule), and resumes from
such a point exactly. The trainer tests' 80 reverse-digits examples are 5 batches of 16: 5
updates an epoch, so eval_every 2 scores steps 2, 4, 5 (epoch 1's end), 6, 8, 10, 12, 14, 15."""

import json

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.train import checkpoint, runlog
from minis2s.train.config import TrainConfig
from minis2s.train.console import eval_every_note
from minis2s.train.grad_norm import global_norm
from minis2s.train.trainer import NonFiniteLoss
from tests.test_trainer import assert_same_run, make_trainer, uninterrupted
from tests.test_trainer import data as _data_fixture
from tests.test_trainer import no_fsync as _no_fsync

data = _data_fixture
no_fsync = _no_fsync  # checkpoints saved without fsync (test_trainer.py says why)
pytestmark = pytest.mark.usefixtures("no_fsync")

EVERY_2 = [
    (1, 2),
    (1, 4),
    (1, 5),
    (2, 6),
    (2, 8),
    (2, 10),
    (3, 12),
    (3, 14),
    (3, 15),
]  # (epoch, step)


def log_lines(out) -> list[dict]:
    """The run's log lines without their timing (tokens_per_s, after checking it is a rate)."""
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert all(line.pop("tokens_per_s") > 0 for line in lines)
    return lines


def untimed(state: dict) -> dict:
    """A checkpoint's trainer state without its timing figures."""
    record = {k: v for k, v in state["record"].items() if k != "tokens_per_s"}
    return {k: v for k, v in state.items() if k != "epoch_seconds"} | {"record": record}


def spying(seen: list, run):
    """`run`, whose model appends each batch's (loss, target tokens) to `seen`."""
    loss_and_grads = run.model.loss_and_grads

    def spy(batch, **kw):
        loss, grads = loss_and_grads(batch, **kw)
        seen.append((loss, batch.n_tokens))
        return loss, grads

    run.model.loss_and_grads = spy
    return run


def interrupting(run, step: int):
    """`run`, which raises KeyboardInterrupt (Ctrl-C) when it scores update `step`."""
    evaluate = run.evaluate

    def interrupted(model):
        if run.state["step"] == step:
            raise KeyboardInterrupt
        return evaluate(model)

    run.evaluate = interrupted
    return run


def scripted(losses):
    """An evaluate that returns these dev losses in turn."""
    it = iter(losses)
    return lambda model: {"loss": next(it)}


def test_eval_every_0_and_one_past_the_run_are_the_epoch_end_run(data, tmp_path):
    """eval_every 0 is the epoch-end-only run; so is an eval_every that no update reaches:
    the same parameters bit for bit, log lines and checkpoints."""
    runs = {n: make_trainer(data, tmp_path / str(n), eval_every=n) for n in (0, 16)}
    for run in runs.values():
        run.fit()
    assert_same_run(runs[0], runs[16])
    assert log_lines(tmp_path / "0") == log_lines(tmp_path / "16")
    assert [r["step"] for r in log_lines(tmp_path / "0")] == [5, 10, 15]
    for which in ("best", "last"):
        a, b = (checkpoint.load(tmp_path / str(n) / which) for n in (0, 16))
        assert untimed(a.trainer_state) == untimed(b.trainer_state)
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


def test_each_line_has_its_epoch_and_the_train_figures_since_the_previous_line(data, tmp_path):
    """Lines at every second update and at each epoch's end (once where both fall together),
    each with the epoch it belongs to; train_loss is the token-weighted mean loss of the
    updates since the previous line, grad_norm their mean norm, grad_norm_max the largest."""
    run = make_trainer(data, tmp_path / "r", eval_every=2, clip=0.0)
    seen, loss_and_grads = [], run.model.loss_and_grads

    def spy(batch, **kw):
        loss, grads = loss_and_grads(batch, **kw)
        seen.append((loss, batch.n_tokens, global_norm(grads)))
        return loss, grads

    run.model.loss_and_grads = spy
    run.fit()
    lines = log_lines(tmp_path / "r")
    assert [(r["epoch"], r["step"]) for r in lines] == EVERY_2
    assert len(seen) == 15
    previous = 0
    for r in lines:
        updates, previous = seen[previous : r["step"]], r["step"]
        n = sum(n for _, n, _ in updates)
        assert r["train_loss"] == pytest.approx(sum(loss * n for loss, n, _ in updates) / n)
        assert r["grad_norm"] == pytest.approx(np.mean([g for _, _, g in updates]), rel=1e-12)
        assert r["grad_norm_max"] == pytest.approx(max(g for _, _, g in updates), rel=1e-12)


def test_with_accumulation_eval_every_counts_updates(data, tmp_path):
    """accum_steps 2 over 10 batches of 8: 5 updates an epoch, scored as above."""
    make_trainer(data, tmp_path / "r", eval_every=2, batch_size=8, accum_steps=2).fit()
    assert [(r["epoch"], r["step"]) for r in log_lines(tmp_path / "r")] == EVERY_2


def test_a_mid_epoch_best_patience_and_plateau_count_evaluations(data, tmp_path, capsys):
    """Dev losses 3, 2, 2.5, 2.6 at steps 2, 4, 5, 6: step 4 (mid-epoch) is the best and best/
    holds its parameters; the plateau schedule (lr_patience 0) halves the lr after each of the
    next two evaluations; patience 2 stops the run at step 6, the first update of epoch 2."""
    run = make_trainer(data, tmp_path / "r", eval_every=2, patience=2, lr=0.01)
    run.evaluate, run.progress = scripted([3.0, 2.0, 2.5, 2.6]), True
    run.fit()
    s = run.state
    assert (s["step"], s["epoch"], s["batch"]) == (6, 1, 1)
    lines = log_lines(tmp_path / "r")
    assert [(r["step"], r["loss"], r["lr"]) for r in lines] == [
        (2, 3.0, 0.01), (4, 2.0, 0.01), (5, 2.5, 0.01), (6, 2.6, 0.005)
    ]  # fmt: skip
    assert run.optimizer.lr == 0.0025
    best = checkpoint.load(tmp_path / "r" / "best")
    assert best.trainer_state["step"] == 4 and best.trainer_state["batch"] == 4
    at_4 = make_trainer(data, tmp_path / "at4", max_steps=4, lr=0.01)
    at_4.fit()
    for k, v in best.params.items():
        np.testing.assert_array_equal(at_4.model.params[k], v, err_msg=k)
    assert (f"early stopping: no better dev loss in 2 evaluations, so training ended at update 6, "
            f"in epoch 2 of 3; the best model (dev loss 2) is in {tmp_path / 'r'}/best"
            ) in capsys.readouterr().out  # fmt: skip


def test_the_exponential_schedule_stays_per_epoch(data, tmp_path):
    run = make_trainer(data, tmp_path / "r", eval_every=2, lr=0.01, lr_schedule="exponential",
                       lr_decay=0.5)  # fmt: skip
    run.fit()
    lrs = [(r["epoch"], r["lr"]) for r in log_lines(tmp_path / "r")]
    assert lrs == [(e, 0.01 * 0.5 ** (e - 1)) for e, _ in EVERY_2]


def test_the_end_of_the_run_is_said_with_its_update(data, tmp_path, capsys):
    """Early stopping at an epoch's end names the update; a diverged dev loss names it too."""
    run = make_trainer(data, tmp_path / "r", eval_every=2, patience=1)
    run.evaluate, run.progress = scripted([3.0, 2.0, 2.5]), True
    run.fit()
    assert "in 1 evaluation, so training ended at update 5, the end of epoch 1 of 3" in (
        capsys.readouterr().out
    )
    run = make_trainer(data, tmp_path / "nan", eval_every=2)
    run.evaluate = scripted([3.0, float("nan")])
    with pytest.raises(NonFiniteLoss, match=r"^update 4 \(epoch 1\): dev loss nan: .*diverged; "
                       r"training stopped without saving this update; the last good"):  # fmt: skip
        run.fit()


@pytest.mark.parametrize("max_steps", [6, 7])
def test_a_run_stopped_mid_epoch_resumes_bit_for_bit(data, tmp_path, tmp_path_factory, max_steps):
    """max_steps 6 is a scored point (scored once, then the run stops), 7 is not (last/ only):
    either way the resumed run ends as the run never stopped, and logs the same lines."""
    full, full_out = uninterrupted(data, tmp_path_factory, eval_every=2)
    first = make_trainer(data, tmp_path / "cut", eval_every=2, max_steps=max_steps)
    first.fit()
    assert [r["step"] for r in log_lines(tmp_path / "cut")] == [2, 4, 5, 6]
    resumed = make_trainer(data, tmp_path / "cut", eval_every=2)
    assert resumed.resume() and resumed.state["step"] == max_steps
    resumed.fit()
    assert_same_run(full, resumed)
    assert log_lines(tmp_path / "cut") == log_lines(full_out)


@pytest.mark.parametrize(
    "eval_every, step, max_steps",
    [(2, 4, 0), (2, 4, 4), (2, 5, 5), (0, 5, 5)],  # mid-epoch, and the run's last update
)
def test_ctrl_c_in_an_evaluation_then_resume_scores_that_point(
    data, tmp_path, tmp_path_factory, eval_every, step, max_steps
):
    """Interrupted while it scores step `step`, the run saves last/ there unscored; resumed, it
    scores that point first (with max_steps: before it stops), and ends as the run that was
    never interrupted."""
    full, full_out = uninterrupted(data, tmp_path_factory, eval_every=eval_every,
                                   max_steps=max_steps)  # fmt: skip
    run = interrupting(
        make_trainer(data, tmp_path / "cut", eval_every=eval_every, max_steps=max_steps), step
    )
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    assert checkpoint.load(tmp_path / "cut" / "last").trainer_state["step"] == step
    resumed = make_trainer(data, tmp_path / "cut", eval_every=eval_every, max_steps=max_steps)
    assert resumed.resume() and resumed.finished() is None
    resumed.fit()
    assert_same_run(full, resumed)
    assert log_lines(tmp_path / "cut") == log_lines(full_out)
    assert step in [r["step"] for r in log_lines(tmp_path / "cut")]


def test_a_resume_mends_a_mid_epoch_line_lost_between_save_and_log(
    data, tmp_path, tmp_path_factory, monkeypatch
):
    """A crash in the log's write of the line at step 4 (its checkpoint saved): the resume
    writes it from the checkpoint, and the log ends as the uninterrupted run's."""
    _, full_out = uninterrupted(data, tmp_path_factory, eval_every=2)
    real = runlog.append

    def crash_at_step_4(out_dir, record):
        if record["step"] == 4:
            raise OSError("disk full")
        real(out_dir, record)

    monkeypatch.setattr(runlog, "append", crash_at_step_4)
    with pytest.raises(OSError, match="disk full"):
        make_trainer(data, tmp_path / "cut", eval_every=2).fit()
    monkeypatch.undo()
    assert [r["step"] for r in log_lines(tmp_path / "cut")] == [2]
    resumed = make_trainer(data, tmp_path / "cut", eval_every=2)
    assert resumed.resume() and [r["step"] for r in log_lines(tmp_path / "cut")] == [2, 4]
    resumed.fit()
    assert log_lines(tmp_path / "cut") == log_lines(full_out)


def test_a_resumed_run_may_score_at_another_interval(data, tmp_path):
    """eval_every may change on resume (like patience, it says when, not how, to train): a run
    of epoch ends stopped at step 7 goes on scoring every 2 updates; the line at step 8 covers
    updates 6 to 8, the two before the stop included."""
    seen = []

    spying(seen, make_trainer(data, tmp_path / "r", max_steps=7)).fit()
    resumed = spying(seen, make_trainer(data, tmp_path / "r", eval_every=2, epochs=2))
    assert resumed.resume()
    resumed.fit()
    lines = log_lines(tmp_path / "r")
    assert [(r["epoch"], r["step"]) for r in lines] == [(1, 5), (2, 8), (2, 10)]
    updates = seen[5:8]
    n = sum(n for _, n in updates)
    assert lines[1]["train_loss"] == pytest.approx(sum(loss * n for loss, n in updates) / n)


@pytest.mark.parametrize("step", [12, 15])  # a mid-epoch point of epoch 3, and epoch 3's end
def test_a_point_past_fewer_epochs_is_not_scored_and_the_run_says_so(data, tmp_path, step):
    """Ctrl-C while epoch 3 scores `step`, resumed with --epochs 2: the run has trained more
    than its 2 epochs, so finished() says so (it once said None, and fit trained and said
    nothing)."""
    run = interrupting(make_trainer(data, tmp_path / "r", eval_every=2), step)
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    resumed = make_trainer(data, tmp_path / "r", eval_every=2, epochs=2)
    assert resumed.resume()
    assert resumed.finished() == (
        "it has trained its 2 epochs; resume with more (TrainConfig epochs) to go on"
    )
    with pytest.warns(UserWarning, match="nothing to train"):
        resumed.fit()


@pytest.mark.parametrize(
    "every, steps",
    [(0, [2, 4, 5, 10, 15]), (3, [2, 4, 5, 6, 9, 10, 12, 15]), (4, [2, 4, 5, 8, 10, 12, 15])],
)
def test_ctrl_c_in_an_evaluation_then_another_interval(data, tmp_path, every, steps):
    """Ctrl-C while step 6 is scored (eval_every 2), resumed with eval_every `every`: step 6 is
    scored only where the new interval has it, nothing is scored twice, and each line's
    train_loss covers the updates since the line before (step 6's own update included)."""
    seen = []

    run = interrupting(spying(seen, make_trainer(data, tmp_path / "r", eval_every=2)), 6)
    with pytest.raises(KeyboardInterrupt):
        run.fit()
    resumed = spying(seen, make_trainer(data, tmp_path / "r", eval_every=every))
    assert resumed.resume() and resumed.finished() is None
    resumed.fit()
    lines = log_lines(tmp_path / "r")
    assert [r["step"] for r in lines] == steps
    assert len(seen) == 15
    previous = 0
    for r in lines:
        updates, previous = seen[previous : r["step"]], r["step"]
        n = sum(n for _, n in updates)
        assert r["train_loss"] == pytest.approx(sum(loss * n for loss, n in updates) / n)


@pytest.mark.parametrize(
    "options, note",
    [
        ({"eval_every": 7}, "makes 6 updates (2 epochs of 3)"),
        ({"eval_every": 6}, None),  # update 6 is the run's end: scored there anyway
        ({"eval_every": 4}, None),  # update 4, within epoch 2
        ({"eval_every": 5, "max_steps": 4}, "makes 4 updates (--max-steps 4)"),
        ({"eval_every": 5, "max_steps": 9}, None),  # after 2 epochs of 3, max_steps never ends it
        ({"eval_every": 7, "max_steps": 9}, "makes 6 updates (2 epochs of 3)"),
    ],
)
def test_an_interval_past_the_runs_updates_is_noted(options, note):
    """--eval-every N larger than all the updates a run makes never scores it: a note says so."""
    said = eval_every_note(TrainConfig(epochs=2, **options), per_epoch=3)
    assert (said is None) == (note is None)
    if note:
        assert note in said and said.startswith(f"--eval-every {options['eval_every']} never")


def test_the_train_command_notes_an_interval_past_the_run_with_quiet(tmp_path, capsys):
    """32 pairs in batches of 16 are 2 updates an epoch: --eval-every 3 in a 1-epoch run."""
    args = ["train", "--task", "reverse-digits", "--train-size", "32", "--batch-size", "16",
            "--epochs", "1", "--hidden", "4", "--emb", "4", "--dev-size", "8", "--show", "0",
            "--quiet", "--eval-every", "3", "--out", str(tmp_path / "r")]  # fmt: skip
    assert main(args) == 0
    said = "minis2s train: note: --eval-every 3 never comes: the run makes 2 updates (1 epoch of 2)"
    assert said in capsys.readouterr().err

"""The learning rate across a resume, in every lr schedule: a run stopped by --max-steps and
resumed goes on at the rate the uninterrupted run had, whether it stopped mid-epoch, at a
mid-epoch scoring point (--eval-every) or at an epoch's end. The checkpoint holds the rate twice,
in the optimizer's state and in the trainer's, written by one save from the one
`optimizer.lr`; `Optimizer.load_state_dict` puts it back, so `Trainer.resume` need not."""

import pytest

from minis2s.train import checkpoint
from tests.test_trainer import assert_same_run, make_trainer
from tests.test_trainer import data as _data_fixture
from tests.test_trainer import no_fsync as _no_fsync

data = _data_fixture
no_fsync = _no_fsync  # checkpoints saved without fsync (test_trainer.py says why)
pytestmark = pytest.mark.usefixtures("no_fsync")

# 80 pairs in batches of 16: 5 updates an epoch, 15 in the 3 epochs
CUTS = {7: "mid-epoch", 8: "a mid-epoch scoring point with eval_every 2", 10: "an epoch's end"}


@pytest.mark.parametrize("eval_every", [0, 2])
@pytest.mark.parametrize("schedule", ["constant", "warmup", "exponential", "plateau"])
def test_a_resumed_run_goes_on_at_the_uninterrupted_runs_lr(data, tmp_path, schedule, eval_every):
    # lr 0.5 and lr_patience 0: the dev loss stops improving, so plateau lowers the rate too
    kw = dict(lr=0.5, lr_schedule=schedule, lr_decay=0.5, lr_patience=0, warmup_steps=4,
              eval_every=eval_every)  # fmt: skip
    full = make_trainer(data, tmp_path / "full", **kw)
    full.fit()
    cut_lrs = []
    for at in CUTS:
        out = tmp_path / f"cut{at}"
        first = make_trainer(data, out, max_steps=at, **kw)
        first.fit()
        saved = checkpoint.load(out / "last")
        assert saved.trainer_state["lr"] == saved.optimizer_state["lr"] == first.optimizer.lr
        cut_lrs.append(first.optimizer.lr)
        second = make_trainer(data, out, **kw)
        assert second.resume()
        assert second.optimizer.lr == first.optimizer.lr, CUTS[at]
        second.fit()
        assert_same_run(full, second)
    if schedule in ("exponential", "plateau"):  # the cuts test a rate the schedule has moved
        assert min(cut_lrs) < 0.5

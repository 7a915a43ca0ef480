"""L2 weight decay (Adam, Adagrad, SGD: g = grad + weight_decay * p) too large to train with is
refused before training starts, as AdamW's decoupled decay was: `minis2s train --weight-decay
1e20` ran to exit 0 with every update 0 (Adam's g * g overflowed float32, so v = inf and each
step m / sqrt(v) = 0), and any lr x weight_decay >= 1 holds the weights at 0."""

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.train.config import TrainConfig
from minis2s.train.optim import SGD, Adagrad, Adam

TSV = "".join(f"{s}\t{s[::-1]}\n" for s in ("a b", "c", "b c a", "a", "c b", "a a b", "b", "c c"))
TINY = ["--epochs", "1", "--hidden", "8", "--emb", "8", "--quiet", "--show", "0"]


@pytest.mark.parametrize("optimizer", ["adam", "adagrad", "sgd"])
def test_train_config_refuses_an_l2_decay_of_lr_times_decay_one_or_more(optimizer):
    """The bound is 1 / lr: 0.5 * 2 = 1 is refused, naming the field, the product and the fix;
    just below it is taken."""
    with pytest.raises(ValueError, match=r"lr \* weight_decay = 0.5 \* 2 = 1 >= 1") as e:
        TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=2.0)
    fix = "below 1 / lr = 2" if optimizer != "sgd" else "the weight decay or the learning rate"
    assert f"; lower weight_decay {fix}" in str(e.value) or f"; lower {fix}" in str(e.value)
    TrainConfig(optimizer=optimizer, lr=0.5, weight_decay=1.99)


@pytest.mark.parametrize("cls", [Adam, Adagrad, SGD])
def test_an_l2_optimizer_refuses_the_product_at_each_step(cls):
    """A schedule sets lr between steps, so the optimizer checks each step's, as AdamW does."""
    p = {"W": np.ones(3, np.float32)}
    opt = cls(p, lr=0.1, weight_decay=5.0)
    opt.step(p, {"W": np.ones(3, np.float32)})
    opt.lr = 0.2
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: lr \* weight_decay = 0.2 \* 5 = 1 >= 1"
    ):
        opt.step(p, {"W": np.ones(3, np.float32)})


@pytest.mark.parametrize("cls", [Adam, Adagrad])
def test_adam_refuses_a_decay_term_that_float32_cannot_square(cls):
    """At a tiny lr the product is small, but weight_decay * |p| past sqrt(float32 max) ~ 1.8e19
    makes g * g inf: v (Adagrad's sum) is inf for good and every step is 0."""
    p = {"W": np.full(3, 0.5, np.float32)}
    limit = float(np.sqrt(np.finfo(np.float32).max))
    cls(p, lr=1e-30, weight_decay=1.9 * limit)  # 0.5 * 1.9 * limit squares: taken
    with pytest.raises(ValueError, match=r"weight_decay=4e\+19 .* float32"):
        cls(p, lr=1e-30, weight_decay=4e19)


def test_train_refuses_weight_decay_1e20_naming_the_option_and_the_bound(tmp_path, capsys):
    """minis2s train --data tiny.tsv ... --weight-decay 1e20 exited 0 having learnt nothing."""
    path = tmp_path / "tiny.tsv"
    path.write_text(TSV)
    argv = ["train", "--data", str(path), *TINY, "--out", str(tmp_path / "run")]
    assert main([*argv, "--weight-decay", "1e20"]) == 2
    err = capsys.readouterr().err
    said = "--weight-decay 1e20: with the default --optimizer adam, --lr x --weight-decay = 0.002"
    assert said + " * 1e+20" in err, err  # --optimizer not typed
    assert "lower --weight-decay below 1 / --lr = 500" in err, err
    assert not (tmp_path / "run").exists()

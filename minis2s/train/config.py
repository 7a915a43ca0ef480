"""How to train: one frozen dataclass, filled by the command line or by hand.

Which embedding matrices its freeze_embeddings keeps fixed in a given model, and the refusals of
a model that has no such matrix, are in frozen_embeddings.py.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from minis2s.config_error import ConfigError, as_typed
from minis2s.models.config import ModelConfig, check_field_types
from minis2s.train._optim_checks import check_decay, check_momentum
from minis2s.train.frozen_embeddings import FROZEN
from minis2s.train.optim import OPTIMIZERS
from minis2s.train.schedule import (
    SAMPLING,
    SCHEDULES,
    Schedule,
    make_lr_schedule,
    sampling_probability,
)

METRICS = ("exact_match", "loss", "bleu")
CHOICE = "{field}={value_r}; {body}"  # a ConfigError's layout for a value not among the choices


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedules, teacher forcing and bookkeeping.

    optimizer / lr / weight_decay / momentum / nesterov: see minis2s.train.optim.
    clip: global gradient-norm clip (0 = off).
    lr_schedule: "constant", "exponential" (x lr_decay every epoch), "warmup" (linear over
        warmup_steps, then inverse square root), "plateau" (x lr_decay once the dev metric has
        gone more than lr_patience evaluations in a row without improving on its best by a
        relative 1e-4: with the default 1, at the second such evaluation; then the count
        restarts); "exponential" and "plateau" never go below min_lr.
    teacher_forcing: the lowest probability of feeding the reference token (1 = always: no
        scheduled sampling). sampling_schedule says how the probability eps of feeding the
        model's own previous prediction grows towards 1 - teacher_forcing (Bengio et al. 2015):
        "constant" (eps = 1 - teacher_forcing from the start), "linear" (from 0 over
        sampling_steps updates), "exponential" (1 - k^i, sampling_k in (0, 1], e.g. 0.999;
        k = 1 never samples), "inverse_sigmoid" (1 / (1 + k exp(-i / k)), sampling_k >= 1,
        e.g. 500), i = the updates made so far.
    patience: stop when the dev metric has not improved for this many evaluations in a row (one
        at each epoch's end, and more with eval_every; 0 = never).
    eval_every: evaluate the dev set every this many updates as well as at each epoch's end
        (0 = at epoch ends only: an evaluation per epoch). Each evaluation writes a log line,
        saves best/ (when improved) and last/, and counts for patience and the plateau
        schedule; the exponential schedule stays per epoch. A point that falls on an epoch's
        last update is scored once, as the epoch's end.
    keep_checkpoints: at each scoring point also write the checkpoint to
        out_dir/steps/step-NNNNNNN and keep the newest K of them (0 = none, and steps/ is left
        alone), for averaging (`minis2s average --run RUN --last K`; train/keep.py).
    metric: the dev figure for best/, early stopping and the plateau schedule: "exact_match",
        "bleu" (higher is better) or "loss". Between equal values of exact match or BLEU the
        dev loss decides: an evaluation that ties the best metric at a lower dev loss improves.
    max_steps: stop after this many updates in total (0 = no limit).
    accum_steps: gradient accumulation: each update uses the gradient of K = accum_steps
        consecutive batches of the epoch (its last group may be shorter), weighted by their
        target tokens, so it is the gradient of one batch holding all their sentences: an
        effective batch of K x batch_size. Steps, max_steps and the schedules count updates.
    freeze_embeddings: "none", "src", "tgt" or "both": the embedding matrices that training
        leaves as they were initialised (pretrained vectors, `pipeline.train(src_vectors=...)`);
        the optimizer holds no state for them, and the gradient norm leaves them out. With
        share_embeddings the two sides are one matrix: "both" freezes it.
    """

    epochs: int = 20
    batch_size: int = 64
    tokens_per_batch: int = 0
    accum_steps: int = 1
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    clip: float = 5.0
    lr_schedule: str = "plateau"
    lr_decay: float = 0.5
    lr_patience: int = 1
    min_lr: float = 0.0
    warmup_steps: int = 1000
    label_smoothing: float = 0.0
    teacher_forcing: float = 1.0
    sampling_schedule: str = "constant"
    sampling_k: float = 500.0
    sampling_steps: int = 5000
    patience: int = 4
    metric: str = "exact_match"
    max_steps: int = 0
    eval_every: int = 0
    keep_checkpoints: int = 0
    seed: int = 0
    dev_size: int = 1000  # dev sentences decoded for the dev metric at each evaluation
    freeze_embeddings: str = "none"

    def __post_init__(self) -> None:
        check_field_types(self)
        if isinstance(self.optimizer, str):  # read in any case; kept as a resume compares it
            object.__setattr__(self, "optimizer", self.optimizer.lower())
        if self.metric not in METRICS:
            raise ConfigError("TrainConfig", "metric", self.metric,
                              f"choose one of {', '.join(METRICS)}", CHOICE)  # fmt: skip
        for name, low in (("epochs", 1), ("dev_size", 1), ("batch_size", 0),
                          ("tokens_per_batch", 0), ("accum_steps", 1), ("patience", 0),
                          ("max_steps", 0), ("eval_every", 0), ("keep_checkpoints", 0),
                          ("seed", 0)):  # fmt: skip
            if getattr(self, name) < low:
                raise ConfigError("TrainConfig", name, getattr(self, name), f"must be >= {low}")
        if (self.batch_size > 0) == (self.tokens_per_batch > 0):
            self._refuse_batch_sizes()
        if str(self.optimizer).lower() != "sgd" and (self.momentum != 0 or self.nesterov):
            self._refuse_momentum()
        if not 0.0 <= self.teacher_forcing <= 1.0:
            raise ConfigError("TrainConfig", "teacher_forcing", self.teacher_forcing,
                              "must be in [0, 1]")  # fmt: skip
        if not (math.isfinite(self.clip) and self.clip >= 0):  # inf: 0 without its guard
            raise ConfigError("TrainConfig", "clip", self.clip,
                              "must be a finite number >= 0 (0 = off)")  # fmt: skip
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(
                "TrainConfig",
                "label_smoothing",
                self.label_smoothing,
                "must be in [0, 1) (1 "
                "would train towards the uniform distribution, whatever the target)",
            )
        self._check_schedules()

    def _refuse_momentum(self) -> None:
        """ConfigError for momentum or nesterov with an optimizer other than SGD: in Python the
        fields and values; on the command line the options typed and the way out (cli_options
        names an --optimizer the user did not type as the default)."""
        why = (
            f"momentum and nesterov are for optimizer='sgd'; got optimizer={self.optimizer!r} "
            f"with momentum={self.momentum}, nesterov={self.nesterov}"
        )
        field = "momentum" if self.momentum != 0 else "nesterov"  # the one named first
        given = " and ".join(f"--{f}" for f in ("momentum", "nesterov") if getattr(self, f))
        also = ", as is --nesterov" if given == "--momentum and --nesterov" else ""
        fix = "add --optimizer sgd" + " --momentum M" * (field == "nesterov")
        cli = (
            f"is for --optimizer sgd{also}; --optimizer {as_typed(self.optimizer)} has no "
            f"momentum: {fix}, or drop {given}"
        )
        raise ConfigError("TrainConfig", field, getattr(self, field), why, "{body}", cli)

    def _refuse_batch_sizes(self) -> None:
        """ConfigError for batch_size and tokens_per_batch both 0, or both above 0: the field
        named is the one the command line lets through (--batch-size 0)."""
        field = "batch_size" if self.batch_size == 0 else "tokens_per_batch"
        why = (
            "set exactly one of batch_size and tokens_per_batch, the other to 0 "
            f"(got batch_size={self.batch_size}, tokens_per_batch={self.tokens_per_batch}; "
            "batch_size is 64 unless given: pass batch_size=0 with tokens_per_batch)"
        )
        cli = ("a batch needs a size: give --batch-size above 0, or --tokens-per-batch N (which "
               "alone replaces the default batch size)")  # fmt: skip
        raise ConfigError("TrainConfig", field, getattr(self, field), why, "{body}", cli)

    def _check_schedules(self) -> None:
        """The optimizer, lr schedule and sampling schedule, checked here with the names of the
        fields (the command line's options) rather than by the classes they build, mid-run."""
        named = [("optimizer", str(self.optimizer).lower(), OPTIMIZERS),
                 ("lr_schedule", self.lr_schedule, SCHEDULES),
                 ("sampling_schedule", self.sampling_schedule, SAMPLING),
                 ("freeze_embeddings", self.freeze_embeddings, tuple(FROZEN))]  # fmt: skip
        for name, value, known in named:
            if value not in known:
                raise ConfigError("TrainConfig", name, value,
                                  f"choose one of {', '.join(known)}", CHOICE)  # fmt: skip
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError("TrainConfig", "lr", self.lr, "must be a finite number > 0")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError("TrainConfig", "weight_decay", self.weight_decay,
                              "must be a finite number >= 0")  # fmt: skip
        if str(self.optimizer).lower() == "sgd":  # SGD's own check came mid-run, once built
            check_momentum("TrainConfig", self.momentum)
            if self.nesterov and self.momentum == 0:
                raise ConfigError(
                    "TrainConfig", "nesterov", True, "needs momentum > 0; got momentum=0 "
                    "(Nesterov's is a momentum method): give momentum, or leave nesterov out",
                    "{field}=True {body}", "needs --momentum > 0; got --momentum 0 (Nesterov's "
                    "is a momentum method): give --momentum, or leave --nesterov out",
                )  # fmt: skip
        name = str(self.optimizer).lower()  # no schedule goes above lr: its peak
        check_decay(self.lr, self.weight_decay, f"TrainConfig: optimizer={name!r}", True, name)
        self._check_lr_decay()
        if self.lr_patience < 0:
            raise ConfigError("TrainConfig", "lr_patience", self.lr_patience, "must be >= 0")
        if self.lr_schedule == "warmup" and self.warmup_steps < 1:
            raise ConfigError("TrainConfig", "warmup_steps", self.warmup_steps, "must be >= 1")
        if self.teacher_forcing == 1.0:  # no scheduled sampling: its options are not read
            return
        k, kind = self.sampling_k, self.sampling_schedule
        if kind == "linear" and self.sampling_steps < 1:
            raise ConfigError("TrainConfig", "sampling_steps", self.sampling_steps,
                              "must be >= 1")  # fmt: skip
        if kind == "exponential" and not 0 < k <= 1:
            example = "(e.g. 0.999; the default 500 is for inverse_sigmoid)"
            raise ConfigError(
                "TrainConfig", "sampling_k", k, f"must be in (0, 1] for the exponential schedule "
                f"{example}", cli_body=f"must be in (0, 1] for --sampling-schedule exponential "
                f"{example}",
            )  # fmt: skip
        if kind == "inverse_sigmoid" and not (math.isfinite(k) and k >= 1):  # inf: never samples
            raise ConfigError("TrainConfig", "sampling_k", k,
                              "must be a finite number >= 1 for inverse_sigmoid")  # fmt: skip

    def _check_lr_decay(self) -> None:
        """ConfigError unless lr_decay and min_lr are in the ranges of the schedule's."""
        d, schedule = self.lr_decay, self.lr_schedule
        high = {"exponential": "1]", "plateau": "1)"}.get(schedule)
        in_range = 0 < d <= 1 if schedule == "exponential" else 0 < d < 1  # plateau: 1 never decays
        if high is not None and not in_range:
            raise ConfigError(
                "TrainConfig",
                "lr_decay",
                d,
                f"must be in (0, {high} for lr_schedule={schedule!r}",
                cli_body=f"must be in (0, {high} for --lr-schedule {schedule}",
            )
        if not 0 <= self.min_lr <= self.lr:  # above lr, the floor would raise the rate
            raise ConfigError(
                "TrainConfig",
                "min_lr",
                self.min_lr,
                f"must be in [0, lr] = [0, {self.lr}]",
                cli_body=f"must be in [0, --lr] = [0, {self.lr}]",
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- what the trainer builds from a TrainConfig ---------------------------------------------


def sampling_eps(t: TrainConfig, step: int) -> float:
    """Probability of feeding the model's own prediction at update `step`.

    It grows by the schedule (Bengio et al. 2015) and is capped at 1 - teacher_forcing, so the
    default teacher_forcing = 1 means pure teacher forcing whatever the schedule.
    """
    cap = 1.0 - t.teacher_forcing
    if cap == 0.0 or t.sampling_schedule == "constant":  # cap 0: the schedule is never read
        return cap
    if t.sampling_schedule == "linear":
        return sampling_probability("linear", step, eps_start=0.0, eps_end=cap,
                                    n=t.sampling_steps)  # fmt: skip
    return min(cap, sampling_probability(t.sampling_schedule, step, k=t.sampling_k))


def with_new_fields(config: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with the ModelConfig and TrainConfig fields added since it was
    written set to their defaults, which is how it ran: a new field's default keeps the
    behaviour from before the field (TrainConfig.min_lr = 0 is no floor)."""
    config = dict(config)
    for key, cls in (("model", ModelConfig), ("train", TrainConfig)):
        if isinstance(config.get(key), dict):
            defaults = {f.name: f.default for f in dataclasses.fields(cls)
                        if f.default is not dataclasses.MISSING}  # fmt: skip
            config[key] = defaults | config[key]
    train = config.get("train")
    if isinstance(train, dict) and isinstance(train.get("optimizer"), str):  # 'SGD' ran as sgd
        config["train"] = train | {"optimizer": train["optimizer"].lower()}
    return config


def mode_of(metric: str) -> str:
    """Which way `metric` improves: "min" for the loss, "max" for the scores."""
    return "min" if metric == "loss" else "max"


def lr_schedule(t: TrainConfig) -> Schedule:
    """The learning-rate schedule that `t` asks for, built from its fields."""
    kw: dict[str, Any] = {"lr": t.lr}
    if t.lr_schedule == "exponential":
        kw |= {"gamma": t.lr_decay, "min_lr": t.min_lr}
    elif t.lr_schedule == "warmup":
        kw["warmup_steps"] = t.warmup_steps
    elif t.lr_schedule == "plateau":
        kw |= {"factor": t.lr_decay, "patience": t.lr_patience, "mode": mode_of(t.metric),
               "min_lr": t.min_lr}  # fmt: skip
    return make_lr_schedule(t.lr_schedule, **kw)

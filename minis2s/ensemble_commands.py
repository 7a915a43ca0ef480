"""What `translate` and `evaluate` need to read several `--checkpoint`s as one ensemble: loading
them, naming them in messages, and refusing a task split that some member trained on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def load_translator(checkpoints: Sequence[str]) -> Any:
    """The Translator of one `--checkpoint`, or of an ensemble of several (load_ensemble)."""
    from minis2s.api import Translator

    if len(checkpoints) == 1:
        return Translator.load(checkpoints[0])
    return Translator.load_ensemble(checkpoints)


def model_in(checkpoint: str | Sequence[str]) -> str:
    """'the model in runs/a', or 'the ensemble of runs/a and runs/b' for several."""
    if isinstance(checkpoint, str):
        return f"the model in {checkpoint}"
    if len(checkpoint) == 1:
        return f"the model in {checkpoint[0]}"
    return f"the ensemble of {', '.join(checkpoint[:-1])} and {checkpoint[-1]}"


def no_attention(tr: Any, checkpoint: str | Sequence[str]) -> str | None:
    """Why `tr`'s model has no attention weights, for a message; None when it has them. An
    ensemble has the mean of its members' weights only when every member attends."""
    members = getattr(tr.model, "without_attention", None)
    if members is None:
        if tr.model.cfg.attention != "none":
            return None
        return f"{model_in(checkpoint)} has no attention (it was trained with --attention none)"
    names = members()
    if not names:
        return None
    return (
        f"{model_in(checkpoint)} has no attention: {' and '.join(names)} "
        f"{'was' if len(names) == 1 else 'were'} trained with --attention none, and an "
        "ensemble's attention is the mean of every member's"
    )


def check_task_seeds(tr: Any, task: str, checkpoints: Sequence[str]) -> None:
    """evaluate --task scores a run on the split that drew its training pairs (`task_split`);
    an ensemble's members trained on that task on other splits (another seed drew them) would
    be scored on one of them, so a test sentence of one may be a training sentence of another:
    refused, naming two of them. Members trained on one split with other training seeds (the
    Python API's TrainConfig(seed=N) on one load_data) are fine."""
    if not tr.members:  # one run: scored on its own split
        return
    drawn = {}  # checkpoint -> (its training pairs' fingerprint, its training seed)
    for name, member in zip(checkpoints, tr.members, strict=True):
        data = member.config.get("data", {})
        if data.get("name") == task:
            seed = member.config.get("train", {}).get("seed", 0)
            drawn[name] = (data.get("train", f"seed {seed}"), seed)  # old runs: by their seed
    (a, (fa, sa)), *others = drawn.items() or [(None, (None, None))]
    differing = [(b, sb) for b, (fb, sb) in others if fb != fa]
    if differing:
        b, sb = differing[0]
        raise ValueError(
            f"--task {task}: {a} (--seed {sa}) and {b} (--seed {sb}) were trained on other "
            "splits of it: a test pair of one may be a training pair of the other. Train the "
            f"members on one corpus (minis2s tasks --write {task} DIR, then train --data "
            "DIR/train.tsv --dev-data DIR/dev.tsv --seed N) and evaluate with --data DIR/test.tsv"
        )

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
    be scored on one of them, so a test pair of one may be a training pair of another: refused,
    naming two of them and their seeds. Members of one split are fine: with other training
    seeds (the Python API's TrainConfig(seed=N) on one load_data), and with other --train-size,
    which keeps the first N training pairs and leaves the dev and test pairs as drawn."""
    from minis2s.evaluate_commands import split_seed, trained_on_task

    if not tr.members:  # one run: scored on its own split
        return
    drawn = {}  # checkpoint -> the seed that drew its split, its training seed
    for name, member in zip(checkpoints, tr.members, strict=True):
        if trained_on_task(member.config.get("data", {}), task):  # its files: seed 0's split
            try:
                seed = split_seed(member.config, task)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            drawn[name] = (seed, member.config.get("train", {}).get("seed", 0))
    (a, (sa, ta)), *others = drawn.items() or [(None, (None, None))]
    differing = [(b, sb, tb) for b, (sb, tb) in others if sb != sa]
    if differing:
        b, sb, tb = differing[0]
        raise ValueError(
            f"--task {task}: {a} ({_seed_words(sa, ta)}) and {b} ({_seed_words(sb, tb)}) were "
            "trained on other splits of it: a test pair of one may be a training pair of the "
            f"other. Train the members on one corpus (minis2s tasks --write {task} DIR, then "
            "train --data DIR/train.tsv --dev-data DIR/dev.tsv --seed N) and evaluate with "
            "--data DIR/test.tsv"
        )


def _seed_words(drawn: int, trained: int) -> str:
    """'--seed 1' for a run whose split its training seed drew (train --task), else 'its split
    drawn with seed 0' (pipeline.load_data(seed=0) and TrainConfig(seed=1))."""
    return f"--seed {drawn}" if drawn == trained else f"its split drawn with seed {drawn}"


def shared_train_config(tr: Any, task: str) -> dict:
    """The config whose train split of `task` is the pairs every member trained on: the run's
    own for one run; for an ensemble of one split, the config of the member of `task` (or of its
    written files: `trained_on_task`) with the smallest --train-size (each keeps the first N
    pairs of the split, so the smallest N are every member's)."""
    from minis2s.evaluate_commands import trained_on_task

    on_task = [
        m.config for m in tr.members or () if trained_on_task(m.config.get("data", {}), task)
    ]
    if not on_task:
        return tr.config
    return min(on_task, key=lambda c: _train_size_key(c.get("data", {})))


def _train_size_key(data: dict) -> float:
    from minis2s.evaluate_commands import train_size

    n = train_size(data)
    return float("inf") if n is None else n

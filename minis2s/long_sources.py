"""Sources longer than any a model trained on: a model has learnt to read, and to stop writing
after, sources of the lengths it saw, and a far longer one is translated badly (a recurrent
state carried past any length it was trained on, an output cut at the maximum length or ended
too soon). A run records the longest source of its training pairs (`record`: in tokens after
tokenization, frames for a feature model), and `translate` names each source longer than that:
`Translator.translate` with a LongSourceWarning, `minis2s translate` with a note per line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

SHOWN = 10  # a note names this many sources, then counts the rest


class LongSourceWarning(UserWarning):
    """A source has more tokens than any training source of the model's run (silence it with
    warnings.simplefilter("ignore", LongSourceWarning))."""


def record(train_examples: Sequence[tuple[Any, Any]]) -> int:
    """The length of the longest source of a run's encoded training pairs (S of a source's (S,)
    ids or (S, F) frames), which the run keeps in its config as data.longest_source."""
    return max((len(src) for src, _ in train_examples), default=0)


def recorded(config: dict[str, Any]) -> int | None:
    """The figure a run's config records; None for a run saved before minis2s recorded it (or a
    model built by hand, with no config), which then gets no note."""
    data = config.get("data") if isinstance(config, dict) else None
    value = data.get("longest_source") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def longer(lengths: Sequence[int], longest: int | None) -> list[int]:
    """The indices of the lengths above `longest` (none when it is None: no figure recorded)."""
    return [] if longest is None else [i for i, n in enumerate(lengths) if n > longest]


def named_note(
    lengths: Sequence[int], longest: int | None, name: Callable[[int], str], kind: str, unit: str
) -> str | None:
    """`note` of the sources whose `lengths` exceed `longest`, source i named `name(i)`
    ("line 3", "sources[2]"); None when none does (or no figure is recorded)."""
    long = longer(lengths, longest)
    if not long:
        return None
    return note([name(i) for i in long], [lengths[i] for i in long], longest, kind, unit)


def note(names: Sequence[str], lengths: Sequence[int], longest: int, kind: str, unit: str) -> str:
    """What to say of the sources `names` ("line 3", "sources[2]"), of `lengths` `unit`s
    ("tokens"), longer than the `longest` of training; `kind` names one ("line", "source",
    "test pair")."""
    k = len(names)
    if k == 1:
        return (
            f"{names[0]} has {lengths[0]} {unit}, longer than any training source (at most "
            f"{longest}): its translation is likely poor"
        )
    shown = ", ".join(f"{name} ({n})" for name, n in zip(names[:SHOWN], lengths, strict=False))
    more = f" and {k - SHOWN} more" if k > SHOWN else ""
    return (
        f"{k} {kind}s are longer than any training source (at most {longest} {unit}): "
        f"{shown}{more}; their translations are likely poor"
    )

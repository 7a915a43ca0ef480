"""Comparing a checkpoint's config with a run's: `check_compatible` refuses a --resume that
changes the model or data and names every field that differs; `differences` and `flat` are its
parts, which averaging (average.py) uses too, to name how two runs' checkpoints differ."""

from __future__ import annotations

from typing import Any

from minis2s.train.checkpoint_files import _jsonable

SHOWN_ITEMS = 10  # check_compatible names a longer list's length, not its items


def check_compatible(
    ckpt_config: dict[str, Any], config: dict[str, Any], ignore: tuple[str, ...] = ()
) -> None:
    """Raise ValueError listing every field where `config` differs from the checkpoint's.

    Nested dicts are compared field by field ("model.hidden"); tuples equal lists (as after a
    JSON round trip). Fields named in `ignore` (dotted names, or a prefix such as "train") are
    skipped, for options a resumed run may change.
    """
    a, b = flat(ckpt_config), flat(config)
    changed = differences(ckpt_config, config, ignore)
    diffs = []
    for k in changed:
        was = _shown(k, a[k], b.get(k)) if k in a else f"no {k}"
        now = _shown(k, b[k], a.get(k)) if k in b else f"no {k}"
        diffs.append(f"checkpoint was trained with {was}, this run asks {now}")
    if {"data.train", "data.dev"} & set(changed):  # fingerprints of the pairs (data/provenance.py)
        diffs.append(
            "(the checkpoint keeps a fingerprint of its data, not the names of its files: a run "
            "trained on files resumes with the same --data, --dev-data and --test-data, or none "
            "of them: the files it recorded; without --dev-data, part of --data is held out as "
            "dev)"
        )
    if a.get("model.bridge") == "learned_h" and b.get("model.bridge") == "learned":
        diffs.append(
            "(a run saved before checkpoint format 2 with bridge 'learned' started an LSTM "
            "decoder's c at 0, which is bridge 'learned_h' now: --bridge learned_h resumes it)"
        )
    if diffs:
        raise ValueError(
            "; ".join(diffs) + "; resume with the run's own options (on the command line: leave "
            "them out, the run keeps its own) or start a new --out directory"
        )


def differences(a: dict[str, Any], b: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """The dotted fields ("model.hidden") where two configs differ, one lacking a field included,
    sorted; fields named in `ignore` (or under a prefix named there) are skipped."""
    fa, fb = flat(a), flat(b)
    skipped = lambda k: any(k == i or k.startswith(i + ".") for i in ignore)
    return [k for k in sorted(set(fa) | set(fb))
            if not skipped(k) and not (k in fa and k in fb and fa[k] == fb[k])]  # fmt: skip


def flat(config: dict[str, Any]) -> dict[str, Any]:
    """`config` as {dotted field: value}, as it reads after a JSON round trip (tuples as lists)."""
    return _flatten(_jsonable(config))


def _shown(key: str, value: Any, other: Any) -> str:
    """`key=value` for check_compatible's message; a long list (a bpe run's thousands of
    merges) as its length and, where `other` is a list too, its first item that differs."""
    if not isinstance(value, list) or len(value) <= SHOWN_ITEMS:
        return f"{key}={value!r}"
    shown = f"{key}=[{len(value)} items]"
    if isinstance(other, list):
        i = next((i for i, (x, y) in enumerate(zip(value, other, strict=False)) if x != y), None)
        if i is not None:
            shown += f" (item {i} is {value[i]!r})"
    return shown


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict) or not d:
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out |= _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    return out

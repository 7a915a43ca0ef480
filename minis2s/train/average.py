"""Checkpoint averaging: the element-wise mean of the parameters of several checkpoints of one
run, written as a checkpoint that translates like any other (`minis2s average`).

    theta_avg = (1/K) sum_k theta_k        (in float64, then cast to the run's dtype)

The last few checkpoints of a run sit around the same minimum, and their mean is often a little
better than any of them, for the price of no training (Vaswani et al. 2017 average the last 5 or
20; fairseq's scripts/average_checkpoints.py, OpenNMT-py's tools/average_models.py). The runs'
hidden units must line up for the mean to mean anything: checkpoints of different runs (other
seeds) are averaged when asked, with a warning, since their mean is almost always worse than
either (an ensemble, `--checkpoint A --checkpoint B`, combines such runs instead). A
fine-tuning (`init_from`) descends from its start's weights, so the two are one lineage.

The checkpoints must have one model config (dropout aside), dtype, tokenizer, both
vocabularies, and the same parameter names and shapes; each refusal names two of them and the
first difference. The average holds the parameters, the config of the last checkpoint given
(with an "average" entry naming its inputs) and the vocabularies, but no optimizer or trainer
state: no run resumes from it (the moments of several points average to no one point's).
The checks of the paths, before any checkpoint is read, are in _average_checks.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minis2s import _warn, long_sources
from minis2s.train import checkpoint, keep
from minis2s.train._average_checks import check_paths

RUN_FIELDS = {"train.seed": "seeds", "data.train": "training pairs (their fingerprints)"}


def average(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write the mean of the parameters of the checkpoint directories `paths` to a new
    checkpoint `out` (atomically); returns its path. ValueError, naming two checkpoints and what
    differs, when they are not of one model (see the module docstring); a UserWarning when they
    come from different runs."""
    names = check_paths(paths, out)
    configs = [checkpoint.load_config(name) for name in names]  # state.json only: cheap
    for name, config in zip(names[1:], configs[1:], strict=True):
        why = config_difference(configs[0], config)
        why = why or tokenizer_difference((names[0], configs[0]), (name, config))
        if why:
            raise ValueError(f"{names[0]} and {name} have {why}; {SAME_MODEL}")
    _warn_other_runs(names, configs)
    first = _load(names[0])
    sums = {k: v.astype(np.float64) for k, v in first.params.items()}
    steps = [(first.trainer_state or {}).get("step")]
    for name in names[1:]:  # one at a time: memory for the sums and one checkpoint
        ckpt = _load(name)
        why = vocab_difference(first, ckpt) or param_difference(first.params, ckpt.params)
        if why:
            raise ValueError(f"{names[0]} and {name} have {why}; {SAME_MODEL}")
        for k, v in ckpt.params.items():
            sums[k] += v
        steps.append((ckpt.trainer_state or {}).get("step"))
    dtype = np.dtype(configs[-1].get("dtype", "float32"))
    params = {k: (s / len(names)).astype(dtype) for k, s in sums.items()}
    config = configs[-1] | {"average": {"checkpoints": names, "steps": steps}}
    config["data"] = {**config.get("data", {}), "longest_source": _longest_source(configs)}
    return checkpoint.save(out, params, config, vocabs=first.vocabs)


def _longest_source(configs: list[dict[str, Any]]) -> int | None:
    """The longest training source of the averaged checkpoints' runs (translate's note of longer
    sources reads it), None where one was saved without the figure: no note, not a wrong one."""
    figures = [long_sources.recorded(c) for c in configs]
    return None if None in figures else max(figures)


SAME_MODEL = (
    "average the checkpoints of one run (its best/, last/ and steps/, as --keep-checkpoints "
    "keeps them), whose models are one model at different points"
)


def last_kept(run: str | os.PathLike, k: int) -> list[str]:
    """The newest `k` checkpoints kept in `run`/steps (train/keep.py), oldest first."""
    if k < 1:
        raise ValueError(f"--last must be >= 1 (checkpoints to average); got {k}")
    if not os.path.isdir(run):
        raise FileNotFoundError(f"--run {run}: no such directory; give the --out of a run "
                                "trained with --keep-checkpoints K")  # fmt: skip
    found = [path for _, path in keep.kept(run)]
    if not found and (wrong := _not_a_run(run)):
        raise ValueError(wrong)
    if not found:
        raise FileNotFoundError(
            f"{run} keeps no checkpoints in {os.path.join(run, keep.STEPS)}: train it with "
            "--keep-checkpoints K (with --eval-every N for several an epoch), or give "
            "checkpoints with --checkpoint"
        )
    if len(found) < k and len(found) < 2:  # "ask for 1" would be refused: a mean needs two
        raise ValueError(
            f"--last {k}: {run} keeps 1 checkpoint in {keep.STEPS}/ "
            f"({os.path.basename(found[0])}), and a mean needs two or more: resume the run with "
            "--keep-checkpoints 2 or more (and more --epochs or --max-steps) to keep more, or "
            "give two or more checkpoints of other points with --checkpoint"
        )
    if len(found) < k:
        raise ValueError(
            f"--last {k}: {run} keeps {len(found)} checkpoint{'s' * (len(found) > 1)} in "
            f"{keep.STEPS}/ ({', '.join(os.path.basename(p) for p in found)}); ask for "
            f"{len(found)} or fewer"
        )
    return found[-k:]


def _not_a_run(run: str | os.PathLike) -> str | None:
    """The refusal of --run `run` when it is not a run but one of its checkpoints (best/, last/,
    steps/step-N), its steps/ folder, or a checkpoint of no run (an average): naming the run to
    give where there is one. None for anything else."""
    path = os.path.normpath(run)
    folder = os.path.dirname(path)
    if os.path.basename(path) == keep.STEPS and checkpoint.is_run(folder):
        return f"--run {run} is the folder of the checkpoints {folder} keeps: give --run {folder}"
    if not os.path.isfile(os.path.join(path, "state.json")):
        return None
    if os.path.basename(folder) == keep.STEPS:  # steps/step-N
        folder = os.path.dirname(folder)
    if checkpoint.is_run(folder):
        return f"--run {run} is a checkpoint, not a run: give --run {folder}, the run that holds it"
    return (
        f"--run {run} is a checkpoint, not a run (whose --keep-checkpoints K keeps checkpoints in "
        "steps/): give --run a run's --out, or checkpoints one by one with --checkpoint"
    )


def average_last(run: str | os.PathLike, k: int, out: str | os.PathLike) -> list[str]:
    """`average(last_kept(run, k), out)`, picked again when the run, training, deleted one of
    them meanwhile (its --keep-checkpoints trim after a new save); returns the paths averaged."""
    for _ in range(3):  # a trim comes once a scoring point: one more try is almost always enough
        paths = last_kept(run, k)
        try:
            average(paths, out)
            return paths
        except FileNotFoundError:
            if last_kept(run, k) == paths:  # not trimmed: missing for another reason
                raise
    raise RuntimeError(
        f"--run {run}: the run is training, and deleted the oldest of the {k} newest checkpoints "
        "it keeps while they were read, 3 times: rerun, or give --checkpoint with kept "
        "checkpoints copied elsewhere"
    )


def config_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first field of the model config or the dtype in which two checkpoint configs differ
    (fields added since a checkpoint was written at their defaults), or None. The options that
    shape no parameter and that a fine-tuning may set anew (`fine_tune.MAY_CHANGE`: dropout) are
    left out: a fine-tuning with less dropout and its start are one model, which WiSE-FT
    averages."""
    from minis2s.fine_tune import MAY_CHANGE
    from minis2s.train.config import with_new_fields

    def model(c: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in (with_new_fields(c).get("model") or {}).items()
                  if k not in MAY_CHANGE}  # fmt: skip
        return {"model": fields, "dtype": c.get("dtype", "float32")}

    ma, mb = model(a), model(b)
    changed = checkpoint.differences(ma, mb)
    if not changed:
        return None
    key = changed[0]
    x, y = checkpoint.flat(ma).get(key), checkpoint.flat(mb).get(key)
    what = "dtypes" if key == "dtype" else "model configs"
    return f"different {what} ({key} {x!r} and {y!r})"


def tokenizer_difference(*named_configs: tuple[str, dict[str, Any]]) -> str | None:
    """What differs between the tokenizers (name, Unicode form, BPE merges) that two checkpoints'
    configs record, each given as (its path, its config), or None."""
    from minis2s import _api_checks, _ensemble_checks

    a, b = (_api_checks.tokenizer_of(name, c.get("data", {})) for name, c in named_configs)
    return _ensemble_checks.tokenizer_difference(a, b)


def vocab_difference(a: checkpoint.Checkpoint, b: checkpoint.Checkpoint) -> str | None:
    """What differs between the vocabularies of two checkpoints, or None."""
    from minis2s import _ensemble_checks
    from minis2s.data.vocab import Vocab

    for side in ("src", "tgt"):
        va, vb = ((c.vocabs or {}).get(side) for c in (a, b))
        if va != vb:
            va, vb = (None if v is None else Vocab.from_dict(v) for v in (va, vb))
            return _ensemble_checks.vocab_difference(side, va, vb)
    return None


def param_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> str | None:
    """The first parameter that one of two checkpoints lacks, or whose shape or dtype differs."""
    only = sorted(set(a) ^ set(b))
    if only:
        which = "the first" if only[0] in a else "the second"
        return f"different parameters ({only[0]} in {which} only)"
    for name in sorted(a):
        for what in ("shape", "dtype"):
            x, y = getattr(a[name], what), getattr(b[name], what)
            if x != y:
                return f"different parameters ({name} has {what} {x} and {y})"
    return None


def _warn_other_runs(names: list[str], configs: list[dict[str, Any]]) -> None:
    """Warn when two checkpoints' configs say they come from different runs: another seed (other
    initial weights) or other training pairs. Two runs with one seed and one data are not told
    apart; their weights start equal, and their mean is of the kind this warning is not about."""
    flats = [checkpoint.flat(c) for c in configs]
    first_runs = lineage(names[0], configs[0])
    for name, config, flat in zip(names[1:], configs[1:], flats[1:], strict=True):
        if first_runs & lineage(name, config):  # a fine-tuning and its start share their units
            continue
        for key, what in RUN_FIELDS.items():
            x, y = flats[0].get(key), flat.get(key)
            if x is not None and y is not None and x != y:
                shown = f": {x} and {y}" if key == "train.seed" else ""
                _warn.warn(
                    f"{names[0]} and {name} come from different runs (other {what}{shown}): the "
                    "mean of separately trained models is almost always worse than either, "
                    "their hidden units being in no common order; average checkpoints of one "
                    "run, or decode with both as an ensemble (--checkpoint A --checkpoint B)",
                )
                return


def lineage(name: str, config: dict[str, Any], depth: int = 8) -> set[str]:
    """The run directories whose weights checkpoint `name` (its config `config`) descends from:
    its own run, and through `init_from` (a fine-tuning's start) and `average` (an average's
    inputs), theirs, as far as their checkpoints are still there to read."""
    runs = {_run_of(name)}
    starts = [(config.get("init_from") or {}).get("path")]
    starts += (config.get("average") or {}).get("checkpoints", [])
    for start in (s for s in starts if s and depth > 0):
        try:
            runs |= lineage(start, checkpoint.load_config(start), depth - 1)
        except (OSError, ValueError):  # deleted or moved since: its own run is all we know
            runs.add(_run_of(start))
    return runs


def _run_of(name: str) -> str:
    """The run directory of a checkpoint: runs/x of runs/x/best, runs/x/last and
    runs/x/steps/step-N; the checkpoint itself when it is in no run (an average)."""
    path = Path(os.path.realpath(name))
    if path.parent.name == keep.STEPS:
        return str(path.parent.parent)
    return str(path.parent) if path.name in ("best", "last") else str(path)


def _load(name: str) -> checkpoint.Checkpoint:
    """The checkpoint at `name`, refused when a parameter holds NaN or infinity, or a
    vocabulary is none that Translator.load reads (an average of it would not load either)."""
    from minis2s import _api_checks
    from minis2s.load_run import saved_vocab

    ckpt = checkpoint.load(name)
    _api_checks.check_finite_params(name, ckpt.params)
    for side, d in (ckpt.vocabs or {}).items():
        saved_vocab(name, side, d)
    return ckpt

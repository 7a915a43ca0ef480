"""Whether a run's last checkpoint may go on as this run: `--resume` continues a run exactly as it
would have gone on unstopped, so the checkpoint must hold the optimizer and trainer state (an
average holds none) and have been written by the same model, data and training options, compared
field by field (checkpoint.check_compatible). Only when to stop, when to score and how many
scored checkpoints to keep may change (RESUMABLE), and the backend, with a warning: the same math
through other kernels. The trainer puts the checkpoint's state back (`Trainer.resume`), once
`check_saved_state` has found it of the kinds the trainer's own state is (an edited or foreign
file is refused naming it); `minis2s train --resume` checks the saved model config and data
options first (check_saved_model, check_saved_data), as it reads its options from them.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from minis2s import _warn
from minis2s.train import checkpoint, tally
from minis2s.train.config import TrainConfig, with_new_fields

# training options a resumed run may change: when to stop, when to score (eval_every), and how
# many scored checkpoints to keep (keep_checkpoints)
RESUMABLE = ("epochs", "max_steps", "patience", "eval_every", "keep_checkpoints")


# meta["data"] entries that older runs did not save. "normalization": a task run saved before
# minis2s normalised text goes on normalising (the tasks' text is NFC: the same tokens); a corpus
# run goes on reading text as written (train_commands.train resumes it with its own tokenizer).
# "longest_source": the resumed run's data, the same pairs, records it from then on.
DATA_CHECKS = ("options", "train", "dev", "normalization", "longest_source")


def load_last(
    out_dir: str, meta: dict[str, Any], vocabs: dict[str, Any] | None
) -> checkpoint.Checkpoint | None:
    """`out_dir/last`, checked to go on as the run of config `meta` and `vocabs` (as the Trainer
    holds them); None when there is nothing to resume."""
    path = os.path.join(out_dir, "last")
    if not checkpoint.exists(path):  # also the old copy a save cut between renames leaves
        return None
    ckpt = checkpoint.load(path)
    if ckpt.trainer_state is None or ckpt.optimizer_state is None:
        raise ValueError(
            f"{path} holds no optimizer or trainer state (minis2s average writes none: the "
            "mean of several points has no one optimizer state), so no run goes on from "
            "it; translate or evaluate with it, or start a new run from it (--init-from)"
        )
    _check_same_run(path, ckpt, meta, vocabs)
    return ckpt


def _check_same_run(
    path: str, ckpt: checkpoint.Checkpoint, meta: dict[str, Any], vocabs: dict[str, Any] | None
) -> None:
    """Refuse `ckpt`, read from `path`, unless the run of `meta` and `vocabs` would have written
    it; warn when only the backend differs."""
    # The model, data and training options must match, so the run continues exactly as it
    # would have; only when to stop may change (and the backend: same math, other kernels).
    ignore = ("backend", *(f"train.{name}" for name in RESUMABLE))
    # BPE: the merges themselves (data.bpe_merges) are compared, not how many were asked
    # for, which a Tokenizer learned before and passed to load_data does not know
    ignore += ("data.options.bpe_merges",)
    # where the data was read (data.source) is not compared: the fingerprints of the pairs
    # decide whether it is the run's data, so a corpus moved, or named by other paths from
    # another directory, resumes, and an edited one is refused whatever its path; nor is
    # data.name, a corpus's file name (c.tsv: 'c'), so a corpus renamed resumes too
    ignore += ("data.source", "data.name")
    saved_data = ckpt.config.get("data", {})  # runs saved before the data's fingerprints:
    ignore += tuple(f"data.{k}" for k in DATA_CHECKS if k not in saved_data)  # no check
    try:
        checkpoint.check_compatible(with_new_fields(ckpt.config), meta, ignore=ignore)
    except ValueError as e:  # which checkpoint: its state.json may be the one edited
        raise ValueError(f"{path}: {e}") from None
    was, now = ckpt.config.get("backend"), meta.get("backend")
    if was is not None and now is not None and was != now:
        _warn.warn(
            f"resuming a run trained on the {was} backend on the {now} backend: the same "
            "math through other kernels, so it goes on within float rounding of the run "
            f"it continues, not bit for bit (resume with --backend {was} for that)",
        )
    if ckpt.vocabs is not None and vocabs is not None and ckpt.vocabs != vocabs:
        raise ValueError(
            f"the vocabularies differ from those of the checkpoint in {path} (same sizes, "
            "other tokens or order): resume with the data the run was built from"
        )


def check_saved_train(out: str, saved: dict, merged: dict, cli: bool = True) -> None:
    """The run's own train options, as its config records them, checked as the trainer will
    check them (TrainConfig) once `merged` with the ones given: one saved by an older minis2s,
    whose checks were looser (lr x weight_decay >= 1 was taken), or edited by hand
    (weight_decay: null), is refused here, by the run's name. TrainConfig's own words would
    name an option the user did not give (--weight-decay 1000000) and advise changing it, which
    a resume refuses; the way on is a new run from the run's parameters, with options of its
    own. One rule, two wordings: `cli`'s (--resume, --init-from) or pipeline.train's keywords
    (resume=True, init_from=), whose caller passes a TrainConfig already checked."""
    try:
        TrainConfig(**merged)
    except (TypeError, ValueError) as e:
        given = {k: v for k, v in merged.items() if k not in saved or not _same(saved[k], v)}
        try:  # the options given, on the defaults: refused too, they are at fault, by name
            TrainConfig(**given)
        except (TypeError, ValueError):
            raise e from None
        last = os.path.join(out, "last")
        flag, way_on = ("--resume", f"--optimizer, --lr and --weight-decay are its own: "
                        f"--init-from {last} --out NEW_DIR") if cli else (
                        "resume=True", "TrainConfig (optimizer, lr, weight_decay) is its own: "
                        f"pipeline.train(..., init_from={last!r}, out_dir=NEW_DIR)")  # fmt: skip
        raise ValueError(
            f"{flag}: the run in {out} was saved with train options that minis2s refuses "
            f"({e}); a resume goes on with the run's own optimizer and schedule, so it cannot "
            f"resume: train on from its parameters as a new run, whose {way_on}"
        ) from None


def check_saved_model(out: str, saved: dict[str, Any]) -> None:
    """The run's own model config, as its last checkpoint records it (`saved`, a dict), makes a
    ModelConfig: one edited by hand (bridge: 3, dropout: false) was ModelConfig's TypeError
    from deep inside `minis2s train --resume`, or named an option the user did not give
    (--cell abc). No resume, and no --init-from, goes on from a model of no config."""
    from minis2s.models import ModelConfig
    from minis2s.models.seq2seq_checks import check_fits

    try:  # check_fits: emb 10**30 was "out of memory ... a size option is too large: lower it"
        check_fits(ModelConfig.from_dict(saved), np.dtype(np.float32))
    except (TypeError, ValueError, MemoryError) as e:
        _refuse_saved(out, "a model config", e)


def check_saved_data(out: str, options: dict[str, Any]) -> None:
    """The run's own data options, as its last checkpoint records them: counts that load_data
    takes (min_freq, max_vocab, train_size, max_len, bpe_merges). One edited by hand (min_freq
    NaN) was refused as an option the user did not give (--min-freq nan), and the way on
    named (another --min-freq) is one a resume refuses."""
    from minis2s.data import load_checks

    try:
        load_checks.check_vocab_options(options.get("min_freq"), options.get("max_vocab"))
        for name in ("train_size", "max_len"):
            value = options.get(name)
            if value is not None and (load_checks.not_int(value) or value < 1):
                raise ValueError(f"{name} {value!r} is no count of pairs or tokens")
        load_checks.check_bpe("bpe", options.get("bpe_merges"))
    except ValueError as e:
        _refuse_saved(out, "data options", e)


def _refuse_saved(out: str, what: str, e: Exception) -> None:
    """ValueError: the run's last/state.json records `what` that minis2s refuses (why: `e`)."""
    file = os.path.join(out, "last", "state.json")
    raise ValueError(
        f"--resume: {file} records {what} that minis2s refuses ({e}); was the file edited, or "
        "written by another program? Put the run's own state.json back, or train a new run"
    ) from None


def _same(a: Any, b: Any) -> bool:
    """a == b, NaN the same as NaN: a NaN saved (edited in) is the run's, not given."""
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


def check_saved_options(out_dir: str, saved: dict[str, Any], tcfg: TrainConfig, cli: bool) -> None:
    """A resumed run's saved train options (its config's "train"), with the ones a resume may
    change taken from `tcfg`, as TrainConfig takes them: a run saved under looser checks (lr x
    weight_decay >= 1) or edited by hand (weight_decay null) is refused by its name, with the
    way on (init_from), where the checkpoint's comparison with `tcfg` asked the caller for the
    run's own options, which no TrainConfig takes. For pipeline.train (resume=True); the
    command line (resume_options) calls check_saved_train with the options it merged."""
    if isinstance(saved.get("train"), dict):
        resumable = {k: getattr(tcfg, k) for k in RESUMABLE}
        check_saved_train(out_dir, saved["train"], saved["train"] | resumable, cli=cli)


def check_saved_state(
    path: str,
    ckpt: checkpoint.Checkpoint,
    params: dict[str, Any],
    optimizer_state: dict[str, Any],
    trainer_state: dict[str, Any],
) -> None:
    """Refuse the checkpoint at `path` (from load_last) unless its parameters, optimizer state
    and trainer state are of the kinds this run's own are (`params`, `optimizer_state`,
    `trainer_state`: the fresh trainer's, the run's config being the checkpoint's): the same
    names, shapes and dtypes of arrays, numbers where numbers go. The trainer puts them back in
    place, so a parameter missing kept its random start, a scalar one was broadcast over its
    matrix and an edited count failed steps later, inside the training loop."""
    files = {"params.npz": (params, ckpt.params),
             "optimizer.npz": (optimizer_state, ckpt.optimizer_state)}  # fmt: skip
    for name, (arrays, saved) in files.items():
        file = os.path.join(path, name)
        missing, extra = sorted(set(arrays) - set(saved)), sorted(set(saved) - set(arrays))
        if missing or extra:
            _refuse(file, f"holds other arrays than this run's (missing {missing[:4]}, "
                          f"unexpected {extra[:4]})")  # fmt: skip
        for k, want in arrays.items():
            _check_like(file, k, saved[k], want)
            if name == "optimizer.npz" and not np.isfinite(saved[k]).all():  # inf in Adam's v
                _refuse(file, f"has NaN or infinity in {k}")  # froze its weight for good
    _check_like(os.path.join(path, "state.json"), "trainer_state", ckpt.trainer_state,
                trainer_state)  # fmt: skip


# what a schedule's or the early stopper's state holds of its settings: a finite number (a NaN
# min_delta never let a metric improve, and the run stopped early without a word)
SETTINGS = tuple(f"[{k!r}]" for k in ("factor", "threshold", "min_lr", "min_delta", "gamma"))

# trainer_state entries a checkpoint of an older minis2s lacks (the trainer puts defaults back)
OPTIONAL = ("record", "best_tiebreak", *tally.SUMS)


def _check_like(file: str, name: str, saved: Any, want: Any) -> None:
    """Refuse `saved`, entry `name` of `file`, unless it is of the kind of `want`: an array of
    its shape and dtype, a number (an integer where `want` is one; not a bool), a bool, the same
    string, a dict with (at least) its keys, each alike; where `want` is None (no record yet,
    no best loss yet), None, a number or a dict."""
    if getattr(want, "ndim", 0):  # an array (CuPy's too: the model's parameters)
        if not isinstance(saved, np.ndarray) or saved.shape != want.shape:
            got = f"shape {np.shape(saved)}" if isinstance(saved, np.ndarray) else repr(saved)
            _refuse(file, f"has {name} of {got}, where this run's model has {want.shape}")
        if saved.dtype != want.dtype:
            _refuse(file, f"has {name} of dtype {saved.dtype}, where this run's is {want.dtype}")
    elif isinstance(want, dict):
        if not isinstance(saved, dict):
            _refuse(file, f"has {name} = {saved!r:.40}, not a dict")
        extra = sorted(set(saved) - set(want))
        if extra and name != "trainer_state":  # whose "best" an older minis2s wrote
            _refuse(file, f"has {name} with keys minis2s does not write there: {extra[:4]}")
        for k, v in want.items():
            if k in saved:
                _check_like(file, f"{name}[{k!r}]", saved[k], v)
            elif k not in OPTIONAL:
                _refuse(file, f"has no {name}[{k!r}]")
    elif not _alike(saved, want, name):
        kind = {bool: "True or False", int: "an integer", float: "a number", str: repr(want)}
        said = kind.get(type(want), "a number, a dict or null")
        _refuse(file, f"has {name} = {saved!r:.40}, where minis2s writes {said}")


def _alike(saved: Any, want: Any, name: str) -> bool:
    """Whether `saved`, read from a checkpoint, is a value of `want`'s kind (see _check_like)."""
    number = isinstance(saved, int | float) and not isinstance(saved, bool)
    if name.endswith("['record']"):  # the last log line, which a fresh trainer has not yet
        return saved is None or isinstance(saved, dict)
    if want is None:  # a best loss not yet known
        return saved is None or number
    if isinstance(want, bool):
        return isinstance(saved, bool)
    if isinstance(want, str):
        return saved == want
    if isinstance(want, int):  # a count (>= 0); or an option given as 0 that was saved as 0.0
        return number and (isinstance(saved, int) and saved >= 0 or saved == want)
    if name in ("lr", "step"):  # the optimizer's: NaN was told as lr x weight_decay >= 1
        return number and math.isfinite(saved) and saved >= 0
    if name.endswith(SETTINGS):
        return number and math.isfinite(saved)
    return number  # a float


def _refuse(file: str, what: str) -> None:
    raise ValueError(
        f"{file} {what}; was the file edited, or copied from another run? A resume goes on "
        "exactly where the run stopped, so it cannot go on from it: put the run's own file back, "
        "or start a new run from a checkpoint of it that loads (--init-from, or pipeline.train's "
        "init_from)"
    )

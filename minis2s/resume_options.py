"""`minis2s train --resume`'s reading of the run it goes on with, from its last checkpoint's
config: the run's data (its --task, or its --data files, when neither is given again), and its
model, train and data options and tokenizer, the ones given checked against the run's own
before they are merged over them. Apart from train_commands.py, which runs a new, resumed or
--init-from run alike once its options are known; train/resume.py is the trainer's side (what
a resume may change).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from minis2s.cli_options import DATA_FIELDS
from minis2s.train import resume


def data_of_run(args: argparse.Namespace, out: str) -> argparse.Namespace:
    """`args` with the run's own --task, or --data (and the --dev-data and --test-data not
    given), as its config records them (data.source), for a --resume given neither."""
    if not args.resume or args.task is not None or args.data:
        return args
    saved = _saved_config(out)["data"]
    source = saved.get("source")
    if source is None:
        raise ValueError(_no_source(out, saved))
    if "task" in source:
        return argparse.Namespace(**vars(args) | {"task": source["task"]})
    corpus = {k: getattr(args, k) or source.get(k) for k in ("dev_data", "test_data")}
    corpus["data"] = source["data"]
    for name, paths in corpus.items():
        for path in paths or ():
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"--resume: the run in {out} was trained on --{name.replace('_', '-')} "
                    f"{path}, which is gone; give the run's data where it is now: --data FILE "
                    "[TARGET_FILE], with the --dev-data and --test-data it was trained with"
                )
    return argparse.Namespace(**vars(args) | corpus)


def _no_source(out: str, saved: dict) -> str:
    """The error for a run saved before minis2s recorded its data's source (resumed with
    neither --task nor --data): what it trained on, as far as its config says."""
    from minis2s.data.tasks import TASKS

    name, tokenizer = saved.get("name"), saved.get("tokenizer", "char")
    if name in TASKS and tokenizer == TASKS[name].tokenizer:
        was = f"a task's name; give --task {name}"
    else:  # a corpus's name is its (source) file's, without the extension
        was = (
            f"a corpus read with the {tokenizer} tokenizer, named after its file; give "
            "--data with that file, and the --dev-data and --test-data it was trained with"
        )
    return (
        f"give exactly one of --task (a built-in task) and --data (a corpus): the run in {out} "
        "was saved before minis2s recorded where a run's data comes from, so --resume cannot "
        f"read it from there; this run was trained on {name!r} ({was})"
    )


def resumed_options(
    args: argparse.Namespace, out: str, model_options: dict, train_options: dict,
    data_options: dict,
) -> tuple[dict, dict, dict, Any]:  # fmt: skip
    """--resume's model, train and data options (the run's, then the ones given) and tokenizer."""
    saved = _saved_config(out)
    resume.check_saved_model(out, saved["model"])
    _check_resumed_options(saved, model_options, train_options)
    model_options = {k: v for k, v in saved["model"].items() if k not in DATA_FIELDS} | (
        model_options
    )
    train_options = saved["train"] | train_options
    resume.check_saved_train(out, saved["train"], train_options)
    resume.check_saved_data(out, saved["data"].get("options", {}))
    data_options = saved["data"].get("options", {}) | {
        k: v for k, v in data_options.items() if v is not None
    }
    tokenizer = args.tokenizer
    if args.data and tokenizer in (None, saved["data"].get("tokenizer", "char")):
        from minis2s import _api_checks

        # the run's own: a bpe run's merges, and the normal form it reads text in (none
        # for a run saved before minis2s normalised text, which goes on as it was trained)
        tokenizer = _api_checks.tokenizer_of(os.path.join(out, "last"), saved["data"])
    if args.data and getattr(tokenizer, "name", None) == "bpe":
        asked = saved["data"].get("options", {}).get("bpe_merges")
        if args.bpe_merges is not None and args.bpe_merges != asked:
            raise ValueError(f"--resume goes on with the run's BPE merges ({asked} asked, "
                             f"{len(tokenizer.merges)} learned): leave --bpe-merges out, or "
                             f"start a new --out to learn {args.bpe_merges}")  # fmt: skip
    elif args.bpe_merges is None:  # another tokenizer asked: the trainer names the change
        data_options.pop("bpe_merges", None)
    return model_options, train_options, data_options, tokenizer


def _saved_config(out: str) -> dict:
    """The config of the run in `out` (its last checkpoint), for --resume."""
    from minis2s.train import checkpoint

    try:
        return checkpoint.load_config(os.path.join(out, "last"))
    except FileNotFoundError:
        if os.path.exists(os.path.join(out, "state.json")):  # a checkpoint, not a run
            raise ValueError(
                f"--resume: {out} is a checkpoint, not a run directory (which holds last/); "
                "a run resumes from its --out; an average (minis2s average) holds no optimizer "
                f"or trainer state, so train on from it as a new run: --init-from {out} --out NEW"
            ) from None
        raise FileNotFoundError(f"--resume: no checkpoint at {out}/last to resume from") from None


def _check_resumed_options(saved: dict, model_options: dict, train_options: dict) -> None:
    """The options given to --resume against the run's own, before they are merged: a value
    that differs is named as the trainer names it, rather than by the config check of the
    merged options (--emb 8 on a tied run of emb 16 read "tie_embeddings needs emb == hidden")."""
    from minis2s.train import checkpoint
    from minis2s.train.config import with_new_fields
    from minis2s.train.trainer import RESUMABLE

    saved = with_new_fields(saved)
    given = {"model": model_options,
             "train": {k: v for k, v in train_options.items() if k not in RESUMABLE}}  # fmt: skip
    was = {part: {k: saved[part].get(k) for k in options} for part, options in given.items()}
    checkpoint.check_compatible(was, given)

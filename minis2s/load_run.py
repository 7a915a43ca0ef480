"""`Translator.load`'s reading of a run: which checkpoint directory a path names (a run's best/ or
last/, or a checkpoint itself), and what in it makes a Translator: the model, in the dtype its
state.json names, both vocabularies and the tokenizer its config records.

Each refusal names the file and what is wrong with it (an edited or foreign state.json, NaN in the
parameters, vocabularies of another run): a checkpoint is read whole and checked before any
sentence is translated with it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from minis2s import _api_checks as checks
from minis2s import _warn
from minis2s.data.tokenize import Tokenizer
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train import checkpoint


def checkpoint_dir(path: str, which: str) -> str:
    """The checkpoint directory that `Translator.load(path, which)` reads."""
    if path == "":  # pathlib's "PosixPath('.') has an empty name" said nothing of it
        raise FileNotFoundError("no run or checkpoint at '': the path is empty; give a run "
                                "directory or one of its checkpoints (runs/x/best)")  # fmt: skip
    if checkpoint.exists(os.path.join(path, which)):
        return os.path.join(path, which)
    if which == "best" and checkpoint.exists(os.path.join(path, "last")):
        _warn.warn(
            f"{path} has no best checkpoint yet (one is written after a dev evaluation: "
            f"an epoch's end, or --eval-every's); using {os.path.join(path, 'last')}",
        )
        return os.path.join(path, "last")
    if os.path.isfile(path):  # a run's log.jsonl, a checkpoint's state.json or params.npz
        raise NotADirectoryError(a_file(path))
    if not os.path.exists(path) and not checkpoint.exists(path):  # exists: also a save's .old
        raise FileNotFoundError(
            f"no run or checkpoint at {path}: no such directory; give a run directory (as "
            "`minis2s train --out` writes it, by default runs/<task or corpus name>) or one of "
            "its checkpoints (runs/x/best, runs/x/last)"
        )
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "state.json")):
        _refuse_kept_folder(path)
        if which == "last" and checkpoint.exists(os.path.join(path, "best")):
            raise FileNotFoundError(
                f"{path} has no last checkpoint ({os.path.join(path, 'last')} is gone), but "
                f"its best one is there: load it with which='best' (the default), or give "
                f"{os.path.join(path, 'best')}"
            )
        inside = "best/ or last/" if which == "best" else "last/"
        raise FileNotFoundError(
            f"no checkpoint at {path}: expected a run directory (with {inside} inside, as "
            "`minis2s train --out` writes) or a checkpoint directory (with state.json)"
        )
    if which == "last" and os.path.basename(os.path.normpath(path)) != "last":
        _refuse_other_checkpoint(path)
    return path


def _refuse_other_checkpoint(path: str) -> None:
    """ValueError for a checkpoint directory (runs/x/best, runs/x/steps/step-N) given with
    which="last", which names another: the checkpoint was loaded, and which ignored."""
    parent = os.path.dirname(os.path.normpath(path))
    run = next((d for d in (parent, os.path.dirname(parent)) if checkpoint.is_run(d)), None)
    fix = f"give {os.path.join(run, 'last')}, or" if run else "give a run directory, or"
    raise ValueError(
        f"{path} is a checkpoint ({os.path.basename(os.path.normpath(path))}), but which='last' "
        f"names a run's last checkpoint: {fix} leave which out to load {path}"
    )


def a_file(path: str, flag: str = "", runs: bool = True) -> str:
    """The refusal of a file given where a run or checkpoint directory goes (`flag`: the option
    that gave it, to start the message), naming the run or checkpoint that holds it when one
    does (the message was 'no checkpoint directory at FILE', of a path the user can see).
    `runs`: a run directory is taken (translate's --checkpoint), else only checkpoints (average)."""
    holder = os.path.dirname(path) or "."
    if os.path.exists(os.path.join(holder, "state.json")):
        fix = f"give {holder}, the checkpoint that holds it"
    elif checkpoint.is_run(holder):
        fix = f"give {holder}, the run that holds it (its best/ is read)"
        if not runs:
            fix = f"give its checkpoints ({holder}/best, {holder}/last or {holder}/steps/step-N)"
    else:
        fix = ("give a run directory (as `minis2s train --out` writes it) or one of its "
               "checkpoints (runs/x/best, runs/x/last)")  # fmt: skip
    return f"{flag}{' ' * bool(flag)}{path} is a file, not a run or checkpoint directory: {fix}"


def read(
    checkpoint_dir: str,
) -> tuple[Seq2Seq, Vocab | None, Vocab, Tokenizer, dict[str, Any]]:
    """The Translator's arguments from the checkpoint in `checkpoint_dir`: (model, src_vocab
    (None for a feature model), tgt_vocab, tokenizer, config)."""
    ckpt = checkpoint.load(checkpoint_dir)
    checks.check_finite_params(checkpoint_dir, ckpt.params)
    if not isinstance(ckpt.config, dict) or not isinstance(ckpt.config.get("model"), dict):
        raise ValueError(
            f"{checkpoint_dir}: state.json has no model config (its config['model']); was the "
            "file edited, or written by another program?"
        )
    _check_config_shape(checkpoint_dir, ckpt.config)
    try:
        cfg = ModelConfig.from_dict(ckpt.config["model"])
    except (TypeError, ValueError) as e:  # a field unknown, of the wrong type or out of range
        raise ValueError(
            f"{checkpoint_dir}: state.json's model config does not make a model ({e}); was the "
            "file edited, or written by another program?"
        ) from None
    said = ckpt.config.get("dtype", "float32")
    try:
        dtype = np.dtype(said)
    except TypeError:
        dtype = None  # not a dtype at all: refused below, naming the file
    if dtype not in (np.float32, np.float64):
        raise ValueError(
            f"{checkpoint_dir}: state.json says dtype {said}; minis2s models are float32 "
            "or float64 (was the file edited, or written by another program?)"
        )
    from minis2s import backend

    params = {k: backend.current().asarray(v, dtype=dtype) for k, v in ckpt.params.items()}
    try:
        model = Seq2Seq(cfg, params, dtype=dtype)
    except ValueError as e:  # "was this checkpoint ...": which one, of an ensemble's
        raise ValueError(f"{checkpoint_dir}: {e}") from None
    except MemoryError as e:  # (validate.TooLarge) a config edited: its params.npz was read
        raise ValueError(
            f"{checkpoint_dir}: state.json's model config makes a model too large for this "
            f"machine ({e}), yet params.npz was read whole; was the file edited, or written by "
            "another program?"
        ) from None
    vocabs = {side: saved_vocab(checkpoint_dir, side, v) for side, v in (ckpt.vocabs or {}).items()}
    checks.check_vocabs(checkpoint_dir, cfg, vocabs)
    src_vocab, tgt_vocab = vocabs.get("src"), vocabs["tgt"]
    if cfg.share_embeddings:  # one matrix, so one vocabulary: the same Vocab for both sides
        if src_vocab != tgt_vocab:
            raise ValueError(
                f"{checkpoint_dir}: the model shares one embedding matrix between source and "
                "target (share_embeddings), but its source and target vocabularies differ; was a "
                "vocabulary file edited, or taken from another run?"
            )
        src_vocab = tgt_vocab
    tokenizer = checks.tokenizer_of(checkpoint_dir, ckpt.config.get("data", {}))
    return model, src_vocab, tgt_vocab, tokenizer, ckpt.config


def saved_vocab(checkpoint_dir: str, side: str, d: Any) -> Vocab:
    """Vocab.from_dict of the checkpoint's `side` vocabulary, a refusal naming its file: one
    that is no Vocab, or that holds a token no tokenizer makes (Vocab.check_tokenized)."""
    try:
        vocab = Vocab.from_dict(d)
        vocab.check_tokenized()
        return vocab
    except ValueError as e:
        file = os.path.join(checkpoint_dir, checkpoint.VOCAB_FILES[side])
        raise ValueError(f"{file}: {e}; was the file edited, or taken from elsewhere?") from None


def _check_config_shape(checkpoint_dir: str, config: dict[str, Any]) -> None:
    """ValueError naming state.json where the config's sections that minis2s reads after
    loading (train's seed, data's options and longest_source) are not as checkpoint.save writes
    them: a file edited by hand, or written by another program."""
    data = config.get("data", {})
    sections = {"config['train']": config.get("train", {}), "config['data']": data}
    if isinstance(data, dict):
        sections["config['data']['options']"] = data.get("options", {})
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise ValueError(
                f"{checkpoint_dir}: state.json's {name} is {section!r:.40}, not a dict; was "
                "the file edited, or written by another program?"
            )
    longest = data.get("longest_source")
    if longest is not None and (type(longest) is not int or longest < 1):
        raise ValueError(
            f"{checkpoint_dir}: state.json's config['data']['longest_source'] is {longest!r:.40}, "
            "not a count of tokens (an integer >= 1, or null); was the file edited, or written by "
            "another program?"
        )


def _refuse_kept_folder(path: str) -> None:
    """FileNotFoundError naming what to give when `path` is a run's `steps/`, the folder of the
    checkpoints that --keep-checkpoints keeps (train/keep.py), not a checkpoint itself."""
    from minis2s.train import keep

    run = os.path.dirname(os.path.normpath(path)) or "."
    found = keep.kept(run) if os.path.basename(os.path.normpath(path)) == keep.STEPS else []
    if not found:
        return
    newest = found[-1][1]
    raise FileNotFoundError(
        f"{path} holds the checkpoints that --keep-checkpoints kept ({len(found)}, the newest "
        f"{newest}), not one checkpoint: give one of them (such as {newest}), the run "
        f"{run} (its best/), or their mean (`minis2s average --run {run} --last K --out NEW`)"
    )

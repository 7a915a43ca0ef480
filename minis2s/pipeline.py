"""A training run from start to end: data -> vocabularies -> model -> Trainer -> test figures.

The command line (`minis2s train`) is a thin layer over `load_data` (from minis2s.data.loading,
re-exported here) and `train`, which the Python API can call the same way:

    >>> from minis2s import pipeline
    >>> from minis2s.models import ModelConfig
    >>> from minis2s.train.config import TrainConfig
    >>> data = pipeline.load_data(task="reverse-digits")  # doctest: +SKIP
    >>> tr = pipeline.train(data, {"hidden": 64}, TrainConfig(epochs=2), "runs/x")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from minis2s import _warn, backend, fine_tune, long_sources, validate
from minis2s.api import Translator
from minis2s.data.encoded import encoded_pairs
from minis2s.data.loading import (
    DATA_OPTIONS,
    Corpus,
    Data,
    load_data,
    within,
)
from minis2s.data.provenance import fingerprint, run_name
from minis2s.dev_figures import dev_evaluator
from minis2s.models import Seq2Seq
from minis2s.run_checks import (
    check_adamw_decay,
    check_batch_room,
    check_no_run,
    check_out_dir,
    check_recordable,
    check_train_arguments,
    check_vectors_options,
)
from minis2s.run_config import as_the_run_reads, run_config
from minis2s.run_model import check_new_model, load_pretrained, make_model
from minis2s.train import checkpoint, run_lock
from minis2s.train.accumulate import groups
from minis2s.train.config import TrainConfig
from minis2s.train.console import eval_every_note
from minis2s.train.frozen_embeddings import frozen_params
from minis2s.train.resume import check_saved_options
from minis2s.train.trainer import Trainer

# the data half of a run, from minis2s.data.loading and minis2s.data.provenance, is reached
# here too: pipeline.load_data, pipeline.fingerprint;
# make_model, check_new_model from minis2s.run_model; dev_evaluator from minis2s.dev_figures
__all__ = [
    "Corpus", "Data", "DATA_OPTIONS", "load_data", "within", "fingerprint", "run_name",
    "make_model", "dev_evaluator", "check_out_dir", "check_vectors_options", "train",
    "as_the_run_reads", "run_config", "check_recordable", "check_batch_room",
]  # fmt: skip


# Reversed, a bidirectional encoder is the plain one with its directions' weights exchanged
# (tests/test_reverse_source_equivalence.py): a user asking for Sutskever's trick gets only another
# random draw unless told.
def _reversed_bidirectional(cli: bool) -> str:
    """The warning of a reversed source read by a bidirectional encoder, in model_options' words
    or with `cli` in train's options."""
    said, fix = "reverse_source", "pass bidirectional=False in model_options"
    if cli:
        said, fix = "--reverse-source", "add --no-bidirectional"
    return (
        f"{said} with a bidirectional encoder (the default) only exchanges its two directions, "
        "another random draw of the same model; Sutskever et al.'s reversed reading is a one-way "
        f"encoder's: {fix}, README Things to try 16"
    )


def train(
    data: Data,
    model_options: dict[str, Any],
    tcfg: TrainConfig,
    out_dir: str,
    *,
    resume: bool = False,
    dtype: str | None = None,
    progress: bool = True,
    src_vectors: str | os.PathLike | None = None,
    tgt_vectors: str | os.PathLike | None = None,
    init_from: str | os.PathLike | fine_tune.Start | None = None,
    cli: bool = False,
) -> Translator:
    """Train a model on `data`, writing checkpoints and log.jsonl to `out_dir`. `dtype`:
    float32 (the default) or float64; None when resuming is the run's own. `src_vectors` /
    `tgt_vectors`: a file of pretrained word vectors (`minis2s.data.vectors`) whose vectors
    initialise a new run's source / target embeddings (keep them fixed with
    `tcfg.freeze_embeddings`). `resume` goes on with the run in `out_dir`, reading text as it
    did (`as_the_run_reads`: a corpus run saved before minis2s normalised text, as written).
    `init_from` starts a new run from a trained one (`minis2s.fine_tune`): its model, tokenizer,
    vocabularies (in place of the data's own; a max_len must have counted its tokens) and
    parameters; the dtype too unless given; of `model_options`, only dropout may differ from
    its. `cli`: the command line (minis2s train) calls it, and a refusal of `out_dir` names its
    flags (--resume), not these keywords.

    Returns a Translator holding the best checkpoint's parameters.
    """
    _check_arguments(data, model_options, tcfg, out_dir, resume=resume, progress=progress,
                     cli=cli, init_from=init_from, src_vectors=src_vectors,
                     tgt_vectors=tgt_vectors)  # fmt: skip
    start, saved = _earlier_runs(out_dir, resume, init_from, cli)
    if saved:  # before the data is read as the run did: options no TrainConfig takes
        check_saved_options(out_dir, saved, tcfg, cli)
    if dtype is None:
        dtype = saved.get("dtype", start.config.get("dtype", "float32") if start else "float32")
    data, model_options, start = _read_as_earlier_runs(
        data, model_options, out_dir, saved, start, resume, cli
    )
    _check_run(data, model_options, tcfg, out_dir, resume, start, init_from, cli)
    # before the model: output_bias="unigram" counts train_ex; load_data's, as it read them
    train_ex, unk = encoded_pairs(data, "train")
    model = make_model(data, model_options, tcfg.seed, np.dtype(dtype), train_ex)
    if start is not None and not resume:
        fine_tune.copy_weights(model, start, cli=cli)
    frozen_params(tcfg, model.cfg)  # a freeze the model cannot take, refused before the vectors
    load_pretrained(model, data, src_vectors, tgt_vectors, progress, cli)
    dev_ex, dev_unk = encoded_pairs(data, "dev")
    check_batch_room(train_ex, tcfg.tokens_per_batch)
    meta = _run_meta(data, model, tcfg, train_ex, saved, start, resume)
    translator = Translator(model, data.src_vocab, data.tgt_vocab, data.tokenizer, meta)
    if start is not None and not resume:
        _tell_start(meta["init_from"], progress)
    trainer = Trainer(
        model, tcfg, train_ex, dev_evaluator(data, translator, tcfg, dev_ex, cli=cli), out_dir,
        meta=meta, vocabs=_vocabs(data), progress=progress,
        resume_hint="rerun with --resume" if cli else
        "to go on, call pipeline.train with the same arguments and resume=True", cli=cli,
    )  # fmt: skip
    _warn_before_training(trainer, new_model=not resume and start is None, cli=cli)
    if progress:
        print(f"{data.name}: {len(data.train)} train / {len(data.dev)} dev / {len(data.test)} "
              f"test pairs; {model.num_params():,} parameters; backend {backend.current().name}; "
              f"{unk + dev_unk} unknown tokens mapped to <unk>")  # fmt: skip
    with run_lock.hold(out_dir):  # one trainer at a time in out_dir (train/run_lock.py)
        if not resume:  # another new run may have trained here since check_out_dir
            check_no_run(out_dir, init_from, cli=cli)
        _start(trainer, out_dir, resume, progress)
        trainer.fit()
    best = Translator.load(out_dir, "best" if checkpoint.exists(f"{out_dir}/best") else "last")
    return best


def _check_arguments(
    data: Data,
    model_options: dict[str, Any],
    tcfg: TrainConfig,
    out_dir: str,
    *,
    resume: bool,
    progress: bool,
    cli: bool,
    init_from: Any,
    src_vectors: Any,
    tgt_vectors: Any,
) -> None:
    """train's arguments are of their types and do not conflict, before any file is read."""
    for name, flag in (("resume", resume), ("progress", progress), ("cli", cli)):
        validate.boolean("train", name, flag)  # resume="no" resumed
    check_train_arguments(data, model_options, tcfg, out_dir)  # not an AttributeError inside
    if init_from is not None:  # first: the conflict is what to fix, not a missing file
        fine_tune.check_options({"resume": resume, "src_vectors": src_vectors,
                                 "tgt_vectors": tgt_vectors})  # fmt: skip
    check_vectors_options(resume, src_vectors, tgt_vectors, cli=cli)


def _earlier_runs(
    out_dir: str, resume: bool, init_from: Any, cli: bool
) -> tuple[fine_tune.Start | None, dict[str, Any]]:
    """The runs this one goes on from: (the run `init_from` names, or None; resumed, the config
    of out_dir/last, else {}). FileNotFoundError for a resume with no checkpoint to go on from."""
    start = None if init_from is None else fine_tune.load_run(init_from, cli=cli)
    last = os.path.join(out_dir, "last")
    saved = checkpoint.load_config(last) if resume and checkpoint.exists(last) else {}
    if resume and not saved:  # before the lock makes out_dir (a mistyped one stays unmade)
        run_lock.check_free(out_dir)  # a run another process trains, not yet saved: name it
        flag = "--resume" if cli else "resume=True"
        raise FileNotFoundError(f"{flag}: no checkpoint at {out_dir}/last to resume from")
    return start, saved


def _read_as_earlier_runs(
    data: Data,
    model_options: dict[str, Any],
    out_dir: str,
    saved: dict[str, Any],
    start: fine_tune.Start | None,
    resume: bool,
    cli: bool,
) -> tuple[Data, dict[str, Any], fine_tune.Start | None]:
    """(data, model_options, start) as the runs this one goes on from have them: a resumed run
    reads text as it did; a fine-tuning (new, or resumed: its start reloaded from its own last/)
    reads with its start's tokenizer and vocabularies and takes its start's model options."""
    if saved:
        data = as_the_run_reads(data, saved, out_dir)
    if "init_from" in saved:  # a fine-tuning resumed: it reads text as RUN did, as it started
        start = fine_tune.load_run(os.path.join(out_dir, "last"))
    if start is not None:
        data = fine_tune.read_as_run(data, start, cli=cli)
        model_options = fine_tune.model_options(start, model_options, check=not resume, cli=cli)
    return data, model_options, start


def _check_run(
    data: Data,
    model_options: dict[str, Any],
    tcfg: TrainConfig,
    out_dir: str,
    resume: bool,
    start: fine_tune.Start | None,
    init_from: Any,
    cli: bool,
) -> None:
    """The refusals of the run as it will train, before its model is built: a tokenizer that a
    checkpoint cannot record, a new run's AdamW without decay, an out_dir that cannot hold it,
    and a new model's options (check_new_model)."""
    check_recordable(data.tokenizer)
    check_adamw_decay(tcfg, resume, cli=cli)
    check_out_dir(out_dir, resume, init_from, cli=cli)
    if not resume and start is None:  # a resumed or fine-tuned run's vocabularies are its own
        check_new_model(data, model_options, tcfg, cli=cli)


def _vocabs(data: Data) -> dict[str, Any]:
    """The data's vocabularies as a checkpoint stores them ("src" only where sources are
    tokens, not feature frames)."""
    vocabs = {"tgt": data.tgt_vocab.to_dict()}
    if data.src_vocab is not None:
        vocabs["src"] = data.src_vocab.to_dict()
    return vocabs


def _run_meta(
    data: Data,
    model: Seq2Seq,
    tcfg: TrainConfig,
    train_ex: list,
    saved: dict[str, Any],
    start: fine_tune.Start | None,
    resume: bool,
) -> dict[str, Any]:
    """What the run records of itself in every checkpoint (run_config), with its longest training
    source (translate's notes), and what a resumed run or a fine-tuning keeps of where it came
    from: the data's source, the run it started from."""
    meta = run_config(data, model, tcfg)
    meta["data"]["longest_source"] = long_sources.record(train_ex)  # translate's notes
    if resume and "source" in saved.get("data", {}) and "source" not in meta["data"]:
        meta["data"]["source"] = saved["data"]["source"]  # Data built without: the run's stays
    if start is not None:  # where it started: a resume goes on from its own last/
        meta["init_from"] = saved["init_from"] if resume else fine_tune.record(start, train_ex)
    return meta


def _tell_start(init_from: dict[str, Any], progress: bool) -> None:
    """Say what a new fine-tuning starts from (its meta["init_from"]): as a warning, which
    --quiet does not hide, where its data has tokens the start's vocabularies lack."""
    if any(init_from["unknown"].values()):  # --quiet hides no loss
        _warn.warn(fine_tune.describe(init_from))
    elif progress:
        print(fine_tune.describe(init_from))


def _warn_before_training(trainer: Trainer, new_model: bool, cli: bool) -> None:
    """Warnings (which --quiet, progress=False, does not hide) of options that work against
    each other: an --eval-every N beyond every update the run makes, and a new model's
    reversed source read by a bidirectional encoder (with `cli` in train's options)."""
    tcfg, cfg = trainer.tcfg, trainer.model.cfg
    if tcfg.eval_every:
        n_batches = len(trainer.epoch_batches(0))  # counted, not made
        note = eval_every_note(tcfg, len(groups(range(n_batches), tcfg.accum_steps)))
        if note:
            _warn.warn(note)
    if new_model and cfg.reverse_source and cfg.bidirectional:
        _warn.warn(_reversed_bidirectional(cli))  # a new run's choice, still open


def _start(trainer: Trainer, out_dir: str, resume: bool, progress: bool) -> None:
    """Resume the run in out_dir, or (check_out_dir made sure it holds no old one) start one."""
    if resume:
        if not trainer.resume():
            raise FileNotFoundError(f"--resume: no checkpoint at {out_dir}/last to resume from")
        if progress:  # state["epoch"] counts finished epochs; a log line names its own, 1-based
            s = trainer.state
            where = (f"after epoch {s['epoch']}" if s["batch"] == 0 else
                     f"{s['batch']} batches into epoch {s['epoch'] + 1}")  # fmt: skip
            print(f"resumed from {out_dir}/last at update {s['step']}, {where}")
    # A path that cannot be written fails here, not at the end of the first epoch:
    os.makedirs(out_dir, exist_ok=True)

"""What a training run's options must satisfy before it begins: its --out directory, its pretrained
vectors, a new run's optimizer (no AdamW without decay), its tokenizer (one a checkpoint can record)
and its batches' room for the longest pair. Each error names the fix; pipeline.train and the command
line call these before the data is read or training starts, and pipeline re-exports them."""

from __future__ import annotations

import os
from typing import Any

from minis2s.data.tokenize import TOKENIZERS, get_tokenizer
from minis2s.train import checkpoint, keep, run_lock


def check_train_arguments(data: Any, model_options: Any, tcfg: Any, out_dir: Any) -> None:
    """pipeline.train's positional arguments are of their types: a None, a dict for the
    TrainConfig or a task's name for the Data was an AttributeError or TypeError from deep
    inside (`'dict' object has no attribute 'optimizer'`)."""
    from collections.abc import Mapping

    from minis2s._api_checks import describe
    from minis2s.data.loading import Data
    from minis2s.train.config import TrainConfig

    if not isinstance(data, Data):
        raise ValueError(
            f"pipeline.train: data is {describe(data)}; pass the Data that pipeline.load_data "
            "returns (pipeline.load_data(task='dates'), or data='corpus.tsv')"
        )
    if not isinstance(model_options, Mapping):
        raise ValueError(
            f"pipeline.train: model_options is {describe(model_options)}; pass a dict of "
            "ModelConfig fields ({'hidden': 64}), {} for the defaults (the data sets the "
            "vocabulary sizes)"
        )
    if not isinstance(tcfg, TrainConfig):
        fix = "TrainConfig(**tcfg)" if isinstance(tcfg, Mapping) else "TrainConfig(epochs=10)"
        what = "a dict" if isinstance(tcfg, Mapping) else describe(tcfg)
        raise ValueError(f"pipeline.train: tcfg is {what}; pass a TrainConfig: {fix}")
    if not isinstance(out_dir, str | os.PathLike):
        raise ValueError(
            f"pipeline.train: out_dir is {describe(out_dir)}; pass the run directory, a path "
            "('runs/dates')"
        )
    if not os.fspath(out_dir).strip():  # os.makedirs('') failed naming nothing; ' ' made ' '
        raise ValueError(
            f"pipeline.train: out_dir is {os.fspath(out_dir)!r}, a blank path; pass the run "
            "directory ('runs/dates')"
        )


def check_out_dir(
    out_dir: str, resume: bool = False, init_from: Any = None, *, cli: bool = False
) -> None:
    """A run's directory may be missing (it is made) but not be a file, and a new run's must
    hold nothing of an old one (`init_from`: the run a fine-tuning starts from). The command line
    checks before it reads the data (a large corpus, and learning its BPE merges, take a while),
    with `cli`: its messages name the flags (--resume), pipeline.train's the keywords.
    A run another process trains is refused first, new or resumed (run_lock.py)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"--out {out_dir} is a file, not a directory: choose another "
                                 "--out (a directory, made if missing)")  # fmt: skip
    checkpoint.refuse_blocked_above(out_dir, "--out", "this run")
    if os.path.islink(out_dir) and not os.path.exists(out_dir):  # makedirs: "File exists"
        raise FileNotFoundError(
            f"--out {out_dir} is a symlink to {os.readlink(out_dir)}, which does not exist (a "
            "disk not mounted?): make that directory, or choose another --out"
        )
    run_lock.check_free(out_dir)
    if not resume:
        check_no_run(out_dir, init_from, cli=cli)


def check_no_run(out_dir: str, init_from: Any = None, *, cli: bool = False) -> None:
    """`out_dir` holds nothing of an old run, for a new one (check_out_dir's part that does not
    look at the lock). pipeline.train checks again once it holds the lock: a new run started
    with this one into the same out_dir passed the first check too, and may have trained and
    ended there since."""
    if os.path.isfile(os.path.join(out_dir, "state.json")):  # e.g. what minis2s average wrote
        raise FileExistsError(
            f"--out {out_dir} is a checkpoint, not a run directory: a run would write its best/ "
            "and last/ inside it; choose another --out (to train on from this checkpoint: "
            f"--init-from {out_dir})"
        )
    for which in ("best", "last"):  # the user's own folder (or file): found at the first save
        folder = os.path.join(out_dir, which)
        if os.path.lexists(folder) and not os.path.isfile(os.path.join(folder, "state.json")):
            raise FileExistsError(
                f"{folder} is not a checkpoint (it holds no state.json), and a run writes its "
                f"{which} checkpoint there, replacing what is there; move it away or choose "
                "another --out"
            )
    if checkpoint.exists(os.path.join(out_dir, "last")) and init_from is not None:
        raise FileExistsError(  # --resume, the usual fix, conflicts with --init-from
            f"{out_dir} already holds a run; --init-from starts a new one: choose another --out "
            f"(the run it starts from, {init_from}, is only read)"
        )
    if checkpoint.exists(os.path.join(out_dir, "last")):
        fix = "--resume to continue it or choose another --out"
        if not cli:  # pipeline.train's caller passes keywords
            fix = "resume=True to continue it or choose another out_dir"
        raise FileExistsError(f"{out_dir} already holds a run; pass {fix}")
    if os.path.exists(os.path.join(out_dir, "log.jsonl")):  # its checkpoints were removed
        raise FileExistsError(
            f"{out_dir} holds the log.jsonl of an earlier run (without its checkpoints), which a "
            "new run would add to; move that file away or choose another --out"
        )
    kept = keep.kept(out_dir)  # without last/: a new run's trims would mix the two runs' steps
    if kept:
        raise FileExistsError(
            f"{os.path.join(out_dir, keep.STEPS)} holds {len(kept)} checkpoint"
            f"{'s' * (len(kept) > 1)} kept by an earlier run (--keep-checkpoints), which a new "
            "run would mix with its own; move that folder away or choose another --out"
        )


def check_vectors_options(
    resume: bool,
    src_vectors: str | os.PathLike | None,
    tgt_vectors: str | os.PathLike | None,
    *,
    cli: bool = False,
) -> None:
    """Pretrained vectors initialise a new run: a resumed one's embeddings are in its
    checkpoint. Checked (with the files' existence) before any data is read; with `cli`, the
    messages name the flags (--src-vectors), pipeline.train's the keywords (src_vectors)."""
    for side, path in (("src", src_vectors), ("tgt", tgt_vectors)):
        if path is None:
            continue
        named = f"--{side}-vectors" if cli else f"{side}_vectors"
        if not isinstance(path, str | os.PathLike):
            raise ValueError(f"{side}_vectors is {type(path).__name__} {path!r:.40}; give the "
                             "path of a file of word vectors (GloVe, word2vec or fastText "
                             "text)")  # fmt: skip
        if resume:
            raise ValueError(
                f"{named} initialises a new run's embeddings; a resumed run goes on with those in "
                "its checkpoint: leave it out"
            )
        if os.path.isdir(path):
            raise IsADirectoryError(f"{named} {path}: a directory; give the vectors' file")
        if not os.path.exists(path):  # not isfile: <(zcat glove.txt.gz) is a pipe, read once
            raise FileNotFoundError(f"{named} {path}: no such file")


def check_adamw_decay(tcfg: Any, resume: bool, *, cli: bool = False) -> None:
    """ValueError for a new run's AdamW with weight decay 0, which is Adam (a resumed run's
    optimizer is its own: old runs still resume), in TrainConfig's words or with `cli` in train's
    options."""
    if resume or str(tcfg.optimizer).lower() != "adamw" or tcfg.weight_decay != 0:
        return
    if cli:
        raise ValueError(
            "--optimizer adamw with weight decay 0 is Adam; give a --weight-decay (0.01 is "
            "PyTorch's AdamW default) or --optimizer adam"
        )
    raise ValueError(
        "TrainConfig optimizer='adamw' with weight_decay 0 is Adam; give a weight_decay (0.01 "
        "is PyTorch's AdamW default) or optimizer='adam'"
    )


def check_batch_room(examples: list, tokens_per_batch: int) -> None:
    """Each training example fits a batch of `tokens_per_batch` padded tokens (0: batches count
    sentences) on its own, max(S, T) with T counting </s>; else the error names the two fixes
    before training begins, where `batches` could name only a position in the shuffled pairs."""
    if not tokens_per_batch or not examples:
        return
    need = max(max(len(src), len(tgt) + 1) for src, tgt in examples)
    if need > tokens_per_batch:
        drop = f", or drop the longer pairs with --max-len {tokens_per_batch - 1}"
        raise ValueError(
            f"--tokens-per-batch {tokens_per_batch} cannot hold the longest training pair, "
            f"which alone needs max(S, T) = {need} padded tokens (T counts </s>): raise it to "
            f"{need} or more" + drop * (tokens_per_batch > 1)  # a target's T is 2 or more
        )


def check_recordable(tokenizer: Any) -> None:
    """A checkpoint records its tokenizer by name (a "bpe" one with its merges), and
    Translator.load and --resume rebuild it from that: a Tokenizer of one's own would train a run
    that cannot be loaded, or that loads with the built-in tokenizer of its name."""
    tok = get_tokenizer(tokenizer)
    built_in = TOKENIZERS.get(tok.name)
    if tok.name == "bpe" or (built_in is not None and tok == built_in._replace(form=tok.form)):
        return
    raise ValueError(
        f"the tokenizer {tok.name!r} of your own cannot be recorded in a checkpoint, which "
        f"names one of {', '.join(TOKENIZERS)}, bpe (rebuilt from its merges), and is read "
        'back with it: train with one of those (tokenizer="word" ...), or write the training '
        "loop yourself (README, The Python API)"
    )

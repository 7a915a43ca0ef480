"""A training run from start to end: data -> vocabularies -> model -> Trainer -> test figures.

The command line (`minis2s train`) is a thin layer over `load_data` and `train`, which the
Python API can call the same way:

    >>> from minis2s import pipeline
    >>> from minis2s.models import ModelConfig
    >>> from minis2s.train.config import TrainConfig
    >>> data = pipeline.load_data(task="reverse-digits")  # doctest: +SKIP
    >>> tr = pipeline.train(data, {"hidden": 64}, TrainConfig(epochs=2), "runs/x")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Sequence
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np

from minis2s import backend, metrics
from minis2s.api import Translator
from minis2s.data import bpe
from minis2s.data.batching import batches, encode_pairs
from minis2s.data.corpus import read_corpus
from minis2s.data.tasks import TASKS, get_task
from minis2s.data.tokenize import BPE_MERGES, Tokenizer, get_tokenizer
from minis2s.data.vocab import SPECIALS, Vocab
from minis2s.decode.common import NoHypothesis
from minis2s.models import ModelConfig, Seq2Seq, pretrained
from minis2s.train import checkpoint
from minis2s.train.config import TrainConfig, frozen_params
from minis2s.train.trainer import Trainer

Corpus = str | os.PathLike | Sequence[str | os.PathLike]  # one TSV file, or source and target


class Data(NamedTuple):
    """Raw (source, target) pairs per split, the vocabularies built on train, and how to
    tokenize (a name, or the Tokenizer a corpus taught: "bpe"). `features` > 0: sources are
    (S, F) float arrays and src_vocab is None."""

    train: list
    dev: list
    test: list
    src_vocab: Vocab | None
    tgt_vocab: Vocab
    tokenizer: str | Tokenizer
    features: int
    name: str
    skipped: int = 0  # training pairs dropped for being longer than max_len
    options: dict[str, Any] | None = None  # the DATA_OPTIONS load_data used


DATA_OPTIONS = ("train_size", "max_len", "min_freq", "max_vocab")  # shape the training data


def load_data(
    *,
    task: str | None = None,
    data: Corpus | None = None,
    dev_data: Corpus | None = None,
    test_data: Corpus | None = None,
    tokenizer: str | Tokenizer | None = None,
    min_freq: int | None = None,
    max_vocab: int | None = None,
    max_len: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
    bpe_merges: int | None = None,
) -> Data:
    """A built-in task's splits, or a corpus (dev: `dev_data`, else 5% of its distinct pairs held
    out, unseen in training). A corpus is one TSV file or a (source, target) pair of files
    aligned line by line (read_corpus).

    `train_size` keeps only the first that many training pairs (quick experiments); `max_len`
    drops training pairs with more tokens on either side (dev and test are kept whole). A corpus is
    tokenized by `tokenizer` ("char" unless given, "word", "wordpunct", or "bpe": wordpunct's
    words split into subword pieces by `bpe_merges` merges (default BPE_MERGES) learned from the
    training pairs, both sides together; a Tokenizer that `minis2s.data.bpe` made is used as it
    is). A task brings its own tokenizer, splits and lengths, so `dev_data`, `test_data`,
    `max_len`, `tokenizer` and `bpe_merges` are for corpora.
    """
    _check_choices(task, data, dev_data, test_data, tokenizer, max_len, train_size, bpe_merges)
    _check_bpe(tokenizer, bpe_merges)
    n_skipped = 0
    if task is not None:
        t = get_task(task)
        splits = t.generate(seed=seed)
        train, dev, test = splits["train"], splits["dev"], splits["test"]
        tokenizer, features, name = t.tokenizer, t.features or 0, task
    else:
        tokenizer = tokenizer or "char"
        if tokenizer == "bpe" and bpe_merges is None:
            bpe_merges = BPE_MERGES
        train, dev, test, n_skipped, tokenizer = _corpus_splits(
            data, dev_data, test_data, tokenizer, max_len, seed, bpe_merges, train_size
        )
        features, name = 0, run_name(None, data)
    if not train:
        raise ValueError(_why_no_training_pairs(len(dev), dev_data is not None, max_len, n_skipped))
    if train_size is not None:
        train = train[:train_size]
    min_freq = 1 if min_freq is None else min_freq
    options = {"train_size": train_size, "max_len": max_len, "min_freq": min_freq,
               "max_vocab": max_vocab}  # fmt: skip
    if _is_bpe(tokenizer):  # learned by _corpus_splits, or given
        options["bpe_merges"] = len(tokenizer.merges) if bpe_merges is None else bpe_merges
    src_vocab, tgt_vocab = _vocabularies(train, tokenizer, features, min_freq, max_vocab)
    return Data(
        train, dev, test, src_vocab, tgt_vocab, tokenizer, features, name, n_skipped, options
    )


def _check_choices(
    task, data, dev_data, test_data, tokenizer, max_len, train_size, bpe_merges
) -> None:
    """load_data's arguments fit together: a task or a corpus, and the corpus-only options only
    with a corpus."""
    if (task is None) == (data is None):
        raise ValueError("give exactly one of --task (a built-in task) and --data (a corpus)")
    corpus_only = {"--dev-data": dev_data, "--test-data": test_data, "--max-len": max_len,
                   "--tokenizer": tokenizer, "--bpe-merges": bpe_merges}  # fmt: skip
    given = [flag for flag, value in corpus_only.items() if value is not None]
    if task is not None and given:
        raise ValueError(
            f"{' and '.join(given)} {'applies' if len(given) == 1 else 'apply'} to a --data "
            f"corpus; the built-in task {task!r} has its own dev and test splits and lengths"
        )
    for flag, value in (("--train-size", train_size), ("--max-len", max_len)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be >= 1 (or left out); got {value}")


def _is_bpe(tokenizer: str | Tokenizer | None) -> bool:
    """Whether the tokenizer is "bpe", to be learned, or a BPE Tokenizer learned before."""
    return tokenizer == "bpe" or isinstance(tokenizer, Tokenizer) and tokenizer.name == "bpe"


def _check_bpe(tokenizer: str | Tokenizer | None, bpe_merges: int | None) -> None:
    """A tokenizer name is one of TOKENIZERS or "bpe"; --bpe-merges only with --tokenizer bpe.
    With a BPE Tokenizer learned before (--resume's), it only records how many merges that one
    was asked for."""
    if isinstance(tokenizer, str) and tokenizer != "bpe":
        get_tokenizer(tokenizer)  # an unknown name is refused with the list of names
    if bpe_merges is None:
        return
    if not _is_bpe(tokenizer):
        name = get_tokenizer(tokenizer).name if tokenizer else "char (the default)"
        raise ValueError(
            f"--bpe-merges applies to --tokenizer bpe, which learns that many merges from the "
            f"training pairs; the tokenizer here is {name}"
        )
    if isinstance(bpe_merges, bool) or not isinstance(bpe_merges, Integral) or bpe_merges < 0:
        raise ValueError(f"--bpe-merges must be an integer >= 0; got {bpe_merges!r}")


def _corpus_splits(
    data: Corpus, dev_data: Corpus | None, test_data: Corpus | None, tokenizer: str | Tokenizer,
    max_len: int | None, seed: int, bpe_merges: int | None, train_size: int | None,
) -> tuple[list, list, list, int, str | Tokenizer]:  # fmt: skip
    """(train, dev, test, how many training pairs max_len dropped, the tokenizer) of a corpus:
    dev from `dev_data`, else 5% of the corpus's distinct pairs (at least one) held out by a
    seeded shuffle, with every copy of a held-out pair taken out of training so dev scores
    unseen pairs (training keeps its repeats of the other pairs). "bpe" learns its merges from
    the training pairs (the first `train_size` of them) here, after dev is held out and before
    max_len counts their pieces."""
    learn_bpe = tokenizer == "bpe"
    read_with = "wordpunct" if learn_bpe else tokenizer  # a text has BPE tokens iff it has these
    train = list(read_corpus(data, read_with))
    if dev_data:
        dev = list(read_corpus(dev_data, read_with))
    else:
        order = np.random.default_rng(seed).permutation(len(train))
        shuffled = [train[i] for i in order]
        distinct = list(dict.fromkeys(shuffled))  # first copies, in shuffled order
        dev = distinct[: max(1, len(distinct) // 20)]
        held_out = set(dev)
        train = [pair for pair in shuffled if pair not in held_out]
    test = list(read_corpus(test_data, read_with)) if test_data else []
    if learn_bpe:  # joint BPE: one set of merges for both sides
        texts = [text for pair in train[:train_size] for text in pair]
        tokenizer = bpe.learn_tokenizer(texts, bpe_merges)  # load_data gave the default
    n_skipped = 0
    if max_len is not None:  # training pairs only: dev and test are scored whole
        train, n_skipped = within(train, get_tokenizer(tokenizer), max_len)
    return train, dev, test, n_skipped, tokenizer


def _vocabularies(
    train: list, tokenizer: str | Tokenizer, features: int, min_freq: int, max_vocab: int | None
) -> tuple[Vocab | None, Vocab]:
    """(source vocabulary, None for feature sources; target vocabulary) of the training pairs,
    refusing a --min-freq or --max-vocab that leaves a side no token."""
    tok = get_tokenizer(tokenizer)
    src_vocab = None
    if not features:
        src_vocab = Vocab.build([tok.tokenize(s) for s, _ in train], min_freq, max_vocab)
    tgt_vocab = Vocab.build([tok.tokenize(t) for _, t in train], min_freq, max_vocab)
    for side, vocab in (("source", src_vocab), ("target", tgt_vocab)):
        if vocab is None or len(vocab) > len(SPECIALS):
            continue
        if max_vocab is not None and max_vocab <= len(SPECIALS):
            raise ValueError(
                f"--max-vocab {max_vocab} leaves room for the {len(SPECIALS)} special tokens "
                f"only, so every {side} word would be <unk>: give more than {len(SPECIALS)}"
            )
        raise ValueError(
            f"--min-freq {min_freq} leaves the {side} vocabulary no token (every token of "
            f"the {len(train)} training pairs is rarer), so every {side} word would be "
            "<unk>: lower --min-freq"
        )
    return src_vocab, tgt_vocab


def _why_no_training_pairs(n_dev: int, dev_given: bool, max_len: int | None, n_long: int) -> str:
    """The error for a corpus that leaves no training pair."""
    if n_long:
        return (
            f"--max-len {max_len} drops all {n_long} training pairs (each has more tokens on a "
            "side): raise --max-len"
        )
    if dev_given:
        return "the corpus (--data) has no pairs to train on"
    return (
        f"the corpus has {n_dev} distinct pair{'s' * (n_dev != 1)}, all held out for dev (5%, "
        "at least 1): give it more pairs, or pass --dev-data so that all of it trains"
    )


def within(pairs: list, tok: Any, max_len: int) -> tuple[list, int]:
    """(the pairs with at most max_len tokens on each side, how many were longer)."""
    kept = [(s, t) for s, t in pairs if max(len(tok.tokenize(s)), len(tok.tokenize(t))) <= max_len]
    return kept, len(pairs) - len(kept)


def fingerprint(pairs: Sequence[tuple[Any, str]]) -> str:
    """'<n> pairs, sha256 <first 12 hex digits>' of (source, target) pairs, a source being text
    or an (S, F) array: a resumed run checks that it goes on with the data it started with."""
    h = hashlib.sha256()
    for src, tgt in pairs:
        if isinstance(src, str):
            h.update(repr((src, tgt)).encode())
        else:
            a = np.ascontiguousarray(src)
            h.update(repr((a.shape, a.dtype.str, tgt)).encode() + a.tobytes())
    return f"{len(pairs)} pairs, sha256 {h.hexdigest()[:12]}"


def run_name(task: str | None, data: Corpus | None) -> str:
    """A run's name: the task's, or the corpus (source) file's without its extension."""
    if task is not None:
        return task
    path = data if isinstance(data, (str, os.PathLike)) or data is None else data[0]
    return os.path.splitext(os.path.basename(str(path)))[0]


def make_model(data: Data, model_options: dict[str, Any], seed: int, dtype: Any) -> Seq2Seq:
    sizes = {"src_vocab": len(data.src_vocab) if data.src_vocab else 0,
             "tgt_vocab": len(data.tgt_vocab), "src_features": data.features}  # fmt: skip
    if set(sizes) & set(model_options):
        raise ValueError(f"model options {sorted(set(sizes) & set(model_options))} come from the "
                         "data; leave them out")  # fmt: skip
    cfg = ModelConfig.from_dict(sizes | dict(model_options))  # names an unknown option
    return Seq2Seq(cfg, seed=seed, dtype=dtype)


def dev_evaluator(data: Data, translator: Translator, tcfg: TrainConfig, examples: list):
    """evaluate(model) -> {"loss", "ppl", "exact_match"[, "bleu"]} on the dev split."""
    dev_pairs = data.dev[: tcfg.dev_size]
    refs = [translator.as_output(r) for _, r in dev_pairs]
    dev_batches = batches(examples, batch_size=64)

    def evaluate(model: Seq2Seq) -> dict[str, float]:
        total, n = 0.0, 0
        for b in dev_batches:
            s, k = model.nll(b)
            total, n = total + s, n + k
        out = {"loss": total / n, "ppl": metrics.perplexity(total, n)}
        try:
            hyps = [t.text for t in translator.translate([s for s, _ in dev_pairs])]
        except NoHypothesis:  # log-probabilities gone NaN: the trainer stops on the NaN figures
            return out | {k: float("nan") for k in ("exact_match", tcfg.metric) if k not in out}
        out["exact_match"] = metrics.exact_match(hyps, refs)
        if tcfg.metric == "bleu":
            level = "char" if get_tokenizer(data.tokenizer).name == "char" else "13a"
            out["bleu"] = metrics.bleu(hyps, refs, level)
        return out

    return evaluate


def check_out_dir(out_dir: str, resume: bool = False) -> None:
    """A run's directory may be missing (it is made) but not be a file, and a new run's must
    hold nothing of an old one. The command line checks before it reads the data (a large
    corpus, and learning its BPE merges, take a while)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"--out {out_dir} is a file, not a directory: choose another "
                                 "--out (a directory, made if missing)")  # fmt: skip
    if resume:
        return
    if checkpoint.exists(os.path.join(out_dir, "last")):
        raise FileExistsError(
            f"{out_dir} already holds a run; pass --resume (resume=True) to continue it or "
            "choose another --out"
        )
    if os.path.exists(os.path.join(out_dir, "log.jsonl")):  # its checkpoints were removed
        raise FileExistsError(
            f"{out_dir} holds the log.jsonl of an earlier run (without its checkpoints), which a "
            "new run would add to; move that file away or choose another --out"
        )


def check_vectors_options(
    resume: bool, src_vectors: str | os.PathLike | None, tgt_vectors: str | os.PathLike | None
) -> None:
    """Pretrained vectors initialise a new run: a resumed one's embeddings are in its
    checkpoint. Checked (with the files' existence) before any data is read."""
    for side, path in (("src", src_vectors), ("tgt", tgt_vectors)):
        if path is None:
            continue
        if resume:
            raise ValueError(
                f"--{side}-vectors ({side}_vectors) initialises a new run's embeddings; a resumed "
                "run goes on with those in its checkpoint: leave it out"
            )
        if os.path.isdir(path):
            raise IsADirectoryError(f"--{side}-vectors {path}: a directory; give the vectors' file")
        if not os.path.exists(path):  # not isfile: <(zcat glove.txt.gz) is a pipe, read once
            raise FileNotFoundError(f"--{side}-vectors {path}: no such file")


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
) -> Translator:
    """Train a model on `data`, writing checkpoints and log.jsonl to `out_dir`. `dtype`:
    float32 (the default) or float64; None when resuming is the run's own. `src_vectors` /
    `tgt_vectors`: a file of pretrained word vectors (`minis2s.data.vectors`) whose vectors
    initialise a new run's source / target embeddings (keep them fixed with
    `tcfg.freeze_embeddings`). `resume` goes on with the run in `out_dir`, reading text as it
    did (`as_the_run_reads`: a corpus run saved before minis2s normalised text, as written).

    Returns a Translator holding the best checkpoint's parameters.
    """
    check_vectors_options(resume, src_vectors, tgt_vectors)
    last = os.path.join(out_dir, "last")
    saved = checkpoint.load_config(last) if resume and checkpoint.exists(last) else {}
    if dtype is None:
        dtype = saved.get("dtype", "float32")
    if saved:
        data = as_the_run_reads(data, saved, out_dir)
    if not resume and str(tcfg.optimizer).lower() == "adamw" and tcfg.weight_decay == 0:
        raise ValueError(  # a new run only: runs saved before this check still resume
            "optimizer adamw with weight decay 0 is Adam; give a weight decay (--weight-decay "
            "0.01 is PyTorch's AdamW default) or --optimizer adam"
        )
    check_out_dir(out_dir, resume)
    model = make_model(data, model_options, tcfg.seed, np.dtype(dtype))
    frozen_params(tcfg, model.cfg)  # a freeze the model cannot take, refused before the vectors
    vocabs_of = {"src": data.src_vocab, "tgt": data.tgt_vocab}
    for side, path in (("src", src_vectors), ("tgt", tgt_vectors)):
        if path is not None:
            loaded = pretrained.load_vectors(model, side, vocabs_of[side], path)
            if progress:
                print(loaded)
    tok = get_tokenizer(data.tokenizer)
    train_ex, unk = encode_pairs(data.train, data.src_vocab, data.tgt_vocab, tok)
    dev_ex, dev_unk = encode_pairs(data.dev, data.src_vocab, data.tgt_vocab, tok)
    translator = Translator(model, data.src_vocab, data.tgt_vocab, data.tokenizer)
    vocabs = {"tgt": data.tgt_vocab.to_dict()}
    if data.src_vocab is not None:
        vocabs["src"] = data.src_vocab.to_dict()
    trainer = Trainer(
        model, tcfg, train_ex, dev_evaluator(data, translator, tcfg, dev_ex), out_dir,
        meta=run_config(data, model, tcfg), vocabs=vocabs, progress=progress,
    )  # fmt: skip
    if progress:
        print(f"{data.name}: {len(data.train)} train / {len(data.dev)} dev / {len(data.test)} "
              f"test pairs; {model.num_params():,} parameters; backend {backend.current().name}; "
              f"{unk + dev_unk} unknown tokens mapped to <unk>")  # fmt: skip
    _start(trainer, out_dir, resume, progress)
    trainer.fit()
    best = Translator.load(out_dir, "best" if checkpoint.exists(f"{out_dir}/best") else "last")
    return best


def as_the_run_reads(data: Data, saved: dict[str, Any], out_dir: str) -> Data:
    """`data` as the run saved in `out_dir` (its config `saved`) reads text, for its resume. A
    corpus run saved before minis2s normalised text (no data.normalization) goes on reading text
    as written, as `minis2s train --resume` resumes it (a task's text is NFC: its runs go on in
    NFC). Training text all in NFC has the same tokens either way; ValueError, saying how to
    load the data as the run reads it, where it has other text, whose vocabulary read in NFC is
    not the run's."""
    tok = get_tokenizer(data.tokenizer)
    task = data.name in TASKS and data.tokenizer == get_task(data.name).tokenizer
    if "normalization" in saved.get("data", {}) or tok.form is None or task:
        return data
    for i, pair in enumerate(data.train):
        if not all(unicodedata.is_normalized(tok.form, t) for t in pair if isinstance(t, str)):
            raise ValueError(
                f"{out_dir} was saved before minis2s put text in Unicode {tok.form} (its "
                "state.json has no data.normalization), so it goes on reading text as written, "
                f"as it was trained; but data.train[{i}] = {pair!r:.60} is not in {tok.form}, "
                f"so read in {tok.form} the data's tokens and vocabulary are not the run's. "
                "Load the data with the run's tokenizer: pipeline.load_data(..., tokenizer="
                f"Translator.load({out_dir!r}, 'last').tokenizer)"
            )
    return data._replace(tokenizer=tok._replace(form=None))


def run_config(data: Data, model: Seq2Seq, tcfg: TrainConfig) -> dict[str, Any]:
    """What a checkpoint records of its run, and a resume must match: the model and training
    options, the data (name, tokenizer, the Unicode normal form it reads text in and a BPE
    tokenizer's merges, options, fingerprints of the train and dev pairs), the dtype and the
    backend (a resume on another one only warns)."""
    tok = get_tokenizer(data.tokenizer)
    data_config = {
        "name": data.name,
        "tokenizer": tok.name,
        "options": data.options or {},
        "train": fingerprint(data.train),
        "dev": fingerprint(data.dev),
    }
    if tok.form is not None:  # a run resumed from before normalisation reads text as written
        data_config["normalization"] = tok.form
    if tok.name == "bpe":  # what it learned: Translator.load and --resume rebuild it from these
        data_config["bpe_merges"] = [list(pair) for pair in tok.merges]
    return {
        "model": model.cfg.to_dict(),
        "train": tcfg.to_dict(),
        "data": data_config,
        "dtype": model.dtype.name,
        "backend": backend.current().name,
    }


def _start(trainer: Trainer, out_dir: str, resume: bool, progress: bool) -> None:
    """Resume the run in out_dir, or (check_out_dir made sure it holds no old one) start one."""
    if resume:
        if not trainer.resume():
            raise FileNotFoundError(f"--resume: no checkpoint at {out_dir}/last to resume from")
        if progress:
            print(f"resumed from {out_dir}/last at epoch {trainer.state['epoch']}, "
                  f"step {trainer.state['step']}")  # fmt: skip
    # A path that cannot be written fails here, not at the end of the first epoch:
    os.makedirs(out_dir, exist_ok=True)

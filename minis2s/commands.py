"""What each `minis2s` subcommand does, given its parsed arguments (see cli.py); the longer ones
hand on to a module of their own: train to train_commands.py, translate to translate_commands.py,
evaluate and score to evaluate_commands.py, average to average_commands.py. What the commands
that translate share (translate_naming, the notes on long and unknown sources, the decoding
options checked against the model, show_translations) is command_translations.py's."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from typing import TYPE_CHECKING

from minis2s.command_translations import note_unknown

if TYPE_CHECKING:  # for annotations only: each command imports what it uses when it runs
    from minis2s.api import Translation, Translator


def train(args: argparse.Namespace) -> int:
    from minis2s.train_commands import train

    return train(args)  # train and the helpers only it uses, in a module of their own


def translate(args: argparse.Namespace) -> int:
    from minis2s.translate_commands import translate

    return translate(args)  # its reading of stdin and its blank lines, in a module of their own


def evaluate(args: argparse.Namespace) -> int:
    from minis2s.evaluate_commands import evaluate

    return evaluate(args)  # evaluate and score, which read pairs, in a module of their own


def score(args: argparse.Namespace) -> int:
    from minis2s.evaluate_commands import score

    return score(args)


def average(args: argparse.Namespace) -> int:
    from minis2s.average_commands import average

    return average(args)


def gradcheck(args: argparse.Namespace) -> int:
    from minis2s.checks import run_all

    return 0 if run_all(only=args.only, model=not args.no_model) else 1


def tasks(args: argparse.Namespace) -> int:
    from minis2s.data.tasks import TASKS

    if args.write:
        return write_task(*args.write, seed=args.seed)
    if args.seed is not None:
        raise ValueError("--seed applies to --write (the seed that draws the splits it writes)")
    for name, t in TASKS.items():
        ex = t.generate(seed=0)["train"][0]
        src = ex[0] if isinstance(ex[0], str) else f"<{len(ex[0])} x {t.features} frames>"
        print(f"{name:<16} {t.description}\n{'':<16} e.g. {src!r} -> {ex[1]!r}")
    return 0


def write_task(name: str, out_dir: str, seed: int | None) -> int:
    """`tasks --write`: a task's splits (drawn with `seed`, default 0) as TSV files, refusing to
    write over any file."""
    from minis2s.data.corpus import write_tsv
    from minis2s.data.tasks import TASKS, get_task
    from minis2s.disk_errors import file_above

    if name not in TASKS and out_dir in TASKS:  # `--write data/dates dates`
        raise ValueError(f"--write takes the task first, then the directory: --write {out_dir} "
                         f"{name}")  # fmt: skip
    task = get_task(name)  # an unknown name is refused with the list of tasks
    if task.features:
        raise ValueError(f"--write: the task {name!r} has feature frames for sources, which a "
                         "TSV file cannot hold; train on it with --task")  # fmt: skip
    if out_dir == "":  # an unset shell variable: makedirs('') fails naming nothing
        raise ValueError(f"--write: the directory is '' (empty); give one, e.g. data/{name}")
    if not out_dir.strip():  # a stray quote: makedirs(' ') made a folder named ' '
        raise ValueError(f"--write: the directory is {out_dir!r}, a blank path; give one, e.g. "
                         f"data/{name}")  # fmt: skip
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"--write: {out_dir} is a file; give a directory (made if "
                                 "missing)")  # fmt: skip
    if above := file_above(out_dir):  # makedirs said [Errno 20] alone
        raise NotADirectoryError(f"--write: {above} is a file, not a directory; give a "
                                 "directory (made if missing) outside it")  # fmt: skip
    paths = {split: os.path.join(out_dir, f"{split}.tsv") for split in ("train", "dev", "test")}
    there = [p for p in paths.values() if os.path.lexists(p)]
    if there:
        raise FileExistsError(f"--write would replace {', '.join(there)}: remove "
                              f"{'them' if len(there) > 1 else 'it'} or choose another "
                              "directory")  # fmt: skip
    splits = task.generate(seed=0 if seed is None else seed)
    os.makedirs(out_dir, exist_ok=True)
    for split, path in paths.items():
        write_tsv(path, splits[split])
        print(f"wrote {len(splits[split])} {split} pairs to {path}")
    train, dev, test = (shlex.quote(p) for p in paths.values())
    print(f"try: minis2s train --data {train} --dev-data {dev} --test-data {test} "
          f"--tokenizer {task.tokenizer}")  # fmt: skip
    return 0


def vectors(args: argparse.Namespace) -> int:
    """`vectors`: a run's source or target embeddings written as a word-vector file, which
    `train --src-vectors` / `--tgt-vectors` (or any tool that reads word2vec's text) can read."""
    from minis2s.api import Translator
    from minis2s.bench.report import check_writable
    from minis2s.data.vectors import write_vectors
    from minis2s.models.params import embedding_of

    if os.path.exists(args.out):  # nothing a user wrote is lost
        raise FileExistsError(f"--out {args.out} exists; choose a new file, or remove it first")
    check_writable("--out", args.out)
    if len(args.checkpoint) > 1:  # as translate takes it, for an ensemble: one run's here
        raise ValueError(
            f"--checkpoint given {len(args.checkpoint)} times: vectors writes the embeddings of "
            "one run; give one --checkpoint"
        )
    [args.checkpoint] = args.checkpoint
    tr = Translator.load(args.checkpoint)
    vocab = tr.src_vocab if args.side == "src" else tr.tgt_vocab
    if vocab is None:
        raise ValueError(f"--side src: the model in {args.checkpoint} reads feature vectors, so "
                         "it has no source embeddings; give --side tgt")  # fmt: skip
    W = tr.model.params[embedding_of(tr.model.cfg, args.side)]  # shared: one for both
    n = write_vectors(args.out, vocab, W)
    skipped = len(vocab) - n  # the four specials, and tokens holding whitespace
    print(f"wrote {n:,} {args.side} vectors of {W.shape[1]} numbers to {args.out} (left out "
          f"{skipped} tokens: <pad> <s> </s> <unk>{' and whitespace' * (skipped > 4)}); start a "
          f"run from them with --{args.side}-vectors {args.out} --emb {W.shape[1]}")  # fmt: skip
    return 0


def plot(args: argparse.Namespace) -> int:
    from minis2s import viz

    if args.log and (args.checkpoint or args.sentence is not None):
        raise ValueError("give --log FILE, or --checkpoint DIR with --sentence TEXT, not both")
    if not args.log and not (args.checkpoint and args.sentence is not None):
        raise ValueError("give --log FILE, or --checkpoint DIR with --sentence TEXT")
    viz.check_image_path("--out", args.out)  # before any translating
    if args.log:
        viz.plot_log(args.log, args.out)
    else:
        from minis2s.ensemble_commands import load_translator, no_attention
        from minis2s.translate_commands import note_cut

        tr = load_translator(args.checkpoint)  # one run, or an ensemble's mean attention
        if no_attention(tr, args.checkpoint):
            raise ValueError(f"{no_attention(tr, args.checkpoint)}: nothing to plot")
        t = _plotted_translation(tr, args.sentence)
        viz.plot_attention(t.attention, t.src_tokens, t.tokens, args.out)
        note_unknown(tr, args)  # as translate says it: the heatmap labels show the typed tokens
        note_cut(args, int(not t.ended), 1)  # translate's words, of plot's default limit
    print(f"wrote {args.out}")
    return 0


def _plotted_translation(tr: Translator, sentence: str) -> Translation:
    """tr.translate([sentence])[0] for `plot`, its refusal and note naming --sentence, as the
    user typed it, where the API's name sources[0] of a list the user never wrote."""
    from minis2s.long_sources import LongSourceWarning, named_note

    F = tr.model.cfg.src_features
    if F:
        raise ValueError(
            f"--sentence is text, but the model reads (S, F={F}) feature frames; plot its "
            "attention from Python: t = Translator.load(RUN).translate([frames])[0], then "
            "minis2s.viz.plot_attention(t.attention, t.src_tokens, t.tokens, out=...)"
        )
    if not tr.tokenizer.tokenize(sentence):
        raise ValueError(
            f"--sentence {sentence!r} has no token of the model's {tr.tokenizer.name} tokenizer; "
            "give a sentence to translate"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LongSourceWarning)  # noted below, as --sentence
        t = tr.translate([sentence])[0]
    text = named_note([len(t.src_tokens)], tr.longest_source, lambda i: "--sentence", "sentence",
                      tr.source_unit)  # fmt: skip
    if text:
        print(f"note: {text}", file=sys.stderr)
    return t


def bench(args: argparse.Namespace) -> int:
    from minis2s.bench import run
    from minis2s.bench.report import check_writable

    if args.json:
        check_writable("--json", args.json)  # before the benchmark, not after its minutes
    run(quick=args.quick, json_path=args.json)
    return 0

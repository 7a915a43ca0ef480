"""What each `minis2s` subcommand does, given its parsed arguments (see cli.py)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
from typing import TYPE_CHECKING

from minis2s.cli import decode_kwargs
from minis2s.cli_options import DATA_FIELDS

if TYPE_CHECKING:  # for annotations only: each command imports what it uses when it runs
    from minis2s.api import Translator


def train(args: argparse.Namespace) -> int:
    from minis2s import fine_tune, pipeline
    from minis2s.cli_options import check_given_options, from_args
    from minis2s.models.config import ModelConfig
    from minis2s.train.config import TrainConfig

    if args.show < 0:
        raise ValueError(f"--show must be >= 0 (test translations printed); got {args.show}")
    out = args.out or f"runs/{pipeline.run_name(args.task, args.data)}"
    pipeline.check_out_dir(out, args.resume, args.init_from)  # before the data is read
    start = None if args.init_from is None else _init_from(args)  # before the data is read too
    pipeline.check_vectors_options(args.resume, args.src_vectors, args.tgt_vectors)
    model_options = from_args(ModelConfig, args, DATA_FIELDS)
    train_options = from_args(TrainConfig, args, set())
    given = model_options | train_options
    data_options = {k: getattr(args, k) for k in pipeline.DATA_OPTIONS}
    if args.bpe_merges is not None:
        data_options["bpe_merges"] = args.bpe_merges
    tokenizer = args.tokenizer
    if "tokens_per_batch" in train_options and "batch_size" not in train_options:
        train_options["batch_size"] = 0  # --tokens-per-batch replaces the default batch size
    if args.resume:  # the run's own options, then the ones given (the trainer checks them)
        saved = _saved_config(out)
        _check_resumed_options(saved, model_options, train_options)
        model_options = {k: v for k, v in saved["model"].items() if k not in DATA_FIELDS} | (
            model_options
        )
        train_options = saved["train"] | train_options
        data_options = saved["data"].get("options", {}) | {
            k: v for k, v in data_options.items() if v is not None
        }
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
    elif start is not None:  # RUN's model and tokenizer (a task reads text as RUN too)
        model_options = fine_tune.model_options(start, model_options)
        tokenizer = start.tokenizer if args.data else None
    else:
        if model_options.get("attention") == "none" and "input_feed" not in model_options:
            model_options["input_feed"] = False  # the default feeds h~, which needs attention
    tcfg = TrainConfig(**train_options)
    defaults = {
        f.name: f.default for f in dataclasses.fields(ModelConfig) if f.name not in DATA_FIELDS
    }
    check_given_options(given, defaults | model_options | tcfg.to_dict())
    data = pipeline.load_data(
        task=args.task, data=args.data, dev_data=args.dev_data, test_data=args.test_data,
        tokenizer=tokenizer, seed=tcfg.seed, vocabs=start.vocabs if start else None, **data_options,
    )  # fmt: skip
    if data.skipped:
        print(f"note: skipped {data.skipped} training pairs longer than --max-len "
              f"{data_options['max_len']} (dev and test pairs are all kept)")  # fmt: skip
    if tokenizer == "bpe":  # learned now (a resumed run's are the checkpoint's)
        _bpe_note(data)
    if not args.resume and start is None:
        _frozen_note(tcfg.freeze_embeddings, args)
    tr = pipeline.train(
        data, model_options, tcfg, out, resume=args.resume, dtype=args.dtype,
        progress=not args.quiet, src_vectors=args.src_vectors, tgt_vectors=args.tgt_vectors,
        init_from=start,
    )  # fmt: skip
    test = data.test or data.dev
    split = "test" if data.test else "dev"
    translations = tr.translate([s for s, _ in test])  # once, for the figures and the lines shown
    result = tr.evaluate_translations(test, translations)
    print(f"\n{split}: " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in result.items()))  # fmt: skip
    show_translations(tr, test[: args.show], translations[: args.show])
    try_it = (
        f"Translator.load({out!r}).translate([frames]) in Python"
        if data.features
        else f"minis2s translate --checkpoint {out} ..."
    )  # a model that reads feature frames takes arrays, which a command line cannot give
    print(f"checkpoints and log in {out}/; try: {try_it}")
    return 0


def _bpe_note(data) -> None:
    """What --tokenizer bpe learned: its merges, how many training words stayed whole (near 100%
    the pieces are words again, and an unseen word's pieces are unseen too, unless no merge was
    learned: the words are single characters), the vocabularies."""
    from minis2s.data import bpe

    learned, asked = len(data.tokenizer.merges), data.options["bpe_merges"]
    fewer = f" of the {asked} asked (then no pair occurred twice)" if learned < asked else ""
    whole = bpe.whole_words(data.tokenizer, (text for pair in data.train for text in pair))
    advice = ""
    if whole >= 0.95 and learned > 0:
        advice = "; fewer merges (--bpe-merges) keep more of them in pieces"
    print(f"bpe: learned {learned} merges{fewer}; {whole:.0%} of the training words are one "
          f"piece{advice}; vocabularies of {len(data.src_vocab)} source and "
          f"{len(data.tgt_vocab)} target pieces")  # fmt: skip


def _init_from(args: argparse.Namespace):
    """The run that --init-from names (fine_tune.Start), with the options it conflicts with
    refused first, and data of another kind (a task's is known by its name; a corpus is text)."""
    from minis2s import fine_tune, pipeline
    from minis2s.data.tasks import get_task

    fine_tune.check_options({flag: getattr(args, flag[2:].replace("-", "_"))
                             for flag in fine_tune.CONFLICTS})  # fmt: skip
    start = fine_tune.load_run(args.init_from)
    if args.task is not None or args.data:  # neither: load_data names what is missing
        features = (get_task(args.task).features or 0) if args.task is not None else 0
        fine_tune.check_kind(start, features, pipeline.run_name(args.task, args.data))
    return start


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


def show_translations(tr: Translator, pairs: list, translations: list) -> None:
    """Print one line per (source, reference) pair and its translation: `ok` when the output is
    the reference as the model writes it (what exact match counts), `ERR` otherwise."""
    for (src, ref), t in zip(pairs, translations, strict=True):
        mark = "ok " if t.text == tr.as_output(ref) else "ERR"
        print(f"  {mark} {_show(src)!s:>30} -> {t.text:<30} (reference {ref})")


def _frozen_note(freeze: str, args: argparse.Namespace) -> None:
    """A note when --freeze-embeddings keeps a side that no --*-vectors initialised: it stays at
    its random start (an experiment in its own right, or a missing option)."""
    from minis2s.models.pretrained import SIDES
    from minis2s.train.config import FROZEN

    for side, name in SIDES.items():
        if name in FROZEN[freeze] and getattr(args, f"{side}_vectors") is None:
            print(f"note: --freeze-embeddings {freeze} keeps the {side} embeddings at their "
                  f"random initialisation (no --{side}-vectors given)")  # fmt: skip


def _show(src) -> str:
    return src if isinstance(src, str) else f"<{len(src)} frames>"


def translate(args: argparse.Namespace) -> int:
    from minis2s import viz
    from minis2s.ensemble_commands import load_translator, no_attention

    kw = decode_kwargs(args)  # before reading anything: a wrong option costs no waiting
    tr = load_translator(args.checkpoint)
    if args.show_attention and no_attention(tr, args.checkpoint):
        raise ValueError(
            f"--show-attention: {no_attention(tr, args.checkpoint)}, so there are no weights to "
            "show"
        )
    check_decode_options(tr, args, kw)  # before any sentence is read
    sentences = args.sentences or _stdin_lines()
    if not sentences:
        raise ValueError("no sentences: give them as arguments or one per line on stdin")
    results = tr.translate(sentences, **kw)
    best = [r[0] if isinstance(r, list) else r for r in results]  # of an n-best list, its first
    for r, b in zip(results, best, strict=True):
        if isinstance(r, list):  # n-best
            print(" ||| ".join(f"{t.text}\t{t.score:.4f}" for t in r))
        else:
            print(r.text)
        if args.show_attention:
            print(viz.attention_text(b.attention, b.src_tokens, b.tokens) + "\n")
    note_unknown(tr, args)
    cut = sum(not t.ended for t in best)
    if cut:
        print(f"note: {cut} output{'s' * (cut != 1)} reached the maximum length (--max-len-a "
              f"{args.max_len_a} x source length + --max-len-b {args.max_len_b}) without </s>: "
              "cut there", file=sys.stderr)  # fmt: skip
    return 0


def check_decode_options(tr: Translator, args: argparse.Namespace, kw: dict) -> None:
    """The decoding options that need a model with attention, checked against the loaded model
    before any sentence is read (no sentence typed or scored in vain): --coverage-penalty
    (beam search would refuse it only at its first step), --replace-unk and --phrase-table."""
    from minis2s._api_checks import check_replace_unk
    from minis2s.ensemble_commands import no_attention

    if "beta" in kw and no_attention(tr, args.checkpoint):
        raise ValueError(
            f"--coverage-penalty: {no_attention(tr, args.checkpoint)}, so there is no coverage "
            "to weigh; leave it out"
        )
    if kw.get("replace_unk") and no_attention(tr, args.checkpoint):  # the member, by name
        raise ValueError(
            f"--replace-unk: {no_attention(tr, args.checkpoint)}, so no weights say which source "
            "token an <unk> should copy; leave it out"
        )
    check_replace_unk(
        tr.model.cfg, kw.get("replace_unk", False), kw.get("phrase_table"), tr.tokenizer
    )


def note_unknown(tr: Translator, args: argparse.Namespace) -> None:
    """A note on stderr when source tokens were not in the vocabulary: how many, of how many
    (evaluate's and score's --task add what the model was trained on: evaluate_commands)."""
    if not tr.unknown:
        return
    u, n = tr.unknown, tr.source_tokens
    print(f"note: {u} of the {n} source token{'s' * (n != 1)} ({u / n:.0%}) "
          f"{'was' if u == 1 else 'were'} not in the vocabulary (mapped to <unk>)",
          file=sys.stderr)  # fmt: skip


def _stdin_lines() -> list[str]:
    """The lines of standard input without their line ends (a Windows CR too), decoded as UTF-8
    whatever the locale says: a wrong byte is an error naming its line, as in a corpus file,
    not a token silently mapped to <unk>."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in stdin's place (a test, a notebook)
        return [line.rstrip("\r\n") for line in sys.stdin]
    lines = []
    for n, raw in enumerate(stream, 1):
        b = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            line = b.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"stdin:{n}: not valid UTF-8 (byte {e.start + 1} of the line is "
                f"{b[e.start : e.start + 1]!r}); give the sentences as UTF-8 text"
            ) from None
        lines.append(line.removeprefix("\ufeff") if n == 1 else line)
    return lines


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
    from minis2s.data.tasks import get_task

    task = get_task(name)  # an unknown name is refused with the list of tasks
    if task.features:
        raise ValueError(f"--write: the task {name!r} has feature frames for sources, which a "
                         "TSV file cannot hold; train on it with --task")  # fmt: skip
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"--write: {out_dir} is a file; give a directory (made if "
                                 "missing)")  # fmt: skip
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
    from minis2s.models.pretrained import SIDES

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
    W = tr.model.params[SIDES[args.side]]
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

        tr = load_translator(args.checkpoint)  # one run, or an ensemble's mean attention
        if no_attention(tr, args.checkpoint):
            raise ValueError(f"{no_attention(tr, args.checkpoint)}: nothing to plot")
        t = tr.translate([args.sentence])[0]
        viz.plot_attention(t.attention, t.src_tokens, t.tokens, args.out)
        note_unknown(tr, args)  # as translate says it: the heatmap labels show the typed tokens
        if not t.ended:
            print("note: the output reached the maximum length without </s>: cut there",
                  file=sys.stderr)  # fmt: skip
    print(f"wrote {args.out}")
    return 0


def bench(args: argparse.Namespace) -> int:
    from minis2s.bench import run
    from minis2s.bench.report import check_writable

    if args.json:
        check_writable("--json", args.json)  # before the benchmark, not after its minutes
    run(quick=args.quick, json_path=args.json)
    return 0

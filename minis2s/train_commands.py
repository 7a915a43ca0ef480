"""`minis2s train`: a new run, a --resume of one, or a run started from a trained one
(--init-from), from the parsed arguments to the test figures and the translations it shows
(pipeline.py does the work: data -> model -> trainer; resume_options.py reads a --resume's run)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TYPE_CHECKING, Any

from minis2s.cli_options import DATA_FIELDS
from minis2s.command_translations import show_translations, translate_naming
from minis2s.resume_options import data_of_run, resumed_options
from minis2s.wording import percent

if TYPE_CHECKING:  # for annotations only: each step imports what it uses when it runs
    from minis2s.api import Translator
    from minis2s.data.loading import Data
    from minis2s.fine_tune import Start
    from minis2s.train.config import TrainConfig


def train(args: argparse.Namespace) -> int:
    """`minis2s train`: the options checked, the run's options, its data, the training, the
    test figures (the order of the checks is the order a user meets their errors in)."""
    from minis2s import pipeline

    out, start = _checked_out_dir(args)
    args = data_of_run(args, out)
    model_options, tcfg, data_options, tokenizer = _run_options(args, out, start)
    data = _load_data(args, tcfg, data_options, tokenizer, start)
    if not args.resume and start is None:  # a refused model first: no note before its error
        pipeline.check_new_model(data, model_options, tcfg, cli=True)
        _frozen_note(tcfg.freeze_embeddings, args)
    tr = pipeline.train(
        data, model_options, tcfg, out, resume=args.resume, dtype=args.dtype,
        progress=not args.quiet, src_vectors=args.src_vectors, tgt_vectors=args.tgt_vectors,
        init_from=start, cli=True,
    )  # fmt: skip
    _test_figures(tr, data, out, args)
    return 0


def _checked_out_dir(args: argparse.Namespace) -> tuple[str, Start | None]:
    """The run's out dir and --init-from's run, checked with --show and the vectors first."""
    from minis2s import pipeline

    if args.show < 0:
        raise ValueError(f"--show must be >= 0 (test translations printed); got {args.show}")
    if args.resume and args.out is None and args.task is None and not args.data:
        raise ValueError("--resume with neither --task nor --data needs the run's --out: the "
                         "run's data is read from there")  # fmt: skip
    out = args.out or f"runs/{pipeline.run_name(args.task, args.data)}"
    pipeline.check_out_dir(out, args.resume, args.init_from, cli=True)  # before the data is read
    start = None if args.init_from is None else _init_from(args)  # before the data is read too
    pipeline.check_vectors_options(args.resume, args.src_vectors, args.tgt_vectors, cli=True)
    return out, start


def _run_options(
    args: argparse.Namespace, out: str, start: Start | None
) -> tuple[dict, TrainConfig, dict, Any]:
    """The model, train and data options and the tokenizer of a new, resumed or --init-from run."""
    from minis2s import fine_tune, pipeline
    from minis2s.cli_options import check_given_options, check_model_fits, from_args
    from minis2s.models.config import ModelConfig
    from minis2s.train.config import TrainConfig

    model_options = from_args(ModelConfig, args, DATA_FIELDS)
    train_options = from_args(TrainConfig, args, set())
    given = model_options | train_options
    data_options = {k: getattr(args, k) for k in pipeline.DATA_OPTIONS}
    if args.bpe_merges is not None:
        data_options["bpe_merges"] = args.bpe_merges
    tokenizer = args.tokenizer
    if train_options.get("tokens_per_batch") and train_options.get("batch_size"):
        raise ValueError(
            f"--batch-size {train_options['batch_size']} and --tokens-per-batch "
            f"{train_options['tokens_per_batch']} are two ways to size a batch (sentences, or "
            "padded tokens); give one of them (--tokens-per-batch alone replaces the default "
            "batch size)"
        )
    if model_options.get("attention") == "none" and model_options.get("input_feed"):
        raise ValueError(
            "--input-feed feeds the attentional state h~ into the next decoder step, so it needs "
            "attention: leave --input-feed out with --attention none, or choose an --attention"
        )
    if train_options.get("tokens_per_batch") and "batch_size" not in train_options:
        train_options["batch_size"] = 0  # --tokens-per-batch N replaces the default batch size
    if args.resume:  # the run's own options, then the ones given (the trainer checks them)
        model_options, train_options, data_options, tokenizer = resumed_options(
            args, out, model_options, train_options, data_options
        )
    elif start is not None:  # RUN's model and tokenizer (a task reads text as RUN too)
        model_options = fine_tune.model_options(start, model_options, cli=True)
        tokenizer = start.tokenizer if args.data else None
    elif model_options.get("attention") == "none" and "input_feed" not in model_options:
        model_options["input_feed"] = False  # the default feeds h~, which needs attention
    tcfg = TrainConfig(**train_options)
    defaults = {
        f.name: f.default for f in dataclasses.fields(ModelConfig) if f.name not in DATA_FIELDS
    }
    check_given_options(given, defaults | model_options | tcfg.to_dict())
    check_model_fits(defaults | model_options)
    return model_options, tcfg, data_options, tokenizer


def _load_data(
    args: argparse.Namespace, tcfg: TrainConfig, data_options: dict, tokenizer: Any,
    start: Start | None,
) -> Data:  # fmt: skip
    """The run's data (pipeline.load_data), with notes on the pairs skipped and BPE's merges."""
    from minis2s import pipeline
    from minis2s.data.load_checks import check_choices

    get = data_options.get  # load_data's first check, refused in train's option words
    check_choices(args.task, args.data, args.dev_data, args.test_data, tokenizer, get("max_len"),
                  get("train_size"), get("bpe_merges"), tcfg.seed, cli=True)  # fmt: skip
    data = pipeline.load_data(
        task=args.task, data=args.data, dev_data=args.dev_data, test_data=args.test_data,
        tokenizer=tokenizer, seed=tcfg.seed, vocabs=start.vocabs if start else None, cli=True,
        **data_options,
    )  # fmt: skip
    if data.skipped:
        print(f"note: skipped {data.skipped} training pairs longer than --max-len "
              f"{data_options['max_len']} (dev and test pairs are all kept)")  # fmt: skip
    if tokenizer == "bpe":  # learned now (a resumed run's are the checkpoint's)
        _bpe_note(data)
    return data


def _test_figures(tr: Translator, data: Data, out: str, args: argparse.Namespace) -> None:
    """The test (else dev) figures, with translate's note on outputs cut at the maximum length
    (a barely trained model's low figures often come of its never choosing </s>), the first
    --show translations, and how to try the run."""
    from minis2s.translate_commands import note_cut

    show = args.show
    test = data.test or data.dev
    split = "test" if data.test else "dev"
    sources = [s for s, _ in test]  # translated once, for the figures and the lines shown
    # the long dev sources were named at the first dev evaluation (dev_figures.dev_evaluator)
    translations = translate_naming(tr, sources, {}, f"{split} pair", note=split == "test")
    result = tr.evaluate_translations(test, translations)
    print(f"\n{split}: " + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in result.items()))  # fmt: skip
    note_cut(args, sum(not t.ended for t in translations), len(translations))
    show_translations(tr, test[:show], translations[:show])
    try_it = (
        f"Translator.load({out!r}).translate([frames]) in Python"
        if data.features
        else f"minis2s translate --checkpoint {out} ..."
    )  # a model that reads feature frames takes arrays, which a command line cannot give
    print(f"checkpoints and log in {out}/; try: {try_it}")


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
    vocabs = (f"one vocabulary of {len(data.tgt_vocab)} pieces for both sides"
              if data.options.get("share_vocab") else f"vocabularies of {len(data.src_vocab)} "
              f"source and {len(data.tgt_vocab)} target pieces")  # fmt: skip
    print(f"bpe: learned {learned} merges{fewer}; {percent(whole, 1)} of the training words are "
          f"one piece{advice}; {vocabs}")  # fmt: skip


def _init_from(args: argparse.Namespace):
    """The run that --init-from names (fine_tune.Start), with the options it conflicts with
    refused first, and data of another kind (a task's is known by its name; a corpus is text)."""
    from minis2s import fine_tune, pipeline
    from minis2s.data.tasks import get_task

    fine_tune.check_options({flag: getattr(args, flag[2:].replace("-", "_"))
                             for flag in fine_tune.CONFLICTS})  # fmt: skip
    start = fine_tune.load_run(args.init_from, cli=True)
    if args.task is not None or args.data:  # neither: load_data names what is missing
        features = (get_task(args.task).features or 0) if args.task is not None else 0
        fine_tune.check_kind(start, features, pipeline.run_name(args.task, args.data), cli=True)
    return start


def _frozen_note(freeze: str, args: argparse.Namespace) -> None:
    """A note when --freeze-embeddings keeps a side that no --*-vectors initialised: it stays at
    its random start (an experiment in its own right, or a missing option)."""
    from minis2s.models.params import SIDES
    from minis2s.train.frozen_embeddings import FROZEN

    if args.share_embeddings:  # one matrix, which either file initialises ('both' freezes it)
        if freeze == "both" and args.src_vectors is None and args.tgt_vectors is None:
            print("note: --freeze-embeddings both keeps the shared embeddings at their random "
                  "initialisation (no --src-vectors or --tgt-vectors given)")  # fmt: skip
        return
    for side, name in SIDES.items():
        if name in FROZEN[freeze] and getattr(args, f"{side}_vectors") is None:
            print(f"note: --freeze-embeddings {freeze} keeps the {side} embeddings at their "
                  f"random initialisation (no --{side}-vectors given)")  # fmt: skip

"""`minis2s train | translate | evaluate | score | average | gradcheck | bench | tasks | plot |
vectors`.

Every field of ModelConfig and TrainConfig is an option of `train` (`--hidden 256`,
`--no-bidirectional`, `--lr-schedule warmup`), generated from the dataclasses so the two never
drift apart, except the fields the data fixes (DATA_FIELDS: src_vocab, tgt_vocab, src_features).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

from minis2s import __version__  # the package's __init__ imports nothing (see --threads)
from minis2s.cli_options import (
    DATA_FIELDS,
    add_dataclass_options,
    finite_float,
    non_negative_int,
    positive_fraction,
    positive_int,
)

ENSEMBLE_HELP = ("a run directory or checkpoint; give it again for an ensemble, which {} "
                 "with the mean of the runs' next-token probabilities")  # fmt: skip
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SEARCH_OPTIONS = ("--beam", "--nbest", "--length-penalty", "--alpha", "--coverage-penalty",
                  "--sample", "--temperature", "--top-k", "--top-p", "--max-len-a", "--max-len-b",
                  "--seed", "--replace-unk", "--phrase-table")  # fmt: skip  # _decode_options's
SCORE_SEARCHES_NOTHING = (
    "score searches for nothing: it feeds each reference to the decoder (forced decoding), so "
    "it takes no decoding option. For the log p of what a search finds, use translate (--beam N "
    "--nbest K prints each output's), or evaluate --beam N for its exact match beside ref_ppl"
)


def _decode_options(p: argparse.ArgumentParser, nbest: bool = True) -> None:
    """The decoding options; `nbest=False` (evaluate, which scores one output per sentence)
    keeps --nbest out of the help, but still parsed, to be refused by name (decode_kwargs)."""
    g = p.add_argument_group("decoding")
    g.add_argument("--beam", type=non_negative_int, default=0, help="beam size (0 = greedy)")
    nbest_help = "with --beam: print the N best" if nbest else argparse.SUPPRESS
    g.add_argument("--nbest", type=positive_int, default=1, help=nbest_help)
    g.add_argument(
        "--length-penalty", choices=("none", "average", "gnmt"), default="none",
        help="with --beam: rank by log p (none), log p / length (average) or GNMT's "
        "log p / ((5 + length) / 6)^alpha; length counts the EOS",
    )  # fmt: skip
    g.add_argument("--alpha", type=finite_float, default=None,
                   help="with --length-penalty gnmt: its exponent (default 0.6)")  # fmt: skip
    g.add_argument("--coverage-penalty", type=finite_float, default=None, metavar="BETA",
                   help="with --beam: add GNMT's beta * sum_i log(min(attention to word i, "
                   "1)), which ranks down outputs that leave source words unattended (try 0.2)",
                   )  # fmt: skip
    g.add_argument("--sample", action="store_true", help="sample instead of searching")
    g.add_argument("--temperature", type=finite_float, default=1.0,
                   help="with --sample: p^(1/T)")  # fmt: skip
    g.add_argument("--top-k", type=non_negative_int, default=0,
                   help="with --sample: the K best only (0: all)")  # fmt: skip
    g.add_argument("--top-p", type=positive_fraction, default=1.0, metavar="P",
                   help="with --sample: the fewest most probable tokens whose probabilities "
                   "sum to at least P (nucleus sampling; 1: all; after --temperature, --top-k)",
                   )  # fmt: skip
    g.add_argument("--max-len-a", type=finite_float, default=2.0,
                   help="max length a*|src|+b (2.0)")  # fmt: skip
    g.add_argument("--max-len-b", type=non_negative_int, default=10,
                   help="max length a*|src|+b (10)")  # fmt: skip
    g.add_argument("--seed", type=non_negative_int, default=None,
                   help="with --sample: seeds the draws (default 0)")  # fmt: skip
    g.add_argument("--replace-unk", action="store_true",
                   help="write each <unk> of the output as the source token it attends to most "
                   "(attention models)")  # fmt: skip
    g.add_argument("--phrase-table", metavar="FILE",
                   help="with --replace-unk: source<TAB>target lines, what to write for a source "
                   "token instead of copying it")  # fmt: skip


def decode_kwargs(args: argparse.Namespace, nbest: bool = True) -> dict[str, Any]:
    """translate() keyword arguments from the decoding options; a ValueError for an option the
    chosen method would ignore (`nbest`: whether this command prints n-best lists)."""
    beam_options = {"--nbest": args.nbest != 1, "--length-penalty": args.length_penalty != "none",
                    "--alpha": args.alpha is not None,
                    "--coverage-penalty": args.coverage_penalty is not None}  # fmt: skip
    sample_options = {"--temperature": args.temperature != 1.0, "--top-k": args.top_k != 0,
                      "--top-p": args.top_p != 1.0, "--seed": args.seed is not None}  # fmt: skip
    if args.sample and args.beam > 0:
        raise ValueError("--sample and --beam are two decoding methods; give one of them")
    if args.nbest != 1 and not nbest:
        raise ValueError("--nbest: this command scores one translation per sentence; leave it out")
    chosen = "--sample" if args.sample else "--beam" if args.beam else None
    method = {"--sample": "sampling", "--beam": "beam search", None: "greedy decoding"}[chosen]
    why = []
    for options, wanted in ((beam_options, "--beam N"), (sample_options, "--sample")):
        ignored = [k for k, given in options.items() if given and wanted.split()[0] != chosen]
        if ignored:
            fix = f"use {wanted} instead of {chosen}" if chosen else f"add {wanted}"
            they = ("it is", "it") if len(ignored) == 1 else ("they are", "them")
            why.append(f"{' and '.join(ignored)} would be ignored by {method}: {they[0]} for "
                       f"{wanted}; {fix}, or leave {they[1]} out")  # fmt: skip
    if why:
        raise ValueError("; ".join(why))
    if args.alpha is not None and args.length_penalty != "gnmt":
        raise ValueError(
            "--alpha is the exponent of --length-penalty gnmt and would be ignored by "
            f"--length-penalty {args.length_penalty}; add --length-penalty gnmt, or leave it out"
        )
    kw: dict[str, Any] = {"max_len_a": args.max_len_a, "max_len_b": args.max_len_b}
    if args.phrase_table is not None and not args.replace_unk:
        raise ValueError(
            "--phrase-table is read by --replace-unk only and would be ignored; add --replace-unk"
        )
    if args.replace_unk:
        kw["replace_unk"] = True
    if args.phrase_table is not None:
        from minis2s.data.corpus import read_phrase_table

        kw["phrase_table"] = read_phrase_table(args.phrase_table)
    if args.sample:
        return kw | {"method": "sample", "temperature": args.temperature, "top_k": args.top_k,
                     "top_p": args.top_p, "seed": args.seed or 0}  # fmt: skip
    if args.beam > 0:
        alpha = {} if args.alpha is None else {"alpha": args.alpha}
        alpha |= {} if args.coverage_penalty is None else {"beta": args.coverage_penalty}
        return kw | alpha | {"method": "beam", "beam_size": args.beam, "nbest": args.nbest,
                             "length_penalty": args.length_penalty}  # fmt: skip
    return kw


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with a hint when an option of `minis2s` itself (--backend, --threads)
    was given after the command, where argparse only calls it unrecognized (and a translate
    would take its value for a sentence), or a decoding option to score."""

    def error(self, message: str) -> NoReturn:
        unknown = "unrecognized arguments" in message
        if unknown and re.search(r"--(backend|threads)\b", message):
            message += ("; --backend and --threads go before the command, e.g. "
                        "minis2s --backend numba --threads 1 train ...")  # fmt: skip
        elif (
            unknown
            and self.prog == "minis2s score"
            and re.search("|".join(SEARCH_OPTIONS), message)
        ):
            message += f"; {SCORE_SEARCHES_NOTHING}"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    from minis2s.data.tokenize import BPE_MERGES, TOKENIZERS
    from minis2s.models.config import ModelConfig
    from minis2s.train.config import TrainConfig

    top = _Parser(prog="minis2s", description=" ".join(__doc__.split("\n\n")[0].split()))
    top.add_argument("--version", action="version", version=f"minis2s {__version__}")
    top.add_argument("--backend", default="numpy", help="numpy | numba | cupy")
    top.add_argument(
        "--threads", type=positive_int, default=None,
        help="BLAS threads (default: the BLAS library's choice); small models' GEMMs gain "
        "little; two runs at once on few cores: 1 each",
    )  # fmt: skip
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model on a built-in task or a corpus")
    src = p.add_argument_group("data")
    src.add_argument("--task", help="a built-in task (see `minis2s tasks`)")
    corpus = dict(nargs="+", metavar=("FILE", "TARGET_FILE"))  # read_corpus: one or two paths
    src.add_argument("--data", **corpus, help="training corpus: source<TAB>target per line, "
                     "UTF-8; or two files, sources and targets, aligned line by line")  # fmt: skip
    src.add_argument("--dev-data", **corpus, help="dev corpus (default: 5%% of --data's "
                     "distinct pairs held out)")  # fmt: skip
    src.add_argument("--test-data", **corpus, help="test corpus, evaluated at the end")
    src.add_argument("--tokenizer", choices=(*TOKENIZERS, "bpe"), help="for --data (default "
                     "char); wordpunct splits punctuation from words; bpe splits wordpunct's words "
                     "into subword pieces learned from the training pairs")  # fmt: skip
    src.add_argument("--bpe-merges", type=int, default=None, help="--tokenizer bpe: merges to "
                     f"learn (default {BPE_MERGES}; fewer suit a small corpus)")  # fmt: skip
    src.add_argument("--min-freq", type=int, help="rarer tokens become <unk> (default 1)")
    src.add_argument("--max-vocab", type=int, default=None,
                     help="vocabulary size N, specials included (N - 4 most frequent)")  # fmt: skip
    src.add_argument("--max-len", type=int, default=None, help="skip longer training pairs")
    src.add_argument("--train-size", type=int, default=None, help="use the first N train pairs")
    for side, what in (("src", "source"), ("tgt", "target")):
        src.add_argument(f"--{side}-vectors", metavar="FILE", help=f"pretrained word vectors "
                         f"(GloVe, fastText .vec, word2vec text) that initialise the {what} "
                         "embeddings; --emb must be their length")  # fmt: skip
    p.add_argument("--out", help="run directory (default runs/<task or corpus name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--init-from", metavar="RUN", help="fine-tune: a new run that starts from "
                   "RUN's model and parameters (a run directory, its best/; or a checkpoint, "
                   "runs/x/last) and reads the data with RUN's tokenizer and vocabularies, with "
                   "its own optimizer, schedules and log; of the model options only --dropout "
                   "may differ from RUN's; the dtype is RUN's unless --dtype")  # fmt: skip
    p.add_argument("--dtype", default=None, choices=("float32", "float64"),
                   help="float32 (default; with --resume, the run's own)")  # fmt: skip
    p.add_argument("--show", type=int, default=8, help="test translations printed at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    add_dataclass_options(p, ModelConfig, DATA_FIELDS)
    add_dataclass_options(p, TrainConfig, set())

    p = sub.add_parser("translate", help="translate sentences (arguments or standard input)")
    p.add_argument("--checkpoint", required=True, action="append",
                   help=ENSEMBLE_HELP.format("decodes"))  # fmt: skip
    p.add_argument("sentences", nargs="*", help="default: one sentence per line of stdin")
    p.add_argument("--show-attention", action="store_true",
                   help="after each translation, its attention weights as text: a row per "
                   "output token, a column per source token, ' ' for 0 to '@' for 1")  # fmt: skip
    _decode_options(p)

    p = sub.add_parser(
        "evaluate",
        help="exact match, BLEU, chrF, token accuracy and the references' "
        "perplexity on a corpus or task split",
    )
    p.add_argument("--checkpoint", required=True, action="append",
                   help=ENSEMBLE_HELP.format("decodes (and scores the references)"))  # fmt: skip
    p.add_argument("--data", **corpus, help="TSV corpus, or source and target files")
    p.add_argument("--task", help="a built-in task; evaluates --split")
    p.add_argument("--split", choices=("train", "dev", "test"), help="of --task (default test)")
    p.add_argument("--by-length", type=positive_int, metavar="W",
                   help="also exact match per band of W source tokens: 1..W, W+1..")  # fmt: skip
    p.add_argument("--show", type=non_negative_int, default=0, metavar="N",
                   help="print the first N translations, ok or ERR (default 0)")  # fmt: skip
    _decode_options(p, nbest=False)

    p = sub.add_parser("score", help="how likely the model finds each reference of a corpus or "
                       "task split (forced decoding): log p per pair, cross-entropy, perplexity",
                       )  # fmt: skip
    p.add_argument("--checkpoint", required=True, action="append",
                   help=ENSEMBLE_HELP.format("scores the references"))  # fmt: skip
    p.add_argument("--data", **corpus, help="TSV corpus, or source and target files")
    p.add_argument("--task", help="a built-in task; scores --split")
    p.add_argument("--split", choices=("train", "dev", "test"), help="of --task (default test)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="pairs per batch (64)")

    p = sub.add_parser("gradcheck", help="finite-difference checks of every backward pass")
    p.add_argument("--only", help="check only layers whose name contains this")
    p.add_argument("--no-model", action="store_true", help="skip the whole-model checks")

    p = sub.add_parser("tasks", help="list the built-in tasks, or write one's splits as files")
    p.add_argument("--write", nargs=2, metavar=("TASK", "DIR"), help="write TASK's train, dev "
                   "and test splits to DIR/train.tsv, dev.tsv and test.tsv (for --data, to try "
                   "another --tokenizer on them)")  # fmt: skip
    p.add_argument("--seed", type=non_negative_int, default=None, help="with --write: the seed "
                   "that draws the splits, as train --seed does (default 0)")  # fmt: skip

    p = sub.add_parser("plot", help="attention heatmap of a translation, or training curves")
    p.add_argument("--checkpoint", action="append", help="run directory: heatmap of "
                   "translating --sentence; again for an ensemble's (its runs' mean)")  # fmt: skip
    p.add_argument("--sentence", help="the source sentence to translate and plot")
    p.add_argument("--log", help="a run's log.jsonl (or its directory): loss and metric curves")
    p.add_argument("--out", required=True, help="output image (.png, .svg, .pdf)")

    p = sub.add_parser("vectors", help="write a run's embeddings as a word-vector file, to start "
                       "another run from (--src-vectors)")  # fmt: skip
    p.add_argument("--checkpoint", required=True, action="append",  # a second refused by name
                   help="a run directory or checkpoint")  # fmt: skip
    p.add_argument("--side", choices=("src", "tgt"), default="src",
                   help="the source (default) or target embeddings")  # fmt: skip
    p.add_argument("--out", required=True, help="a new file: one word and its numbers per line, "
                   "after an `N D` header (the text format of word2vec and fastText)")  # fmt: skip

    _average_parser(sub)

    p = sub.add_parser("bench", help="time LSTM/GRU layers on --backend against PyTorch")
    p.add_argument("--quick", action="store_true", help="the seed-notebook size only (< 60 s)")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    top.commands = sub.choices  # name -> its parser, for main's refusal of unknown options
    return top


def _average_parser(sub: Any) -> None:
    p = sub.add_parser("average", help="average the parameters of checkpoints of one run into "
                       "a new checkpoint")  # fmt: skip
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", action="append", help="a checkpoint directory (a run's "
                       "best/, last/ or steps/step-N); give it again for each")  # fmt: skip
    which.add_argument("--run", help="a run directory trained with --keep-checkpoints")
    p.add_argument("--last", type=positive_int, metavar="K",
                   help="with --run: average the newest K checkpoints in its steps/")  # fmt: skip
    p.add_argument("--out", required=True, help="the new checkpoint directory")


def _set_threads(argv: list[str]) -> None:
    """Honour --threads N: BLAS reads its thread count once, when NumPy is first imported, so
    this runs before anything imports NumPy (only the command line can promise that). Only the
    options before the command are read (a sentence after `--` is not an option), and an
    abbreviation that argparse would accept (`--thread 1`) counts as --threads too."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--" or not a.startswith("-"):  # the command (or a value-less token): stop
            return
        name, eq, value = a.partition("=")
        threads = len(name) > 2 and "--threads".startswith(name)  # "--t" .. "--threads"
        if not eq and (threads or (len(name) > 2 and "--backend".startswith(name))):
            value, i = (argv[i + 1] if i + 1 < len(argv) else ""), i + 1
        if threads and value.isascii() and value.isdigit() and int(value) > 0:
            for var in THREAD_VARS:
                os.environ[var] = str(int(value))
        i += 1


def _note(
    command: str, show: Callable[..., None], message: Warning | str, category: type, *rest: Any
) -> None:
    """Print the library's own warnings (a UserWarning: a fallback it took, such as loading the
    last checkpoint of a run that has no best one) as one line; others with `show`, as Python
    would."""
    if issubclass(category, UserWarning):
        print(f"minis2s {command}: note: {message}", file=sys.stderr)
    else:
        show(message, category, *rest)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _set_threads(argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # refused by the command's own parser: its usage line, and _Parser's hints
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    from minis2s import backend

    with warnings.catch_warnings():  # restores showwarning: main may run inside a caller
        warnings.showwarning = functools.partial(_note, args.command, warnings.showwarning)
        try:
            if args.threads is not None:  # NumPy's pool too: the parser imported NumPy already
                from minis2s.threads import set_blas_threads

                set_blas_threads(args.threads)
            backend.use(args.backend)
            from minis2s import commands

            return getattr(commands, args.command)(args)
        except BrokenPipeError:  # the reader went away (`minis2s translate ... | head`)
            # stop quietly; stdout goes to /dev/null so that exit's flush cannot fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141  # 128 + SIGPIPE, as a shell reports it
        except (ValueError, OSError, RuntimeError, ImportError) as e:  # OSError: files, disks
            print(f"minis2s {args.command}: error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())

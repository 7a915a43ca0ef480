"""`minis2s train | translate | evaluate | score | average | gradcheck | bench | tasks | plot |
vectors`.

The command line's parser (build_parser): the options of `minis2s` itself and of each
subcommand; this docstring's first paragraph is `minis2s --help`'s description. Every field of
ModelConfig and TrainConfig is an option of `train` (`--hidden 256`, `--no-bidirectional`,
`--lr-schedule warmup`), generated from the dataclasses so the two never drift apart, except the
fields the data fixes (DATA_FIELDS: src_vocab, tgt_vocab, src_features).
"""

from __future__ import annotations

import argparse
import itertools
import re
from typing import Any, NoReturn

from minis2s import __version__  # the package's __init__ imports nothing (see --threads)
from minis2s.cli_decoding import SEARCH_OPTIONS, _decode_options
from minis2s.cli_options import DATA_FIELDS, add_dataclass_options
from minis2s.cli_types import non_negative_int, path, positive_int, text

ENSEMBLE_HELP = ("a run directory or checkpoint; give it again for an ensemble, which {} "
                 "with the mean of the runs' next-token probabilities")  # fmt: skip
# read_corpus: one or two paths
CORPUS = dict(nargs="+", metavar=("FILE", "TARGET_FILE"), type=path)
SCORE_SEARCHES_NOTHING = (
    "score searches for nothing: it feeds each reference to the decoder (forced decoding), so "
    "it takes no decoding option. For the log p of what a search finds, use translate (--beam N "
    "--nbest K prints each output's), or evaluate --beam N for its exact match beside ref_ppl"
)


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
    top = _Parser(prog="minis2s", description=" ".join(__doc__.split("\n\n")[0].split()))
    top.add_argument("--version", action="version", version=f"minis2s {__version__}")
    top.add_argument("--backend", default="numpy", help="numpy | numba | cupy")
    top.add_argument(
        "--threads", type=positive_int, default=None,
        help="BLAS threads (default: the BLAS library's choice); small models' GEMMs gain "
        "little; two runs at once on few cores: 1 each",
    )  # fmt: skip
    sub = top.add_subparsers(dest="command", required=True)
    _train_parser(sub)  # the order here is the order `minis2s --help` lists them in
    _translate_parser(sub)
    _evaluate_parser(sub)
    _score_parser(sub)
    _gradcheck_parser(sub)
    _tasks_parser(sub)
    _plot_parser(sub)
    _vectors_parser(sub)
    _average_parser(sub)
    _bench_parser(sub)
    top.commands = sub.choices  # name -> its parser, for main's refusal of unknown options
    return top


def _train_parser(sub: Any) -> None:
    from minis2s.models.config import ModelConfig
    from minis2s.train.config import TrainConfig

    p = sub.add_parser("train", help="train a model on a built-in task or a corpus")
    _train_data_options(p.add_argument_group("data"))
    p.add_argument("--out", type=path, help="run directory (default runs/<task or corpus name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--init-from", metavar="RUN", type=path,
                   help="fine-tune: a new run that starts from RUN's model and parameters (a "
                   "run directory, its best/; or a checkpoint, "
                   "runs/x/last) and reads the data with RUN's tokenizer and vocabularies, with "
                   "its own optimizer, schedules and log; of the model options only --dropout "
                   "may differ from RUN's; the dtype is RUN's unless --dtype")  # fmt: skip
    p.add_argument("--dtype", default=None, choices=("float32", "float64"),
                   help="float32 (default; with --resume, the run's own)")  # fmt: skip
    p.add_argument("--show", type=int, default=8, help="test translations printed at the end (8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    add_dataclass_options(p, ModelConfig, DATA_FIELDS)
    add_dataclass_options(p, TrainConfig, set())


def _train_data_options(src: Any) -> None:
    """train's "data" group: the corpus or task, its tokenizer and vocabularies."""
    from minis2s.data.tokenize import BPE_MERGES, TOKENIZERS

    src.add_argument("--task", help="a built-in task (see `minis2s tasks`)")
    src.add_argument("--data", **CORPUS, help="training corpus: source<TAB>target per line, "
                     "UTF-8; or two files, sources and targets, aligned line by line")  # fmt: skip
    src.add_argument("--dev-data", **CORPUS, help="dev corpus (default: 5%% of --data's "
                     "distinct pairs held out)")  # fmt: skip
    src.add_argument("--test-data", **CORPUS, help="test corpus, evaluated at the end")
    src.add_argument("--tokenizer", choices=(*TOKENIZERS, "bpe"), help="for --data (default "
                     "char); wordpunct splits punctuation from words; bpe splits wordpunct's words "
                     "into subword pieces learned from the training pairs")  # fmt: skip
    src.add_argument("--bpe-merges", type=int, default=None, help="--tokenizer bpe: merges to "
                     f"learn (default {BPE_MERGES}; fewer suit a small corpus)")  # fmt: skip
    src.add_argument("--min-freq", type=int, help="rarer tokens become <unk> (default 1)")
    src.add_argument("--max-vocab", type=int, default=None, metavar="N",
                     help="vocabulary size N, specials included (N - 4 most frequent)")  # fmt: skip
    src.add_argument("--share-vocab", action="store_true", default=None,
                     help="one vocabulary for both sides, built from the source and target "
                     "tokens together (--min-freq, --max-vocab count both); "
                     "--share-embeddings needs it")  # fmt: skip
    src.add_argument("--max-len", type=int, metavar="N", help="skip train pairs > N tokens a side")
    src.add_argument("--train-size", type=int, metavar="N", help="use the first N train pairs "
                     "(with --dev-data, the file's first N; else N pairs of a shuffle by --seed, "
                     "as dev is held out)")  # fmt: skip
    for side, what in (("src", "source"), ("tgt", "target")):
        src.add_argument(f"--{side}-vectors", metavar="FILE", type=path,
                         help=f"pretrained word vectors (GloVe, fastText .vec, word2vec text) "
                         f"that initialise the {what} "
                         "embeddings; --emb must be their length")  # fmt: skip


def _translate_parser(sub: Any) -> None:
    p = sub.add_parser("translate", help="translate sentences (arguments or standard input)")
    p.add_argument("--checkpoint", required=True, action="append", type=path,
                   help=ENSEMBLE_HELP.format("decodes"))  # fmt: skip
    p.add_argument("sentences", nargs="*", help="default (or `-`): one sentence per line of stdin")
    p.add_argument("--show-attention", action="store_true",
                   help="after each translation (with --nbest, the best of the list), its "
                   "attention weights as text: a row per output token, a column per source "
                   "token, ' ' for 0 to '@' for 1")  # fmt: skip
    # evaluate's and train's --show N, which argparse would take for an abbreviation of
    # --show-attention here (and N for a sentence): refused by name instead
    p.add_argument("--show", nargs="?", action=_NotTranslates, help=argparse.SUPPRESS)
    _decode_options(p)


class _NotTranslates(argparse.Action):
    """translate's refusal of `--show N`: its options hold none by that name, and argparse would
    read it as --show-attention, an abbreviation, and N as one more sentence to translate."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None):
        parser.error(
            "--show N is evaluate's and train's (the first N outputs beside their references); "
            "translate prints every output: leave it out (--show-attention prints, under each "
            "output, where its tokens looked)"
        )


# evaluate's and score's: a run's train split is the pairs it trained on (task_split)
SPLIT_HELP = "of --task (default test; train: the pairs a run of it trained on, its --train-size)"


def _evaluate_parser(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="exact match, BLEU, chrF, token accuracy and the references' "
        "perplexity on a corpus or task split",
    )
    p.add_argument("--checkpoint", required=True, action="append", type=path,
                   help=ENSEMBLE_HELP.format("decodes (and scores the references)"))  # fmt: skip
    p.add_argument("--data", **CORPUS, help="TSV corpus, or source and target files")
    p.add_argument("--task", help="a built-in task; evaluates --split")
    p.add_argument("--split", choices=("train", "dev", "test"), help=SPLIT_HELP)
    p.add_argument("--by-length", type=positive_int, metavar="W",
                   help="also exact match per band of W source tokens: 1..W, W+1..")  # fmt: skip
    p.add_argument("--show", type=non_negative_int, default=0, metavar="N",
                   help="print the first N translations, ok or ERR (default 0)")  # fmt: skip
    _decode_options(p, nbest=False)


def _score_parser(sub: Any) -> None:
    p = sub.add_parser("score", help="how likely the model finds each reference of a corpus or "
                       "task split (forced decoding): log p per pair, cross-entropy, perplexity",
                       )  # fmt: skip
    p.add_argument("--checkpoint", required=True, action="append", type=path,
                   help=ENSEMBLE_HELP.format("scores the references"))  # fmt: skip
    p.add_argument("--data", **CORPUS, help="TSV corpus, or source and target files")
    p.add_argument("--task", help="a built-in task; scores --split")
    p.add_argument("--split", choices=("train", "dev", "test"), help=SPLIT_HELP)
    p.add_argument("--batch-size", type=positive_int, default=64, help="pairs per batch (64)")
    p.add_argument("--with-text", action="store_true", help="each line also gives the pair's "
                   "source and reference, tab-separated after the three figures")  # fmt: skip


def _gradcheck_parser(sub: Any) -> None:
    p = sub.add_parser("gradcheck", help="finite-difference checks of every backward pass")
    p.add_argument("--only", type=text, help="check only layers whose name contains this")
    p.add_argument("--no-model", action="store_true", help="skip the whole-model checks")


def _tasks_parser(sub: Any) -> None:
    p = sub.add_parser("tasks", help="list the built-in tasks, or write one's splits as files")
    p.add_argument("--write", nargs=2, metavar=("TASK", "DIR"), help="write TASK's train, dev "
                   "and test splits to DIR/train.tsv, dev.tsv and test.tsv (for --data, to try "
                   "another --tokenizer on them)")  # fmt: skip
    p.add_argument("--seed", type=non_negative_int, default=None, help="with --write: the seed "
                   "that draws the splits, as train --seed does (default 0)")  # fmt: skip


def _plot_parser(sub: Any) -> None:
    p = sub.add_parser("plot", help="attention heatmap of a translation, or training curves")
    p.add_argument("--checkpoint", action="append", type=path, help="run directory: heatmap of "
                   "translating --sentence; again for an ensemble's (its runs' mean)")  # fmt: skip
    p.add_argument("--sentence", help="the source sentence to translate and plot")
    p.add_argument(
        "--log", type=path, help="a run's log.jsonl (or its directory): loss and metric curves"
    )
    p.add_argument("--out", required=True, type=path, help="output image (.png, .svg, .pdf)")


def _vectors_parser(sub: Any) -> None:
    p = sub.add_parser("vectors", help="write a run's embeddings as a word-vector file, to start "
                       "another run from (--src-vectors)")  # fmt: skip
    p.add_argument("--checkpoint", required=True, action="append", type=path,  # one, by name
                   help="a run directory or checkpoint")  # fmt: skip
    p.add_argument("--side", choices=("src", "tgt"), default="src",
                   help="the source (default) or target embeddings")  # fmt: skip
    p.add_argument("--out", required=True, type=path,
                   help="a new file: one word and its numbers per line, after an `N D` header "
                   "(the text format of word2vec and fastText)")  # fmt: skip


def _average_parser(sub: Any) -> None:
    p = sub.add_parser("average", help="average the parameters of checkpoints of one run into "
                       "a new checkpoint")  # fmt: skip
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", action="append", type=path,
                       help="a checkpoint directory (a run's best/, last/ or steps/step-N); "
                       "give it again for each")  # fmt: skip
    which.add_argument("--run", type=path, help="a run directory trained with --keep-checkpoints")
    p.add_argument("--last", type=positive_int, metavar="K",
                   help="with --run: average the newest K checkpoints in its steps/")  # fmt: skip
    p.add_argument("--out", required=True, type=path, help="the new checkpoint directory")


def _bench_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="time LSTM/GRU layers on --backend against PyTorch")
    p.add_argument("--quick", action="store_true", help="the seed-notebook size only (< 60 s)")
    p.add_argument("--json", metavar="PATH", type=path, help="also write the rows as JSON")


# Options that name what a command reads or writes: argparse keeps the last of one given twice,
# so `evaluate --data test.tsv --data dev.tsv` scored dev alone and `--init-from A --init-from B`
# started from B, without a word; given twice, they are refused (refuse_repeated).
ONCE = (
    "--data", "--dev-data", "--test-data", "--task", "--split", "--out", "--init-from",
    "--src-vectors", "--tgt-vectors", "--phrase-table", "--sentence", "--log", "--run", "--side",
    "--json", "--write",
)  # fmt: skip
# Options that choose, by one value, what runs: given twice, argparse kept the last as silently
# (`gradcheck --only lstm --only gru` ran the GRU cases alone); refused the same way. --backends
# is the benchmark scripts' (benchmarks/common.py refuses with this function too).
CHOOSE_ONCE = ("--only", "--backends")


def refuse_repeated(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """parser.error (exit 2) for an option of ONCE or CHOOSE_ONCE that `argv` gives twice to
    `parser` (a command's), in full, abbreviated as argparse takes it, or as `--opt=value`.
    Tokens after `--` are text, not options."""
    strings = [s for s in parser._option_string_actions if s.startswith("--")]
    seen: dict[str, str] = {}
    for i, token in enumerate(argv):
        if token == "--":
            return
        if not token.startswith("--"):
            continue
        name = token.partition("=")[0]
        full = name if name in strings else None
        if full is None:
            matches = [s for s in strings if s.startswith(name)]
            full = matches[0] if len(matches) == 1 else None
        if full not in ONCE + CHOOSE_ONCE:
            continue
        name, eq, value = token.partition("=")
        values = argv[i + 1 : i + 2]
        if parser._option_string_actions[full].nargs == "+":  # a corpus's one or two files
            is_value = lambda t: t == "-" or not t.startswith("-")  # as argparse reads them
            values = list(itertools.takewhile(is_value, argv[i + 1 :]))
        given = " ".join([name, *([value] if eq else values)])
        if full in seen:
            kind = "names what to read or write" if full in ONCE else "chooses what runs"
            parser.error(f"{full} given twice ({seen[full]}, then {given}); an option that {kind} "
                         "takes one value: give it once")  # fmt: skip
        seen[full] = given

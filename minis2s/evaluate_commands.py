"""`minis2s evaluate` and `minis2s score`: the commands that read (source, reference) pairs of a
--data corpus or a --task split, and score the model's outputs (evaluate) or the references
themselves by forced decoding (score, scoring.py).
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import TYPE_CHECKING

from minis2s.cli import decode_kwargs
from minis2s.command_translations import (
    check_decode_options,
    note_unknown,
    show_translations,
    translate_naming,
)
from minis2s.ensemble_commands import model_in
from minis2s.translate_commands import note_cut
from minis2s.wording import percent

if TYPE_CHECKING:
    from minis2s.api import Translator


def evaluate(args: argparse.Namespace) -> int:
    from minis2s.ensemble_commands import load_translator
    from minis2s.scoring import reference_figures

    check_pairs_options(args)
    kw = decode_kwargs(args, nbest=False)
    kw.pop("nbest", None)  # the default 1 (decode_kwargs refuses another)
    tr = load_translator(args.checkpoint)
    check_decode_options(tr, args, kw)  # before any sentence is read
    pairs = read_pairs(tr, args)
    translations = translate_naming(tr, [s for s, _ in pairs], kw, "pair")
    result = tr.evaluate_translations(pairs, translations, by_length=args.by_length)
    result |= reference_figures(tr, pairs)
    bands = result.pop("by_length", None)
    for k, v in result.items():
        print(f"{k}\t{v:.4f}" if isinstance(v, float) else f"{k}\t{v}")
    if tr.unknown:
        print(f"unknown_source_tokens\t{tr.unknown}")
    note_unknown(tr, args)
    note_cut(args, sum(not t.ended for t in translations), len(translations))
    note_task(tr, args)
    note_train_size(tr, args)
    if bands is not None:
        _print_bands(bands, args.by_length, tr.source_unit)
    if args.show:
        print()
        show_translations(tr, pairs[: args.show], translations[: args.show])
    return 0


def score(args: argparse.Namespace) -> int:
    """Print `log p<TAB>tokens<TAB>log p / tokens` per pair (tokens count </s>), with
    --with-text `<TAB>source<TAB>reference` after them, then
    `total: pairs=..  tokens=..  cross_entropy=..  perplexity=..  unknown_target_tokens=..`."""
    from minis2s.ensemble_commands import load_translator
    from minis2s.scoring import summarize

    check_pairs_options(args)
    tr = load_translator(args.checkpoint)  # one run, or an ensemble of several
    pairs = read_pairs(tr, args)
    scores = tr.score(pairs, batch_size=args.batch_size)
    for s, pair in zip(scores, pairs, strict=True):
        text = "".join(f"\t{_as_column(x)}" for x in pair) if args.with_text else ""
        print(f"{s.logprob:.4f}\t{s.n_tokens}\t{s.mean_logprob:.4f}{text}")
    t = summarize(scores)
    print(f"total: pairs={t.pairs}  tokens={t.tokens}  cross_entropy={t.cross_entropy:.4f}  "
          f"perplexity={t.perplexity:.4f}  unknown_target_tokens={t.unknown}")  # fmt: skip
    if t.unknown:
        print(f"note: {t.unknown} of the {t.tokens} target tokens ({percent(t.unknown, t.tokens)}) "
              f"{'was' if t.unknown == 1 else 'were'} not in the vocabulary and scored as <unk>, "
              "which flatters log p and the perplexity", file=sys.stderr)  # fmt: skip
    note_unknown(tr, args)  # the sources'
    note_task(tr, args)
    note_train_size(tr, args)
    return 0


# A text's own backslash is doubled, so a single one always starts an escape: written out, the
# text's backslash and t is \\t (three characters), its tab \t (two) (README, score).
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _as_column(x) -> str:
    """A source or reference as one TSV column: a tab inside it (a corpus of two files may hold
    one) written as \\t, a backslash as \\\\ (and a newline or carriage return as \\n, \\r), so
    that the pair stays the line's last two columns and each reads back as it was; feature
    frames as `<S frames>`."""
    return x.translate(_ESCAPES) if isinstance(x, str) else f"<{len(x)} frames>"


def note_task(tr: Translator, args: argparse.Namespace) -> None:
    """With --task: a note on stderr when the model was not trained on that task's own split,
    whose figures then say little, or may flatter it: trained on another task, its vocabulary
    may lack this one's tokens; trained on a corpus (such as files of `minis2s tasks --write`)
    that is not the task's seed-0 training split, it is scored on seed 0's split, which holds
    pairs of the task's other seeds' training splits."""
    from minis2s.data.tasks import TASKS

    data, task = tr.config.get("data", {}), args.task
    trained_on = data.get("name")
    if not task or not trained_on or trained_on == task:
        return
    model = model_in(args.checkpoint)
    if trained_on in TASKS:
        note = (f"{model} was trained on {trained_on!r}, not on task {task!r}, so these figures "
                "say little about it")  # fmt: skip
    elif _trained_on_seed_0_split(data, task):
        return  # `tasks --write TASK DIR` (seed 0) files: the split is the one it was kept from
    else:
        split = args.split or "test"
        note = (
            f"{model} was trained on {trained_on!r}, not on task {task!r}'s seed-0 training "
            f"split, and is scored on its seed-0 {split} split: if its training pairs came "
            f"from `minis2s tasks --write {task} DIR --seed N` with N other than 0, this "
            f"split may hold some of them; score it with --data DIR/{split}.tsv instead"
        )
    print(f"note: {note}", file=sys.stderr)


def trained_on_task(data: dict, task: str) -> bool:
    """The run of `data` (its config's) trained on the first pairs of a training split of
    `task`: with --task, or on `minis2s tasks --write TASK DIR` files (seed 0's split)."""
    return data.get("name") == task or _trained_on_seed_0_split(data, task)


def _trained_on_seed_0_split(data: dict, task: str) -> bool:
    """The run's training pairs (the fingerprint its config records) are the task's seed-0
    training split, as `minis2s tasks --write TASK DIR` writes it (its first train_size)."""
    return _drawn_splits(data, task, 0) is not None


def _drawn_splits(data: dict, task: str, seed: int) -> dict | None:
    """The task's splits drawn with `seed` if their training pairs (the first train_size) are
    the run's, by the fingerprint its data config records; else None (or no fingerprint)."""
    from minis2s.data.provenance import fingerprint

    if "train" not in data:
        return None
    splits = _generated(task, seed)
    return splits if fingerprint(splits["train"][: train_size(data)]) == data["train"] else None


@functools.lru_cache(maxsize=2)
def _generated(task: str, seed: int) -> dict:
    """get_task(task).generate(seed=seed), kept: evaluate's split and its note may both need
    seed 0's (each 0.1 to 0.4 s to draw). Read only."""
    from minis2s.data.tasks import get_task

    return get_task(task).generate(seed=seed)


def _as_trained(splits: dict, split: str, data: dict) -> list:
    """A copy of `split` as the run of `data` (its config's) saw it: dev and test whole, train
    cut to the first train_size pairs, the ones load_data kept and the run trained on."""
    n = train_size(data) if split == "train" else None
    return list(splits[split][:n])


def train_size(data: dict) -> int | None:
    """The run's --train-size (load_data's train_size), None where it trained on every pair."""
    return data.get("options", {}).get("train_size")


def note_train_size(tr: Translator, args: argparse.Namespace) -> None:
    """With --task T --split train of a run trained on T with --train-size N: a note on stderr
    that the pairs read were the N it trained on, not the whole split (whose size a user may
    know, and whose other pairs the run never saw); for an ensemble, the N every member trained
    on (shared_train_config)."""
    from minis2s.ensemble_commands import shared_train_config

    if args.split != "train" or args.task is None:
        return
    data = shared_train_config(tr, args.task).get("data", {})
    n = train_size(data)
    if not trained_on_task(data, args.task) or n is None:
        return
    whole = len(_generated(args.task, 0)["train"])  # every seed draws the same sizes
    sizes = sorted(
        {train_size(m.config.get("data", {})) or whole for m in tr.members or ()
         if trained_on_task(m.config.get("data", {}), args.task)} | {n}
    )  # fmt: skip
    if n >= whole:
        return
    if len(sizes) == 1:
        trained, others = f"{model_in(args.checkpoint)} trained on (--train-size {n})", "it"
    else:
        trained = (
            f"every member of {model_in(args.checkpoint)} trained on (--train-size "
            f"{', '.join(map(str, sizes[:-1]))} and {sizes[-1]})"
        )
        others = "some member"
    print(
        f"note: --split train is the {n} pairs {trained}, the first {n} of the task's {whole} "
        f"training pairs; the others {others} never saw",
        file=sys.stderr,
    )


def check_pairs_options(args: argparse.Namespace) -> None:
    """evaluate's and score's --data, --task and --split, before the checkpoint loads."""
    if (args.data is None) == (args.task is None):
        raise ValueError("give exactly one of --data FILE and --task NAME")
    if args.data and args.split:
        raise ValueError("--split chooses a split of a --task; a --data corpus is scored whole")


def read_pairs(tr: Translator, args: argparse.Namespace) -> list:
    """The (source, reference) pairs of evaluate's and score's --data corpus or --task split
    (default test), once their sources are known to be what the model reads."""
    from minis2s.data.corpus import read_corpus
    from minis2s.ensemble_commands import check_task_seeds, shared_train_config

    _check_sources_fit(tr.model.cfg.src_features, args)
    if args.data:  # read as train reads a corpus: a field must hold a token of the model's
        return list(read_corpus(args.data, tr.tokenizer, given_as="--data"))
    check_task_seeds(tr, args.task, args.checkpoint)  # then every member's dev and test are one
    return task_split(shared_train_config(tr, args.task), args.task, args.split or "test")


def _print_bands(bands: list, width: int, unit: str = "tokens") -> None:
    """The exact match per band of source lengths as an aligned table; `unit` is what a length
    counts (`Translator.source_unit`: "tokens", or "frames" for a model of feature frames)."""
    labels = [f"{b.lo}" if b.lo == b.hi else f"{b.lo}-{b.hi}" for b in bands]
    w = max(len("length"), *map(len, labels))
    print(
        f"\nexact_match by source length, in bands of {width} {unit[:-1] if width == 1 else unit}:"
    )
    print(f"  {'length':>{w}}  {'n':>6}  exact_match")
    for label, b in zip(labels, bands, strict=True):
        print(f"  {label:>{w}}  {b.n:>6}  {b.exact_match:.4f}")


def _check_sources_fit(F: int, args: argparse.Namespace) -> None:
    """The sources of evaluate's or score's --task or --data are what the model reads: text, or
    frames of F features (F = the model's src_features, 0 for text)."""
    from minis2s.data.tasks import get_task

    given = get_task(args.task).features or 0 if args.task else 0
    if given == F:
        return
    what = f"--task {args.task}" if args.task else "--data"
    gives = f"(S, F={given}) feature frames" if given else "text"
    reads = f"(S, F={F}) feature frames" if F else "text"
    fix = "a task of such frames, or from Python" if F else "a text task or a --data corpus"
    raise ValueError(
        f"{what} gives {gives}, but {model_in(args.checkpoint)} reads {reads}: they do not "
        f"match; {args.command} this model on {fix}"
    )


def task_split(config: dict, task: str, split: str) -> list:
    """The built-in task's `split` as the run with this config saw it (its train split cut to
    the run's train_size, the pairs it trained on). A task's splits depend
    on the seed they are drawn with (pipeline.load_data(task=..., seed=N); `train --task` passes
    its --seed): scored on another seed's test split, a run would be tested on some of its own
    training pairs. The seed is the one whose training pairs are the run's (the fingerprint its
    config records), tried among the run's training seed and 0; a run saved before fingerprints
    gets its training seed's, and a run trained on something else seed 0's."""
    data = config.get("data", {})
    if data.get("name") == task:
        return _as_trained(_generated(task, split_seed(config, task)), split, data)
    if _trained_on_seed_0_split(data, task):  # `tasks --write TASK DIR` files: its first N
        return _as_trained(_generated(task, 0), split, data)
    return list(_generated(task, 0)[split])  # a copy: the drawn splits are kept


def split_seed(config: dict, task: str) -> int:
    """The seed that drew the splits of `task` that the run with this config trained on (see
    task_split); 0 for a run trained on something else. Runs of one seed share their dev and
    test pairs whatever their --train-size, which only cuts the training pairs."""
    data = config.get("data", {})
    if data.get("name") != task:
        return 0
    seeds = list(dict.fromkeys([config.get("train", {}).get("seed", 0), 0]))
    if "train" not in data:  # a run saved before fingerprints: its training seed drew its data
        return seeds[0]
    for seed in seeds:
        if _drawn_splits(data, task, seed) is not None:
            return seed
    raise ValueError(
        f"--task {task}: the run's training pairs ({data['train']}) are not the task's split "
        f"drawn with seed {' or '.join(map(str, seeds))}; it was trained on data that "
        "pipeline.load_data drew with another seed, so which pairs it has not seen is unknown "
        f"here. Write that seed's splits (minis2s tasks --write {task} DIR --seed N) and "
        "evaluate with --data DIR/test.tsv"
    )

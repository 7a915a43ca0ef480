"""The options of `minis2s train` generated from ModelConfig and TrainConfig (their help, which
were given, which the rest of the configuration would ignore): what cli_parser.py builds its
parser from. The argparse types of the options (path, positive_int, ...) are cli_types.py's.
Imports no NumPy (see cli --threads)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from minis2s.cli_types import non_negative_int  # types the --seed and --eval-every it makes

DATA_FIELDS = {"src_vocab", "tgt_vocab", "src_features"}  # filled from the data, not options


# What each ModelConfig / TrainConfig option does, for --help (the dataclasses' docstrings say
# more); a str option's choices are the ones its dataclass checks.
OPTION_HELP = {
    "cell": "recurrent cell: rnn | lstm | gru",
    "emb": "embedding size E",
    "hidden": "hidden size H (per direction in the encoder)",
    "enc_layers": "encoder layers",
    "dec_layers": "decoder layers",
    "bidirectional": "bidirectional encoder",
    "attention": "none | dot | general | concat | additive (Bahdanau's score) | scaled_dot",
    "input_feed": "feed the attentional state h~ into the next decoder step",
    "dropout": "dropout on embeddings, between layers and before the output layer",
    "bridge": "how the decoder starts: zero | last (encoder's final states) | learned (h: tanh of "
    "a linear map of the top layer's final h; an LSTM's c: a linear map of its final c) | "
    "learned_h (LSTM: learned, but c starts at 0)",
    "tie_embeddings": "share the target embedding with the output layer (needs --emb = --hidden)",
    "share_embeddings": "the encoder reads the target embedding too: one matrix for both sides "
    "(needs --share-vocab)",
    "reverse_source": "the encoder reads each source sentence reversed, last token first "
    "(Sutskever et al. 2014), for a one-way encoder (--no-bidirectional): a bidirectional one "
    "read reversed is only another random draw; attention still indexes the source as written",
    "init": "weights: uniform (U(-init_scale, init_scale)) | xavier",
    "init_scale": "bound of the uniform init, and of attention's v",
    "forget_bias": "LSTM forget-gate bias at init",
    "output_bias": "output layer's bias at init: zero | unigram (log of each token's frequency "
    "in the training targets, smoothed, so the untrained model predicts it; a new run's)",
    "epochs": "passes over the training data",
    "batch_size": "sentences per batch",
    "tokens_per_batch": "batches of about this many padded tokens instead of --batch-size",
    "accum_steps": "gradient accumulation: each update sums the token-weighted gradients of this "
    "many batches, an effective batch of K x --batch-size (or --tokens-per-batch)",
    "optimizer": "sgd | adam | adamw | adagrad",
    "lr": "learning rate",
    "weight_decay": "L2 (adamw: decoupled) weight decay",
    "momentum": "SGD momentum, in [0, 1)",
    "nesterov": "Nesterov momentum (SGD)",
    "clip": "clip the global gradient norm to this (0 = off)",
    "lr_schedule": "constant | exponential | warmup | plateau",
    "lr_decay": "lr factor (exponential: every epoch; plateau: when the dev metric stalls)",
    "lr_patience": "plateau: evaluations (epochs, or see --eval-every) without improvement "
    "tolerated; the lr decays at the next one",
    "min_lr": "exponential and plateau: the lr never goes below this",
    "warmup_steps": "warmup: updates of linear warmup, then inverse square root",
    "label_smoothing": "spread this much of the target probability over the vocabulary",
    "teacher_forcing": "lowest probability of feeding the reference token (1 = always)",
    "sampling_schedule": "how scheduled sampling grows: constant | linear | exponential | "
    "inverse_sigmoid",
    "sampling_k": "k of the exponential (0 < k <= 1; 1 = never sample) or inverse_sigmoid (>= 1) "
    "schedule",
    "sampling_steps": "linear schedule: updates to reach 1 - teacher_forcing",
    "patience": "stop when the dev metric has not improved for this many evaluations (epochs, or "
    "see --eval-every) (0 = never)",
    "metric": "dev metric for best/, early stopping, plateau: exact_match | loss | bleu "
    "(an equal exact_match or bleu at a lower dev loss counts as better)",
    "max_steps": "stop after this many updates (0 = no limit)",
    "eval_every": "also score the dev set every N updates, as at an epoch's end: a log line, "
    "best/, last/, early stopping, plateau (0 = at epoch ends only)",
    "keep_checkpoints": "also save each scored point's checkpoint in steps/ and keep the newest "
    "K of them, for `minis2s average --run RUN --last K` (0 = none)",
    "seed": "seeds the weights, batches, dropout and a task's data",
    "dev_size": "dev sentences decoded at each evaluation for the dev metric",
    "freeze_embeddings": "embeddings kept as initialised (e.g. by --src-vectors): none | src | "
    "tgt | both",
}


def add_dataclass_options(p: argparse.ArgumentParser, cls: type, skip: set[str]) -> None:
    group = p.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        help = f"{OPTION_HELP.get(f.name, '')} (default {f.default})".lstrip()
        if f.type in ("bool", bool):  # default None: `from_args` tells given options apart
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=help)  # fmt: skip
        else:
            typ = {"int": int, "float": float, "str": str}[str(f.type)]
            # NumPy's seeds are >= 0; eval_every 0 is off
            typ = non_negative_int if f.name in ("seed", "eval_every") else typ
            group.add_argument(flag, type=typ, default=None, metavar=str(f.type).upper(),
                               help=help)  # fmt: skip


def from_args(cls: type, args: argparse.Namespace, skip: set[str]) -> dict[str, Any]:
    """The fields of `cls` given on the command line (the dataclass supplies the others)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.name not in skip}
    return {name: value for name, value in given.items() if value is not None}


# An option given on the command line that the rest of the configuration would ignore is refused
# rather than dropped: field -> (whether it has an effect, given every field's value; what it
# needs). The Python API cannot tell a default from a value given, so this check is the CLI's
# (TrainConfig itself refuses momentum and nesterov without SGD: non-zero values show there).
IGNORED_UNLESS: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "lr_decay": (lambda c: c["lr_schedule"] in ("exponential", "plateau"),
                 "--lr-schedule exponential or plateau"),
    "lr_patience": (lambda c: c["lr_schedule"] == "plateau", "--lr-schedule plateau"),
    "min_lr": (lambda c: c["lr_schedule"] in ("exponential", "plateau"),
               "--lr-schedule exponential or plateau"),
    "warmup_steps": (lambda c: c["lr_schedule"] == "warmup", "--lr-schedule warmup"),
    "sampling_schedule": (lambda c: c["teacher_forcing"] < 1, "--teacher-forcing below 1"),
    "sampling_k": (lambda c: c["teacher_forcing"] < 1
                   and c["sampling_schedule"] in ("exponential", "inverse_sigmoid"),
                   "--teacher-forcing below 1 and --sampling-schedule exponential or "
                   "inverse_sigmoid"),
    "sampling_steps": (lambda c: c["teacher_forcing"] < 1 and c["sampling_schedule"] == "linear",
                       "--teacher-forcing below 1 and --sampling-schedule linear"),
    "init_scale": (lambda c: c["init"] == "uniform" or c["attention"] in ("concat", "additive"),
                   "--init uniform or --attention concat or additive"),
    "forget_bias": (lambda c: c["cell"] == "lstm", "--cell lstm"),
}  # fmt: skip


def check_given_options(given: dict[str, Any], configs: dict[str, Any]) -> None:
    """ValueError naming each option in `given` that `configs` (every field's final value)
    would ignore, and what it needs."""
    ignored = [
        f"--{name.replace('_', '-')} has no effect without {needs}"
        for name, (applies, needs) in IGNORED_UNLESS.items()
        if name in given and not applies(configs)
    ]
    if ignored:
        raise ValueError("; ".join(ignored) + " (leave it out, or add what it needs)")


def check_model_fits(model: dict[str, Any]) -> None:
    """ValueError when a model's recurrent layers (`model`: every ModelConfig field) would not fit
    in this machine's memory: an H x H float32 matrix a layer at the least, so --enc-layers 10**12
    is refused here, where it was built a layer at a time for ever (no single allocation fails).
    A machine that does not report its memory is not checked."""
    from minis2s.models.config import ModelConfig
    from minis2s.validate import memory_bytes  # NumPy: not before --threads is set

    memory = memory_bytes()
    if memory is None:  # not on Windows, nor everywhere else
        return
    layers, H = model["enc_layers"] + model["dec_layers"], model["hidden"]
    least = layers * H * H * 4
    if least > memory:
        enc, dec, hidden = (
            as_set(f, model[f], ModelConfig) for f in ("enc_layers", "dec_layers", "hidden")
        )
        raise ValueError(
            f"{enc} and {dec} with {hidden} need at least {least / 2**30:.3g} GiB of weights (an "
            f"H x H matrix a layer), more than this machine's {memory / 2**30:.3g} GiB of "
            "memory; lower them"
        )


def as_set(field: str, value: Any, config: type) -> str:
    """The option of `config`'s `field` with its `value` as a message names it: `--hidden 64`,
    or `the default --hidden 128` at the default, which the user most likely did not type."""
    from minis2s.config_error import as_typed

    default = "the default " * (value == config.__dataclass_fields__[field].default)
    return f"{default}--{field.replace('_', '-')} {as_typed(value)}"


# pipeline's functions whose keyword arguments `minis2s train` fills from its options of the same
# dest (load_data's bpe_merges from --bpe-merges, train's tgt_vectors from --tgt-vectors)
KEYWORD_OWNERS = ("load_data", "train")


def option_words(e: Exception, parser: argparse.ArgumentParser, argv: Sequence[str] = ()) -> str:
    """The message of `e` for a user of `parser` (a command's): a ConfigError of a field that
    one of its config options sets (add_dataclass_options) names that option as typed (`--lr -1:
    must be ...`, `--nesterov: needs ...`), found through the parser's own table of dests and
    option strings, as does one of a KEYWORD_OWNERS keyword (`--bpe-merges -1: must be ...`);
    any other error, or a field no single option sets (the vocabulary sizes), keeps its own
    words. The value is the text in `argv` (the command line) where that reads as the refused
    value: --lr 1e-400, which float reads as 0.0, is not quoted as `--lr 0`."""
    from minis2s.config_error import ConfigError, as_typed

    if not isinstance(e, ConfigError):
        return str(e)
    actions = [  # in the groups add_dataclass_options made: score's --batch-size is no config's
        a
        for group in parser._action_groups
        if group.title in ("ModelConfig", "TrainConfig")
        for a in group._group_actions
        if a.dest == e.field
    ]
    if not actions and e.owner in KEYWORD_OWNERS:  # a keyword the command fills from its option
        actions = [a for a in parser._actions if a.dest == e.field]
    if len(actions) != 1:
        return str(e)
    strings = actions[0].option_strings
    if actions[0].nargs == 0:  # a flag: --input-feed, and its --no-input-feed
        named = strings[0] if e.value else strings[-1]
    else:
        text = _typed(argv, actions[0], parser)  # a word is as_typed's: ' bleu' quoted
        reads_as = text is not None and callable(actions[0].type) and not isinstance(e.value, str)
        reads_as = reads_as and actions[0].type(text) == e.value
        named = f"{strings[-1]} {text if reads_as else as_typed(e.value)}"
    return f"{named}: {_defaults_named(e.cli_body or e.body, parser, argv)}"


def _defaults_named(body: str, parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """`body` with each config option it names at its default value (`with --optimizer adam`)
    that `argv` does not give named as that default (`with the default --optimizer adam`):
    `train --weight-decay 1e20` read as if --optimizer had been typed."""
    import re

    from minis2s.config_error import as_typed
    from minis2s.models.config import ModelConfig
    from minis2s.train.config import TrainConfig

    for config in (ModelConfig, TrainConfig):
        defaults = {f.name: f.default for f in dataclasses.fields(config)}
        group = next((g for g in parser._action_groups if g.title == config.__name__), None)
        for action in group._group_actions if group is not None else ():
            if action.nargs == 0 or _typed(argv, action, parser) is not None:
                continue  # a flag is named only where it is set; a typed option, as typed
            said = f"{action.option_strings[-1]} {as_typed(defaults[action.dest])}"
            body = re.sub(rf"(?<![\w-]){re.escape(said)}(?![\w.])", f"the default {said}", body)
    return body


def _typed(
    argv: Sequence[str], action: argparse.Action, parser: argparse.ArgumentParser
) -> str | None:
    """The text `argv` gives `action`'s option (the last time, which argparse keeps): after it,
    or after its "=", in full or abbreviated as argparse takes it; None where it gives none."""
    longs = [s for s in parser._option_string_actions if s.startswith("--")]
    text = None
    for i, token in enumerate(argv):
        if token == "--":  # after it, text, not options
            break
        name, eq, value = token.partition("=")
        full = name if name in longs else None
        if full is None and name.startswith("--"):
            matches = [s for s in longs if s.startswith(name)]
            full = matches[0] if len(matches) == 1 else None
        if full in action.option_strings:
            text = value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
    return text

"""Start a new run from a trained one (fine-tuning): `minis2s train --init-from RUN`, in Python
`pipeline.train(..., init_from=RUN)`.

The new run takes RUN's model: its config and, before the first update, its parameters; and
how RUN reads text: its tokenizer (a BPE run's merges, the Unicode normal form) and both its
vocabularies, which its parameters index. So the new data is tokenized and encoded as RUN would
read it, and a word RUN never saw is <unk>; `unknown_share` says how much of the new training
data that is (fine-tuning cannot learn those words). Training starts afresh: a new optimizer,
lr schedule, early stopping, step and epoch 0, a new log.jsonl; the seed seeds the batch order
and dropout as usual. Only dropout, which shapes no parameter, may differ from RUN's.

Peers: OpenNMT-py `-train_from` with `-reset_optim all`; fairseq `--restore-file` with
`--reset-optimizer --reset-dataloader --reset-lr-scheduler`; JoeyNMT `load_model` with
`reset_optimizer`, `reset_scheduler` and `reset_best_ckpt`.

The new run's checkpoints record `init_from` in their config: RUN's checkpoint directory, a
fingerprint of its parameters and the unknown shares. A `--resume` of the new run goes on from
its own last/ as any resume does (its vocabularies and tokenizer, RUN's, are in its checkpoint):
`init_from` says where it started, and is never read again to initialise it.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, NamedTuple

import numpy as np

from minis2s.api import Translator
from minis2s.backend import to_numpy
from minis2s.cli_options import DATA_FIELDS
from minis2s.data.load_checks import given, named
from minis2s.data.loading import Data
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import UNK_ID, Vocab
from minis2s.load_run import a_file, checkpoint_dir
from minis2s.models import Seq2Seq
from minis2s.train import checkpoint

MAY_CHANGE = ("dropout",)  # model options a fine-tuning may set anew: no parameter's shape
# shape a vocabulary built on the data: RUN's is kept
VOCAB_OPTIONS = ("min_freq", "max_vocab", "share_vocab")

# options that conflict with --init-from, and why
CONFLICTS = {
    "--resume": "a fine-tuned run resumes from its own last/ (which records where it started): "
    "give --resume with its --out, without --init-from",
    "--tokenizer": "the new run reads text with RUN's tokenizer (a BPE run's merges included)",
    "--bpe-merges": "the new run reads text with RUN's tokenizer and its BPE merges",
    "--min-freq": "the new run encodes with RUN's vocabularies, which its parameters index",
    "--max-vocab": "the new run encodes with RUN's vocabularies, which its parameters index",
    "--share-vocab": "the new run encodes with RUN's vocabularies (one shared, if RUN's is), "
    "which its parameters index",
    "--src-vectors": "the new run's source embeddings are RUN's",
    "--tgt-vectors": "the new run's target embeddings are RUN's",
}
# pipeline.train's keywords that conflict with its init_from, and why (its own words)
KEYWORD_CONFLICTS = {
    "resume": "a fine-tuned run resumes from its own last/ (which records where it started): "
    "give resume=True with its out_dir, without init_from",
    "src_vectors": CONFLICTS["--src-vectors"],
    "tgt_vectors": CONFLICTS["--tgt-vectors"],
}


class Start(NamedTuple):
    """The run a fine-tuning starts from: `path`, its checkpoint directory (a run's best/, as
    Translator.load picks it), and `translator`, its model, vocabularies, tokenizer and config."""

    path: str
    translator: Translator

    @property
    def config(self) -> dict[str, Any]:
        return self.translator.config

    @property
    def tokenizer(self) -> Tokenizer:
        return self.translator.tokenizer

    @property
    def vocabs(self) -> tuple[Vocab | None, Vocab]:
        return self.translator.src_vocab, self.translator.tgt_vocab


def load_run(path: str | os.PathLike | Start, *, cli: bool = False) -> Start:
    """The run at `path`: a run directory (its best/ checkpoint, else last/ with a warning) or a
    checkpoint directory (runs/x/last); a Start passes through. A refusal names `path` as
    pipeline.train's init_from, or with `cli` as train's --init-from."""
    if isinstance(path, Start):
        return path
    if not isinstance(path, str | os.PathLike):
        raise ValueError(
            f"init_from is {type(path).__name__} {path!r:.40}; give a run directory or one of "
            "its checkpoints (runs/x/best), as a str or pathlib.Path"
        )
    path, named = os.fspath(path), _named(cli)
    if os.path.isfile(path):  # a run's log.jsonl, a checkpoint's state.json
        raise NotADirectoryError(a_file(path, named))
    if not checkpoint.exists(path):
        run = "as train --out writes it" if cli else "a pipeline.train out_dir"
        raise FileNotFoundError(
            f"{named} {path}: no such directory; give a run directory ({run}) or one of its "
            "checkpoints (runs/x/best, runs/x/last)"
        )
    ckpt_dir = checkpoint_dir(path, "best")  # refuses a directory holding no run
    return Start(ckpt_dir, Translator.load(ckpt_dir))


def _named(cli: bool) -> str:
    """How a message names the run started from: pipeline.train's keyword, or train's option."""
    return "--init-from" if cli else "init_from"


def check_options(given: dict[str, Any]) -> None:
    """ValueError naming the first option in `given` ({"--resume": value, ...}; None or False
    for one not given) that conflicts with --init-from, why, and the fix; pipeline.train's
    keywords ({"resume": value, ...}) are named as train's, conflicting with init_from."""
    for name, value in given.items():
        if value is None or value is False:
            continue
        if name in KEYWORD_CONFLICTS:
            raise ValueError(f"train: {name} conflicts with init_from: "
                             f"{KEYWORD_CONFLICTS[name]}; leave it out")  # fmt: skip
        raise ValueError(f"{name} conflicts with --init-from: {CONFLICTS[name]}; leave it out")


def model_options(
    start: Start, given: dict[str, Any], check: bool = True, *, cli: bool = False
) -> dict[str, Any]:
    """RUN's model options with the `given` ones, which must equal RUN's, but for MAY_CHANGE
    (`check`; a resumed fine-tuning leaves the trainer to name what differs, as any resume).
    A refusal names pipeline.train's model_options, with `cli` train's options."""
    # as Translator.load built it: a field added since RUN was saved at its default
    own = {k: v for k, v in start.translator.model.cfg.to_dict().items() if k not in DATA_FIELDS}
    for name, value in given.items() if check else ():
        if name in own and name not in MAY_CHANGE and value != own[name]:
            flag = "--" + name.replace("_", "-")
            said, out = f"model_options {name}={value!r}", f"{name} out of model_options"
            if cli and isinstance(value, bool):  # a switch: --bidirectional, --no-bidirectional
                flag = flag if value else f"--no-{flag[2:]}"
                said, out = f"{flag} (model option {name})", f"{flag} out"
            elif cli:
                said, out = f"{flag} {value} (model option {name})", f"{flag} out"
            raise ValueError(
                f"{said}: {start.path} has {name} {own[name]}, and a run started from it "
                f"({_named(cli)}) keeps its model and parameters; leave {out} (of the model "
                f"options, only {', '.join(MAY_CHANGE)} may change)"
            )
    return own | given


def read_as_run(data: Data, start: Start, *, cli: bool = False) -> Data:
    """`data` read as RUN reads text: its tokenizer and vocabularies in place of the data's own
    (the pairs are raw text, tokenized when encoded), with the data options that shape a
    vocabulary refused. ValueError when RUN reads feature frames and the data is text, or the
    other way round (`cli`: named as train's --init-from, not as init_from)."""
    check_kind(start, data.features, data.name, cli=cli)
    options = dict(data.options or {})
    # load_data's defaults: the vocabulary untouched
    shaped = {"min_freq": 1, "max_vocab": None, "share_vocab": None}
    for name in VOCAB_OPTIONS:
        value = options.pop(name, shaped[name])
        if value != shaped[name]:
            raise ValueError(_shaped_vocabulary(name, value, cli))
    _check_max_len(data, start)
    tok = start.tokenizer
    options.pop("bpe_merges", None)
    if tok.name == "bpe":
        options["bpe_merges"] = len(tok.merges)
    src_vocab, tgt_vocab = start.vocabs
    return data._replace(src_vocab=src_vocab, tgt_vocab=tgt_vocab, tokenizer=tok, options=options)


def _shaped_vocabulary(name: str, value: Any, cli: bool) -> str:
    """The refusal of data whose vocabularies load_data shaped with `name`=`value` (one of
    VOCAB_OPTIONS), for a fine-tuning, which encodes with RUN's: in load_data's words, or with
    `cli` in train's."""
    if cli:
        flag = named(name, cli)
        return (f"{given(name, value, cli)} shapes a vocabulary built on the training data, but "
                f"{CONFLICTS[flag]}; leave it out")  # fmt: skip
    return (
        f"load_data's {given(name, value, cli)} shaped the data's vocabularies, but the new run "
        "encodes with those of the run it starts from (init_from), which its parameters index; "
        f"load the data without {name}"
    )


def check_kind(start: Start, features: int, name: str, *, cli: bool = False) -> None:
    """ValueError when RUN reads (S, F) feature frames and the data `name` has text sources
    (`features` 0), or the other way round (the command line checks a task before reading it,
    with `cli`: RUN named as --init-from)."""
    F = start.translator.model.cfg.src_features
    if F != features:
        reads = lambda f: f"(S, {f}) feature frames" if f else "text"  # noqa: E731
        raise ValueError(
            f"{_named(cli)} {start.path}: that model reads {reads(F)} as its sources, but the "
            f"sources of {name} are {reads(features)}; fine-tune it on data of its kind"
        )


def _check_max_len(data: Data, start: Start) -> None:
    """ValueError when the data's max_len dropped training pairs by the tokens of a tokenizer
    other than RUN's (data loaded in Python without RUN's): the run would record a max_len that
    its pairs were not cut by, and a resume, counting RUN's tokens, would read other pairs.
    Python's words only: the command line loads the data with RUN's tokenizer."""
    from minis2s._ensemble_checks import tokenizer_difference

    max_len = (data.options or {}).get("max_len")
    ours = get_tokenizer(data.tokenizer)
    why = max_len is not None and tokenizer_difference(ours, start.tokenizer)
    if why:
        raise ValueError(
            f"init_from {start.path}: max_len {max_len} dropped the data's training pairs by "
            f"their {ours.name} tokens, but the new run reads text with that run's tokenizer "
            f"(the two have {why}); load the data with it: start = fine_tune.load_run("
            f"{start.path!r}), then pipeline.load_data(..., tokenizer=start.tokenizer, "
            "vocabs=start.vocabs)"
        )


def unknown_share(examples: list, start: Start) -> dict[str, float]:
    """{"src", "tgt"}: the share of the tokens of the training `examples` (source ids (S,),
    target ids (T',)), encoded with RUN's tokenizer and vocabularies (`read_as_run`'s data, as
    encode_pairs makes them), that are UNK_ID: those RUN's vocabularies lack, read as <unk>.
    Counted from the ids, the text is not tokenized again. A side of feature frames is left out."""
    shares = {}
    for i, (side, vocab) in enumerate(zip(("src", "tgt"), start.vocabs, strict=True)):
        if vocab is None:
            continue
        unknown = sum(example[i].count(UNK_ID) for example in examples)
        n = sum(len(example[i]) for example in examples)
        shares[side] = unknown / n if n else 0.0
    return shares


def params_fingerprint(params: dict[str, Any]) -> str:
    """'<n> arrays, sha256 <12 hex digits>' of parameters by name (their names, shapes, dtypes
    and bytes), which says whether two sets are the same bit for bit."""
    h = hashlib.sha256()
    for name in sorted(params):
        a = np.ascontiguousarray(to_numpy(params[name]))
        h.update(repr((name, a.shape, a.dtype.str)).encode() + a.tobytes())
    return f"{len(params)} arrays, sha256 {h.hexdigest()[:12]}"


def record(start: Start, examples: list) -> dict[str, Any]:
    """What the new run's config records of its start: RUN's checkpoint directory, the
    fingerprint of its parameters, the shares of the new training tokens RUN does not know
    (of `examples`, the training pairs encoded as RUN reads them: `unknown_share`)."""
    return {
        "path": start.path,
        "params": params_fingerprint(start.translator.model.params),
        "unknown": unknown_share(examples, start),
    }


def copy_weights(model: Seq2Seq, start: Start, *, cli: bool = False) -> None:
    """Set `model`'s parameters to RUN's, in `model`'s dtype (float32 <-> float64); `cli`: a
    refusal names RUN as --init-from."""
    own = start.translator.model.params
    if set(own) != set(model.params):  # the same config builds the same names
        raise ValueError(f"{_named(cli)} {start.path}: its parameters are not the model's")
    for name, p in model.params.items():
        p[...] = own[name]  # in place, in p's dtype


def describe(entry: dict[str, Any]) -> str:
    """The line `train` prints of a fine-tuning's start (`record`'s entry)."""
    unknown = entry["unknown"]
    names = {"tgt": "target", "src": "source"}
    sides = " and ".join(f"{unknown[s]:.1%} of the {w} tokens"
                         for s, w in names.items() if s in unknown)  # fmt: skip
    fix = ("; to learn them, train on this data without --init-from, or start from a run "
           "whose vocabularies hold them") if any(unknown.values()) else ""  # fmt: skip
    return (
        f"init-from {entry['path']} ({entry['params']}): {sides} of the training data are not "
        f"in its vocabularies (read as <unk>; fine-tuning cannot learn them{fix})"
    )

"""The checks of `Translator.load_ensemble`: its members turn text into the same ids and ids back
into the same text (one tokenizer, one source and one target vocabulary), so that the mean of
their distributions is a distribution over one set of tokens. Each refusal names the two
checkpoints and what differs, as OpenNMT-py refuses an ensemble of models with other vocabularies.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from minis2s import _warn
from minis2s.data.vocab import Vocab

SAME_DATA = (
    "the members of an ensemble must be trained on the same data with the same data options; "
    "for a built-in task, whose splits depend on --seed, write it once (minis2s tasks --write "
    "TASK DIR) and train each member on --data DIR/train.tsv --dev-data DIR/dev.tsv"
)
SAME_FRAMES = (  # tasks --write refuses a task of feature frames: a TSV file cannot hold them
    "the members of an ensemble must be trained on the same data; a feature task's splits depend "
    "on its seed and cannot be written to files, so load them once in Python and train each "
    "member on them: data = pipeline.load_data(task=NAME), then pipeline.train(data, options, "
    "TrainConfig(seed=N), out_dir) for each N"
)

SAME_OPTIONS = (  # runs of one data whose options differ build their vocabularies on other tokens
    "they were trained with {options}, and a vocabulary is built on the training pairs those "
    "options keep (a token's id follows its count); train each member with the same data "
    "options, or from {first} with train --init-from {first}, which reads its vocabularies"
)


def check_paths(paths: Any) -> list[Any]:
    """`paths` is a list of at least one checkpoint path (one string is refused: its letters
    would be taken for paths)."""
    if isinstance(paths, str | os.PathLike) or not isinstance(paths, Sequence) or not paths:
        raise ValueError(
            f"Translator.load_ensemble: paths is {paths!r:.60}; give a list of run or checkpoint "
            "directories, one per member (Translator.load reads one)"
        )
    return list(paths)


def check_distinct(names: Sequence[str], checkpoints: Sequence[str]) -> None:
    """A warning for a checkpoint given twice (`names` as given, `checkpoints` the directories
    they name, a run's best/): the mean of a run's distribution with itself is that run's, which
    the figures would call an ensemble's (a typo of runs/d1 for runs/d2). Not refused: twice is
    also a weight (d1 d1 d2 weighs d1 2/3)."""
    seen: dict[str, str] = {}
    for name, ckpt in zip(names, checkpoints, strict=True):
        key = os.path.realpath(ckpt)
        if key in seen:
            _warn.warn(
                f"{seen[key]} and {name} are the same checkpoint twice ({ckpt}), which counts "
                "twice in the mean (an ensemble of a run with itself decodes as that run alone); "
                "give each run once unless that weight is meant",
            )
        seen[key] = name


def check_members(names: Sequence[str], translators: Sequence[Any]) -> None:
    """Every translator has the first's tokenizer and vocabularies; `names` name them."""
    first = translators[0]
    advice = SAME_FRAMES if first.src_vocab is None else SAME_DATA
    for name, other in zip(names[1:], translators[1:], strict=True):
        pair = f"{names[0]} and {name}"
        for side in ("src", "tgt"):
            a, b = getattr(first, f"{side}_vocab"), getattr(other, f"{side}_vocab")
            if a != b:
                why = vocab_difference(side, a, b)
                data = data_difference(first.config, other.config)
                options = options_difference(first.config, other.config)
                if data:  # not their options: fine-tuning on the first's data would not mend it
                    advice = f"{data}; {advice}"
                elif options:
                    advice = SAME_OPTIONS.format(options=options, first=names[0])
                raise ValueError(f"{pair} have {why}; {advice}")
        why = tokenizer_difference(first.tokenizer, other.tokenizer)
        if why:
            raise ValueError(f"{pair} have {why}; {SAME_DATA}")


def in_one_dtype(models: Sequence[Any]) -> list[Any]:
    """The members' Seq2Seq models in one dtype, as an Ensemble needs: float64 when some run is
    float64 (a float32 weight is exact in float64, so widening changes only the rounding of that
    run's arithmetic, where narrowing would change the float64 run's weights), else as loaded."""
    import numpy as np

    from minis2s.models import Seq2Seq

    if all(m.dtype == models[0].dtype for m in models):
        return list(models)
    wide = np.dtype(np.float64)
    return [
        m
        if m.dtype == wide
        else Seq2Seq(m.cfg, {k: v.astype(wide) for k, v in m.params.items()}, dtype=wide)
        for m in models
    ]


def vocab_difference(side: str, a: Vocab | None, b: Vocab | None) -> str:
    """What differs between two vocabularies of `side`, for a message: 'different target
    vocabularies (12 and 13 tokens; id 4 is '1' and '7')'."""
    what = {"src": "source", "tgt": "target"}[side]
    if a is None or b is None:
        reads = ["feature frames" if v is None else "token ids" for v in (a, b)]
        return f"different sources (one reads {reads[0]}, the other {reads[1]})"
    ta, tb = a.tokens, b.tokens
    sizes = f"{len(ta)} and {len(tb)} tokens"
    first = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y), None)
    if first is None:  # one is the other's beginning
        i = min(len(ta), len(tb))
        extra = (ta if len(ta) > len(tb) else tb)[i]
        return f"different {what} vocabularies ({sizes}; the longer goes on with {extra!r})"
    return f"different {what} vocabularies ({sizes}; id {first} is {ta[first]!r} and {tb[first]!r})"


def data_difference(a: dict, b: dict) -> str | None:
    """'they were trained on other data (task reverse-digits and task sort)' where two runs'
    configs record other training data (data.source: a task, or a corpus's --data files), else
    None (the same, or a run saved before minis2s recorded it)."""
    sa, sb = (c.get("data", {}).get("source") for c in (a, b))
    if sa is None or sb is None:
        return None
    wa, wb = (f"task {s['task']}" if "task" in s else f"--data {' '.join(s['data'])}"
              for s in (sa, sb))  # fmt: skip
    return None if wa == wb else f"they were trained on other data ({wa} and {wb})"


def options_difference(a: dict, b: dict) -> str | None:
    """The data options that differ between two runs' configs ('--train-size 64 and 96'), or
    None; an option left out is 'unset'."""
    oa, ob = (c.get("data", {}).get("options", {}) for c in (a, b))
    words = [
        f"--{key.replace('_', '-')} {_unset(oa.get(key))} and {_unset(ob.get(key))}"
        for key in sorted(oa.keys() | ob.keys(), key=lambda k: (k != "train_size", k))
        if oa.get(key) != ob.get(key)
    ]
    return ", ".join(words) or None


def _unset(value: Any) -> str:
    return "unset" if value is None else str(value)


def tokenizer_difference(a: Any, b: Any) -> str | None:
    """What differs between two Tokenizers (name, Unicode form, BPE merges), or None."""
    if a.name != b.name:
        return f"different tokenizers ({a.name} and {b.name})"
    if a.form != b.form:
        return f"tokenizers that read text in different Unicode forms ({a.form} and {b.form})"
    if a.merges != b.merges:
        return f"different BPE merges ({len(a.merges)} and {len(b.merges)} merges)"
    return None

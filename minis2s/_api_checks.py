"""The checks of the Python API's inputs (sources and pairs to score, feature sources, a
checkpoint's parameters and vocabularies, a Translator's own), apart from the code that reads
them (api.py's translating, load_run.py, evaluation.py, scoring.py); each refuses with a message
that names the argument and the fix. The decoding options' checks (method, replace_unk, the
phrase table) are _decoding_checks.py's."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.data import bpe
from minis2s.data.batching import check_frames, pad_features
from minis2s.data.tokenize import FORMS, TOKENIZERS, Tokenizer
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig
from minis2s.train import checkpoint


def check_sources(sources: Any) -> None:
    """ValueError unless `sources` is a list (or sequence, or (N, S, F) array) of sources: one
    string, or an array of one source, would otherwise be read as several."""
    if isinstance(sources, str) or (isinstance(sources, np.ndarray) and sources.ndim < 3):
        what = "one string" if isinstance(sources, str) else f"an array of shape {sources.shape}"
        raise ValueError(
            f"translate: sources is {what}; pass a list of sources, one per output: "
            "translate([text]) (or [frames] for a feature model)"
        )
    if not isinstance(sources, Sequence | np.ndarray):  # None, a set, a dict, a generator
        raise ValueError(
            f"translate: sources is {describe(sources)}; pass a list of sources, one "
            "per output (list(...) of a generator)"
        )


def check_run_path(where: str, path: Any, which: Any, name: str = "path") -> str:
    """`path` is a str or os.PathLike (os.fspath's TypeError named neither it nor the fix) and
    `which` is "best" or "last"; returns the path as a str."""
    if which not in ("best", "last"):
        raise ValueError(f"{where}: which={which!r}; give 'best' or 'last'")
    if not isinstance(path, str | os.PathLike):
        raise ValueError(
            f"{where}: {name} is {describe(path)}; give a run directory (as `minis2s train --out` "
            "writes it) or one of its checkpoints (runs/x/best), as a str or pathlib.Path"
        )
    return os.fspath(path)


def check_places(places: Any, n: int, where: str = "translate") -> None:
    """`places` (translate's, or `where`'s, which passes it on) is None or n distinct integers
    >= 0, one per source."""
    if places is None:
        return
    ok = isinstance(places, Sequence | np.ndarray) and len(places) == n
    ok = ok and all(isinstance(p, int | np.integer) and p >= 0 for p in places)
    if not ok or len(set(map(int, places))) != n:
        raise ValueError(
            f"{where}: places is {places!r:.60}; give {n} distinct integers >= 0, each "
            "source's place in your input (its sample's stream), or leave it out"
        )


def check_pairs(pairs: Sequence[tuple[Any, str]], where: str = "evaluate") -> None:
    """`pairs` is a non-empty list of (source, reference string); `where` names the caller. One
    string or one pair is refused as such (its first character or its source was named as a
    wrong pairs[0]), and what has no length (None, a generator) as itself, not a TypeError."""
    if isinstance(pairs, str):
        raise ValueError(
            f"{where}: pairs is one string; pass a list of (source, reference) pairs: "
            "[(source, reference)]"
        )
    if isinstance(pairs, tuple) and len(pairs) == 2 and all(isinstance(x, str) for x in pairs):
        raise ValueError(
            f"{where}: pairs is one (source, reference) pair; pass a list of pairs: [{pairs!r:.60}]"
        )
    if not isinstance(pairs, Sequence):  # None, a generator, a dict, an array
        how = "pairs.tolist()" if isinstance(pairs, np.ndarray) else "list(...) of a generator"
        raise ValueError(
            f"{where}: pairs is {describe(pairs)}; pass a list of (source, reference) pairs ({how})"
        )
    if len(pairs) == 0:
        raise ValueError(f"{where}: pairs is empty; give at least one (source, reference)")
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[1], str)):
            raise ValueError(
                f"{where}: pairs[{i}] is {pair!r:.60}; expected a (source, reference) pair "
                "with the reference a string, in a list of such pairs"
            )


def check_finite_params(where: str, params: dict[str, np.ndarray]) -> None:
    """The checkpoint's parameters are floating-point numbers (an array of strings was a
    TypeError inside np.isfinite; complex, integer or bool ones were cast to the model's dtype
    without a word), with no NaN or infinity (they would decode to empty text)."""
    for name, p in params.items():
        if p.dtype.kind != "f":
            raise ValueError(
                f"{os.path.join(where, 'params.npz')}: parameter {name} is an array of "
                f"{p.dtype}, not of floating-point numbers (minis2s saves float32 or float64); "
                "was the file edited, or written by another program? Put the run's own file "
                "back, or load another checkpoint"
            )
    bad = [name for name, p in params.items() if not np.isfinite(p).all()]
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(
            f"{where}: parameters hold NaN or infinite values ({', '.join(bad[:3])}{more}): "
            "training diverged or the file is damaged; load another checkpoint (the run's best/ "
            "or last/) or train again"
        )


def describe(x: Any) -> str:
    """A short description of a wrong source for an error message."""
    if hasattr(x, "shape"):
        return f"an array of shape {tuple(x.shape)}"
    return "None" if x is None else f"{type(x).__name__} {x!r:.40}"


def check_vocabs(where: str, cfg: ModelConfig, vocabs: dict[str, Vocab]) -> None:
    """The checkpoint in `where` has the vocabularies its model needs, of the model's sizes."""
    sides = {"tgt": cfg.tgt_vocab} | ({} if cfg.src_features else {"src": cfg.src_vocab})
    for side, size in sides.items():
        file = os.path.join(where, checkpoint.VOCAB_FILES[side])
        if side not in vocabs:
            raise ValueError(f"incomplete checkpoint: {file} is missing (the model needs it)")
        if len(vocabs[side]) != size:
            raise ValueError(
                f"{file} holds {len(vocabs[side])} tokens but the model's {side}_vocab is "
                f"{size}: the vocabulary and the parameters come from different runs"
            )


def check_given_vocabs(cfg: ModelConfig, src_vocab: Vocab | None, tgt_vocab: Vocab) -> None:
    """Translator's vocabularies, given by hand, fit its model: one for both sides where the
    model shares its embeddings, each of the model's size (a model that reads token ids needs
    a source one); Translator.load checks a checkpoint's with `check_vocabs` and load_run."""
    if cfg.share_embeddings and src_vocab != tgt_vocab:
        raise ValueError(
            "Translator: the model embeds source and target with one matrix (share_embeddings), "
            "so it reads both sides with one vocabulary, but the src_vocab and tgt_vocab given "
            "differ: pass the same Vocab for both: Translator(model, vocab, vocab, ...), with "
            "the vocabulary the model was trained with"
        )
    if not cfg.src_features and src_vocab is None:
        raise ValueError(
            f"Translator: the model reads source token ids (its src_vocab is {cfg.src_vocab}), "
            "but src_vocab is None: pass the source vocabulary the model was trained with"
        )
    given = {"tgt": tgt_vocab} | ({} if cfg.src_features else {"src": src_vocab})
    for side, vocab in given.items():
        if not isinstance(vocab, Vocab):  # its token list, say: an AttributeError mid-translate
            raise ValueError(
                f"Translator: {side}_vocab is {describe(vocab)}; give a minis2s.data.vocab.Vocab "
                "(Vocab.build(token lists), Vocab.load(path)), the one the model was trained with"
            )
        size = getattr(cfg, f"{side}_vocab")
        if len(vocab) != size:
            raise ValueError(
                f"Translator: the {side}_vocab given holds {len(vocab)} tokens but the model's "
                f"{side}_vocab is {size}: pass the vocabulary the model was trained with "
                "(Translator.load reads a saved run's with its model)"
            )


def check_given_config(config: Any) -> None:
    """Translator's config, given by hand, is a dict (what Translator.load reads from a run's
    state.json) or None: `config or {}` kept a list as {} and a string as itself."""
    if config is not None and not isinstance(config, dict):
        raise ValueError(
            f"Translator: config is {describe(config)}; give a dict (a loaded run's config, "
            "Translator.config: its 'model', 'train', 'data' and 'dtype'), or leave it out"
        )


def tokenizer_of(where: str, data_config: dict[str, Any]) -> Tokenizer:
    """The tokenizer a checkpoint's config records: its name (for "bpe", the Tokenizer rebuilt
    from the merges it learned), reading text in the Unicode normal form the config names
    ("normalization"); a config without one is from a run saved before minis2s normalised text,
    and its tokenizer reads text as written, as that run was trained (form None)."""
    name = data_config.get("tokenizer", "char")
    file = os.path.join(where, "state.json")  # where checkpoint.save writes the config
    if name not in (*TOKENIZERS, "bpe"):
        raise ValueError(
            f"{file} says tokenizer {name!r}, which is none of {', '.join(TOKENIZERS)}, bpe (was "
            "it edited?)"
        )
    form = data_config.get("normalization")
    if form is not None and form not in FORMS:
        raise ValueError(
            f"{file} says normalization {form!r}, which is none of {', '.join(FORMS)} (was it "
            "edited?)"
        )
    if name != "bpe":
        return TOKENIZERS[name]._replace(form=form)
    if "bpe_merges" not in data_config:
        raise ValueError(f"{file} says tokenizer bpe but holds no bpe_merges (was it edited?)")
    try:
        return bpe.bpe_tokenizer(data_config["bpe_merges"], form)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{file}: its bpe_merges are not BPE merges ({e})") from None


def pad_feature_sources(
    sources: Sequence[Any], F: int, first: int = 0, where: str = "translate"
) -> tuple[Any, Any, list[list[str]]]:
    """(N, S, F) float32 features zero-padded, their (N, S) mask, and frame labels per row;
    `first` and `where` as in `Translator.encode_sources`."""
    for i, s in enumerate(sources, start=first):
        if isinstance(s, str):
            raise ValueError(
                f"{where}: sources[{i}] is text, but this model reads (S, F={F}) float frames "
                f"(src_features > 0): give it arrays, from Python (Translator.{where})"
            )
    with np.errstate(over="ignore"):  # beyond float32 is inf, refused by check_frames
        arrays = [np.asarray(s, dtype=np.float32) for s in sources]
    for i, a in enumerate(arrays, start=first):
        if a.ndim != 2 or a.shape[1] != F or a.shape[0] == 0:
            raise ValueError(
                f"{where}: sources[{i}] has shape {a.shape}, expected (S, F) = (>=1, {F})"
            )
        check_frames(where, f"sources[{i}]", a)
    x, mask = pad_features(arrays)
    return x, mask, [[f"f{t}" for t in range(len(a))] for a in arrays]

"""What the commands that translate share (translate, evaluate, score, plot, train's final
figures): translating a list of sources CHUNK at a time with each named as its user numbers it
(`translate_naming`), the notes on stderr of sources longer than any the model trained on and of
tokens not in its vocabulary, the decoding options checked against the loaded model before any
sentence is read, and evaluate's and train's ok / ERR lines. Imports no NumPy until a function
runs (see cli --threads)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING

from minis2s.wording import percent

if TYPE_CHECKING:  # for annotations only
    from minis2s.api import Translator


def show_translations(tr: Translator, pairs: list, translations: list) -> None:
    """Print one line per (source, reference) pair and its translation: `ok` when the output is
    the reference as the model writes it (what exact match counts), `ERR` otherwise."""
    for (src, ref), t in zip(pairs, translations, strict=True):
        mark = "ok " if t.text == tr.as_output(ref) else "ERR"
        print(f"  {mark} {_show(src)!s:>30} -> {t.text:<30} (reference {ref})")


def _show(src) -> str:
    return src if isinstance(src, str) else f"<{len(src)} frames>"


# sources translated at a time by the commands that keep every output (evaluate, train's final
# figures; translate prints and lets go of each chunk): an output holds its attention weights
# (~14 KB a line) until let go
CHUNK = 2000


def translate_naming(
    tr: Translator,
    sources: list,
    kw: dict,
    what: str,
    note: bool = True,
    attention: bool = False,
    places: list[int] | None = None,
) -> list:
    """tr.translate(sources, **kw) for a command that names its sources `what` i+1 ("pair 3",
    "test pair 3"), as its user numbers them: the API's LongSourceWarning and NoHypothesis name
    sources[i] of a list the user never wrote, so this says the same of `what`s instead (the
    note on long sources only if `note`). `places`: each source's place in the user's input
    (0-based; default 0..N-1), which names it and whose stream it samples from, so that a caller
    that leaves some out (translate, its blank lines) keeps the others' names and samples.

    CHUNK sources are translated at a time, and an output keeps its attention weights only if
    `attention`: 50k outputs held 1.0 GB of weights. Each source samples from the stream of its
    place, so the outputs are those of the list translated whole."""
    from minis2s.cli_decoding import MAX_LEN_FLAGS
    from minis2s.decode.common import NoHypothesis, TooManySteps
    from minis2s.long_sources import LongSourceWarning

    places = list(range(len(sources))) if places is None else places
    out = []
    for i in range(0, len(sources), CHUNK):
        chunk = places[i : i + CHUNK]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LongSourceWarning)
            try:
                sampled = {"places": chunk} if kw.get("method") == "sample" else {}
                some = tr.translate(sources[i : i + CHUNK], **sampled, **kw)
            except NoHypothesis as e:
                n = chunk[e.n]
                raise NoHypothesis(n, f"{what} {n + 1}", where=e.where) from None
            except TooManySteps as e:  # named as typed: the options, the source's number
                named = e.named("", MAX_LEN_FLAGS, f"{what} {chunk[e.index] + 1}")
                raise ValueError(named) from None
        out += some if attention else [_without_attention(t) for t in some]
    if note:  # by index, as the sources given (translate notes its lines itself)
        note_long(tr, [len(t.src_tokens) for t in out], what)
    return out


def _without_attention(t):
    """A Translation (or an n-best list of them) without its attention weights."""
    return [_without_attention(x) for x in t] if isinstance(t, list) else t._replace(attention=None)


def note_long(tr: Translator, lengths: list[int], what: str) -> None:
    """The note on stderr naming the sources (`what` i+1, of `lengths` tokens or frames) longer
    than any the model trained on (`Translator.longest_source`): their translations are likely
    poor."""
    from minis2s.long_sources import named_note

    text = named_note(lengths, tr.longest_source, lambda i: f"{what} {i + 1}", what, tr.source_unit)
    if text:
        print(f"note: {text}", file=sys.stderr)


def check_decode_options(tr: Translator, args: argparse.Namespace, kw: dict) -> None:
    """The decoding options that need a model with attention, checked against the loaded model
    before any sentence is read (no sentence typed or scored in vain): --coverage-penalty
    (beam search would refuse it only at its first step), --replace-unk (and a model that reads
    text) and --phrase-table, named as typed, not as Translator.translate's keywords."""
    from minis2s._decoding_checks import check_replace_unk
    from minis2s.decode.replace_unk import check_table_file
    from minis2s.ensemble_commands import model_in, no_attention

    if kw.get("method") == "beam":  # one sentence of one token, the narrowest search there is
        from minis2s.decode.beam_checks import check_fits, shortest_limits, target_vocab

        limits = shortest_limits(kw["max_len_a"], kw["max_len_b"])
        check_fits(1, kw["beam_size"], target_vocab(tr.model), "", "--beam", limits)
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
    if kw.get("replace_unk") and tr.model.cfg.src_features:
        raise ValueError(
            f"--replace-unk: {model_in(args.checkpoint)} reads feature vectors (src_features = "
            f"{tr.model.cfg.src_features}), which hold no source token to copy; leave it out"
        )
    if kw.get("phrase_table") is not None:  # an entry's FILE:LINE (decode/replace_unk.py)
        check_table_file(args.phrase_table, kw["phrase_table"], tr.tokenizer)
    check_replace_unk(
        tr.model.cfg, kw.get("replace_unk", False), kw.get("phrase_table"), tr.tokenizer
    )


def note_unknown(tr: Translator, args: argparse.Namespace) -> None:
    """A note on stderr when source tokens were not in the vocabulary: how many, of how many
    (evaluate's and score's --task add what the model was trained on: evaluate_commands)."""
    if not tr.unknown:
        return
    u, n = tr.unknown, tr.source_tokens
    print(f"note: {u} of the {n} source token{'s' * (n != 1)} ({percent(u, n)}) "
          f"{'was' if u == 1 else 'were'} not in the vocabulary (mapped to <unk>)",
          file=sys.stderr)  # fmt: skip

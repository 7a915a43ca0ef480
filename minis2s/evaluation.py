"""`Translator.evaluate` and `Translator.evaluate_translations`: a model's outputs scored against
references.

The figures: exact_match (each reference compared as the model's output would spell it,
`Translator.as_output`), n, BLEU and chrF (with sacrebleu), token_accuracy over target ids with
EOS (`_target_ids` says how an out-of-vocabulary token counts) and, with by_length, the exact
match per band of source lengths; `evaluate` translates the sources first, and adds the
references' own teacher-forced figures (scoring.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from minis2s import _api_checks as checks
from minis2s import _decoding_checks as decoding_checks
from minis2s import length_batches, metrics, scoring, validate
from minis2s.data.vocab import EOS_ID, UNK_ID

if TYPE_CHECKING:
    from minis2s.api import Translation, Translator


def evaluate(
    tr: Translator,
    pairs: Sequence[tuple[Any, str]],
    *,
    bleu: bool = True,
    by_length: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`tr.evaluate(pairs, ...)`: translate the sources with `options`, score the outputs
    (`evaluate_translations`), and add ref_loss, ref_ppl and ref_unknown, then cut: how many
    outputs the maximum length cut before </s> (`Translation.ended` False; `minis2s evaluate`
    notes it on stderr), which the caller, never handed the outputs, could not count: a model
    that has not learnt when to stop runs on to the limit, which lowers its figures."""
    checks.check_pairs(pairs)
    _check_references(tr, pairs)  # before the decoding, as the bleu and by_length checks
    validate.boolean("evaluate", "bleu", bleu)  # before the decoding, which can take minutes
    if options.get("nbest", 1) != 1:  # scores need one output per source
        raise ValueError(
            f"evaluate: nbest={options['nbest']!r}; scoring takes the best output of each "
            "source, so leave nbest out (translate(..., nbest=k) gives n-best lists)"
        )
    if by_length is not None:  # before the decoding, which can take minutes
        validate.integer("evaluate", "by_length (source tokens per band)", by_length, 1)
    sources = [s for s, _ in pairs]
    tr._check_decoding("evaluate", sources, **options)  # translate's checks, in evaluate's words
    # and its sources' (translate would refuse one as its own), read as translate reads them;
    # counted when translated
    rows, _ = length_batches.encode_each(
        tr, sources, _batch_size(options), where="evaluate", count=False
    )
    method = options.get("method", "greedy")  # known by now (_check_decoding)
    decoding_checks.check_lengths(method, options, [len(r) for r in rows], "evaluate")
    translations = tr.translate(sources, **options)
    result = tr.evaluate_translations(pairs, translations, bleu=bleu, by_length=by_length)
    result |= scoring.reference_figures(tr, pairs, _batch_size(options))
    return result | {"cut": sum(not t.ended for t in translations)}


def _batch_size(options: dict[str, Any]) -> int:
    """translate's batch_size among evaluate's options (checked by then), its default 64."""
    return options.get("batch_size", 64)


def evaluate_translations(
    tr: Translator,
    pairs: Sequence[tuple[Any, str]],
    translations: Sequence[Translation],
    *,
    bleu: bool = True,
    by_length: int | None = None,
) -> dict[str, Any]:
    """`tr.evaluate_translations(pairs, translations, ...)`: the figures of `translations` (one
    per pair, from `translate`) against the references."""
    from minis2s.api import Translation  # here: api.py imports this module

    checks.check_pairs(pairs)
    validate.boolean("evaluate", "bleu", bleu)
    if not isinstance(translations, Sequence) or isinstance(translations, str):
        raise ValueError(
            f"evaluate: translations is {checks.describe(translations)}; give the list "
            "translate returns for the pairs' sources, one Translation per pair"
        )
    if len(translations) != len(pairs):
        raise ValueError(
            f"evaluate: {len(translations)} translations for {len(pairs)} pairs; give one "
            "translation (translate's output) per pair"
        )
    for i, t in enumerate(translations):
        if not isinstance(t, Translation):
            raise ValueError(
                f"evaluate: translations[{i}] is {type(t).__name__}, not a Translation: give "
                "one per pair, as translate returns them without nbest (an n-best list: its "
                "first, the best)"
            )
    _check_references(tr, pairs)
    _check_sources(tr, pairs, translations)
    hyps = [t.text for t in translations]
    refs = [tr.as_output(r) for _, r in pairs]
    result: dict[str, Any] = {"exact_match": metrics.exact_match(hyps, refs), "n": len(refs)}
    if bleu:
        try:
            level = "char" if tr.tokenizer.name == "char" else "13a"
            result["bleu"] = metrics.bleu(hyps, refs, tokenize=level)
            result["chrf"] = metrics.chrf(hyps, refs)
        except ImportError:
            pass
    result["token_accuracy"] = metrics.token_accuracy(*_target_ids(tr, translations, refs))
    if by_length is not None:
        lengths = [len(t.src_tokens) for t in translations]
        result["by_length"] = metrics.exact_match_by_length(lengths, hyps, refs, by_length)
    return result


def _check_references(tr: Translator, pairs: Sequence[tuple[Any, str]]) -> None:
    """Each reference has a token, as `minis2s evaluate` refuses a corpus line without one: an
    empty output matched an empty reference exactly. (score takes an empty target: its </s>.)"""
    for i, (_, ref) in enumerate(pairs):
        if ref == "":
            raise ValueError(
                f"evaluate: pairs[{i}]'s reference is empty; every pair needs a source and a "
                "reference"
            )
        if not tr.tokenizer.tokenize(ref):
            raise ValueError(
                f"evaluate: pairs[{i}]'s reference has no {tr.tokenizer.name} tokens "
                f"({ref!r:.60}); every pair needs a source and a reference"
            )


def _check_sources(
    tr: Translator, pairs: Sequence[tuple[Any, str]], translations: Sequence[Translation]
) -> None:
    """Each translation's source tokens are its pair's source's, read as translate reads it: a
    list sorted or shuffled apart from the pairs was scored against the wrong references."""
    sources = [s for s, _ in pairs]
    _, toks = length_batches.encode_each(tr, sources, 64, where="evaluate", count=False)
    for i, (t, want) in enumerate(zip(translations, toks, strict=True)):
        got = t.src_tokens
        if isinstance(got, str) or not isinstance(got, Sequence) or list(got) != want:
            raise ValueError(
                f"evaluate: translations[{i}] translates {_source_text(tr, t.src_tokens)}, but "
                f"pairs[{i}]'s source is {_source_text(tr, want)}: give one translation per "
                "pair in the order of the pairs, as translate([s for s, _ in pairs]) returns them"
            )


def _source_text(tr: Translator, tokens: Sequence[str]) -> str:
    """A source's tokens as a message quotes them: its text, or its number of frames."""
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        return checks.describe(tokens)
    if tr.model.cfg.src_features:
        return f"a source of {len(tokens)} frames"
    return f"{tr.tokenizer.detokenize(list(tokens))!r:.60}"


def _target_ids(
    tr: Translator, translations: Sequence[Translation], refs: Sequence[str]
) -> tuple[list[list[int]], list[list[int]]]:
    """Target ids of the outputs and the references, each ending with EOS (an output only
    when it produced one). A token that is not in the vocabulary (a reference's unseen word,
    a source word that replace_unk copied, and the text "<unk>") gets an id below 0 of its
    own spelling, as exact match compares texts: a copied word counts where it spells the
    reference's, and an output <unk> matches only a reference that says "<unk>"."""
    unseen: dict[str, int] = {}

    def ids(tokens: list[str]) -> list[int]:
        return [
            unseen.setdefault(t, -1 - len(unseen)) if i == UNK_ID else i
            for t, i in zip(tokens, tr.tgt_vocab.encode(tokens), strict=True)
        ]

    hyp_ids = [ids(t.tokens) + ([EOS_ID] if t.ended else []) for t in translations]
    ref_ids = [ids(tr.tokenizer.tokenize(r)) + [EOS_ID] for r in refs]
    return hyp_ids, ref_ids

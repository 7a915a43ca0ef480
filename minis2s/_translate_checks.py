"""translate's checks of its arguments as one call, before a source is read: the sources and
their places (_api_checks.py), the method with its options, seed, batch_size and nbest, checked
alone and against the model (_decoding_checks.py), and replace_unk with its phrase table. Each
refuses in the words of `where`, the call the user made: translate, or evaluate, which checks
translate's options as its own before it translates. The Translator holds
`check_translate_arguments` as its method `_check_decoding`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from minis2s import _api_checks
from minis2s import _decoding_checks as decoding_checks

if TYPE_CHECKING:  # for annotations only: api.py imports this module
    from minis2s.api import Translator


def check_translate_arguments(
    tr: Translator,
    where: str,
    sources: Sequence[Any],
    /,  # so that evaluate(pairs, where=...) is refused as an unknown option, not a TypeError
    *,
    method: str = "greedy",
    batch_size: int = 64,
    nbest: int = 1,
    seed: int | None = None,
    replace_unk: bool = False,
    phrase_table: Mapping[str, str] | None = None,
    places: Sequence[int] | None = None,
    **options: Any,
) -> Mapping[str, str] | None:
    """translate's checks of its arguments, refused in the words of `where`, the call the
    user made: evaluate, whose options are translate's, checks them as its own before it
    translates. Returns the phrase table in the tokenizer's normal form. The defaults are
    translate's (tests/test_decoding_check_words.py holds them equal)."""
    _api_checks.check_sources(sources)
    _api_checks.check_places(places, len(sources), where)
    decoding_checks.check_method(method, options, seed, batch_size, nbest, where, places)
    N = min(batch_size, len(sources))  # the largest batch
    decoding_checks.check_for_model(tr.model, method, options, N, where)
    return checked_phrase_table(tr, replace_unk, phrase_table, where)


def checked_phrase_table(
    tr: Translator, replace_unk: bool, phrase_table: Mapping[str, str] | None, where: str
) -> Mapping[str, str] | None:
    """ValueError, naming `where`, unless replace_unk and phrase_table suit this model
    (`decoding_checks.check_replace_unk`); the table with its sources in the tokenizer's
    normal form (`decoding_checks.normalized_table`)."""
    without = getattr(tr.model, "without_attention", list)()  # an ensemble's runs
    who = f"the ensemble's run {without[0]}" if without else "this model"
    decoding_checks.check_replace_unk(
        tr.model.cfg, replace_unk, phrase_table, tr.tokenizer, who, where
    )
    if phrase_table is not None:
        phrase_table = decoding_checks.normalized_table(phrase_table, tr.tokenizer)
    return phrase_table

"""The checks of `Translator.translate`'s decoding options, before a source is read: the method
and its own options (METHODS, OPTIONS), the seed, batch_size and nbest, and replace_unk with its
phrase table (each source one token as the model's tokenizer reads it). api.py calls them, and
the commands (command_translations.py) call `check_replace_unk` before reading a sentence;
decode/replace_unk.py names a phrase-table file's bad line with `first_table_problem`. Each
refuses with a message that names the option and the fix, after the call the user made
(`where`): translate, or evaluate, which passes its options on to translate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from minis2s import validate
from minis2s.data.tokenize import TOKENIZERS, Tokenizer
from minis2s.models import ModelConfig

METHODS = ("greedy", "beam", "sample")
OPTIONS = {  # the keyword options each decoding method takes
    "greedy": ("max_len_a", "max_len_b"),
    "beam": ("beam_size", "length_penalty", "alpha", "beta", "max_len_a", "max_len_b"),
    "sample": ("temperature", "top_k", "top_p", "max_len_a", "max_len_b"),
}


def check_method(
    method: str,
    options: dict[str, Any],
    seed: int | None,
    batch_size: int,
    nbest: int,
    where: str = "translate",
    places: Any = None,
) -> None:
    """ValueError unless `method` is one of METHODS, `options` are its own (OPTIONS) with valid
    values, and batch_size and nbest fit it (nbest > 1 only for beam search), and seed and
    places only for sampling (`check_given_options`). `where` names the
    call the user made, which a message starts with ("evaluate" for Translator.evaluate, whose
    options these are too)."""
    if method not in METHODS:
        raise ValueError(f"{where}: method {method!r}; choose one of {', '.join(METHODS)}")
    unknown = sorted(set(options) - set(OPTIONS[method]))
    if unknown:
        raise ValueError(
            f"{where}: {', '.join(unknown)} is not an option of method={method!r}; "
            f"its options: {', '.join(OPTIONS[method])}"
        )
    check_given_options(method, seed, options, where, places)
    validate.integer(where, "batch_size", batch_size, 1)
    validate.integer(where, "nbest", nbest, None)
    if nbest < 1 or (nbest > 1 and method != "beam"):
        raise ValueError(
            f"{where}: nbest={nbest} with method={method!r}; nbest > 1 needs method='beam' "
            "(greedy decoding and sampling give one output per source), and nbest >= 1"
        )
    check_values(method, options, nbest, where)


def check_values(method: str, options: dict[str, Any], nbest: int, where: str) -> None:
    """The values of `method`'s options (OPTIONS), those not given taken at the decoding
    function's defaults, in range, checked by the decoding functions' own checks in the words of
    `where`, before any source is read: a refusal names the call the user made and its
    argument, not beam_search, sample or decode, which check them again for their own callers.
    The ranges that depend on the sources (check_steps) and the model (check_coverage) are
    translate's to check."""
    from minis2s.decode import beam_checks, common
    from minis2s.decode.sample import check_options as check_sampling  # decode.sample: the function

    given = defaults(method) | options
    common.check_max_len(given["max_len_a"], given["max_len_b"], where)
    if method == "beam":
        names = ("beam_size", "length_penalty", "alpha", "beta")
        beam_checks.check_options(nbest=nbest, where=where, **{k: given[k] for k in names})
    elif method == "sample":
        names = ("temperature", "top_k", "top_p")
        check_sampling(where=where, **{k: given[k] for k in names})


def check_for_model(model: Any, method: str, options: dict[str, Any], N: int, where: str) -> None:
    """beam search's options that `model` bounds, refused in the words of `where` before any
    source is read: a beam of N sentences (the largest batch) fits in memory, and beta (GNMT's
    coverage penalty) weighs attention, which the model needs (an ensemble: every member)."""
    from minis2s.decode import beam_checks

    if method != "beam":
        return
    given = defaults("beam") | options
    limits = beam_checks.shortest_limits(given["max_len_a"], given["max_len_b"])  # the narrowest
    beam_checks.check_fits(
        N, given["beam_size"], beam_checks.target_vocab(model), where, limits=limits
    )
    without = getattr(model, "without_attention", None)  # an Ensemble's members without it
    attends = not without() if without else model.cfg.attention != "none"
    beam_checks.check_coverage(options.get("beta", 0.0), attends, where)


def check_lengths(method: str, options: dict[str, Any], lengths: list[int], where: str) -> None:
    """The longest of the source `lengths` (tokens, or frames) decodes in at most MAX_STEPS
    steps with `method`'s max_len_a and max_len_b (`options`, else their defaults): refused in
    the words of `where` once the sources are read, before any is decoded."""
    from minis2s.decode import common

    given = defaults(method) | {k: v for k, v in options.items() if k in common.MAX_LEN_NAMES}
    a, b = (given[k] for k in common.MAX_LEN_NAMES)
    longest = max(range(len(lengths)), key=lengths.__getitem__, default=None)
    if longest is not None:
        common.check_steps(lengths[longest], a, b, where, index=longest)


def defaults(method: str) -> dict[str, Any]:
    """`method`'s options (OPTIONS) at the defaults of its decoding function."""
    import inspect

    from minis2s import decode

    f = {"greedy": decode.greedy, "beam": decode.beam_search, "sample": decode.sample}[method]
    return {k: inspect.signature(f).parameters[k].default for k in OPTIONS[method]}


def check_given_options(
    method: str, seed: Any, options: dict[str, Any], where: str = "translate", places: Any = None
) -> None:
    """Refuse an option given that the decoding would ignore (as the command line does), in the
    words of `where`, the call the user made."""
    if seed is not None and method != "sample":
        raise ValueError(
            f"{where}: seed seeds sampling, but method={method!r} draws nothing; leave seed "
            "out, or use method='sample'"
        )
    if places is not None and method != "sample":
        raise ValueError(
            f"{where}: places picks each source's sampling stream, but method={method!r} draws "
            "nothing; leave places out, or use method='sample'"
        )
    if seed is not None:
        validate.integer(where, "seed", seed, 0)
    if "alpha" in options and options.get("length_penalty", "none") != "gnmt":
        raise ValueError(
            f"{where}: alpha is the exponent of length_penalty='gnmt', which is not chosen; "
            "add length_penalty='gnmt', or leave alpha out"
        )


def check_replace_unk(
    cfg: ModelConfig,
    replace_unk: Any,
    phrase_table: Any = None,
    tokenizer: Tokenizer | None = None,
    who: str = "this model",
    where: str = "translate",
) -> None:
    """replace_unk is a bool, and True only for a model whose outputs can copy a source token:
    one with attention (its weights say which) that reads text (feature vectors have none);
    phrase_table, if given, is a mapping of strings to strings, and needs replace_unk; each of
    its sources is one token of `tokenizer` (the model's), or it would never match. `who` names
    the model without attention in the message (an ensemble's run), `where` the call the user
    made, which it starts with. The commands call it before they read a sentence, once their
    own checks named --replace-unk and --phrase-table (check_decode_options)."""
    validate.boolean(where, "replace_unk", replace_unk)
    if phrase_table is not None:
        if not isinstance(phrase_table, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in phrase_table.items()
        ):
            hint = ""
            if isinstance(phrase_table, str | os.PathLike):  # a file, as --phrase-table takes
                hint = (
                    "; read a file of source<TAB>target lines with "
                    f"minis2s.data.corpus.read_phrase_table({phrase_table!r})"
                )
            raise ValueError(
                f"{where}: phrase_table must map source tokens to what to write for them, "
                "strings to strings ({'gato': 'cat'})" + hint
            )
        if not replace_unk:
            raise ValueError(
                f"{where}: phrase_table is read by replace_unk only and would be ignored; add "
                "replace_unk=True, or leave it out"
            )
        if tokenizer is not None:
            _check_table_sources(phrase_table, tokenizer, where)
    if not replace_unk:
        return
    if cfg.attention == "none":
        raise ValueError(
            f"{where}: replace_unk writes each <unk> as the source token the output attends "
            f"to most, but {who} has no attention (attention='none'); leave it out"
        )
    if cfg.src_features > 0:
        raise ValueError(
            f"{where}: replace_unk copies source tokens, but this model reads feature "
            f"vectors (src_features = {cfg.src_features}), which have none; leave it out"
        )


def normalized_table(table: Mapping[str, str], tokenizer: Tokenizer) -> dict[str, str]:
    """The phrase table with its sources and translations in the tokenizer's normal form, as
    the source tokens it is looked up with (and the references an output is scored against)
    are; a table checked by `check_replace_unk`."""
    return {tokenizer.normalize(k): tokenizer.normalize(v) for k, v in table.items()}


class TableProblem(NamedTuple):
    """The first phrase-table source a tokenizer could never match: `source` read as more than
    one token (`same_as` None), or the same token as the earlier `same_as` in another Unicode
    form (NFC and NFD)."""

    source: str
    same_as: str | None


def first_table_problem(table: Mapping[str, str], tokenizer: Tokenizer) -> TableProblem | None:
    """The first source of the phrase table that is not a token as `tokenizer` splits text: one
    it reads as [source] (with bpe, a piece without whitespace: bpe splits a piece such as "ga@@"
    again), once it is in the tokenizer's normal form (`normalized_table`), and not the token of
    an earlier source in another form; None when every source is one."""
    word = TOKENIZERS["word"]._replace(form=tokenizer.form)
    split = word.tokenize if tokenizer.name == "bpe" else tokenizer.tokenize
    seen: dict[str, str] = {}  # normalised source -> as the table spells it
    for source in table:
        token = tokenizer.normalize(source)
        if token in seen:
            return TableProblem(source, seen[token])
        seen[token] = source
        if split(source) != [token]:
            return TableProblem(source, None)
    return None


def _check_table_sources(table: Mapping[str, str], tokenizer: Tokenizer, where: str) -> None:
    """ValueError naming `where` and the first problem `first_table_problem` finds."""
    problem = first_table_problem(table, tokenizer)
    if problem is None:
        return
    source, was = problem
    if was is not None:
        raise ValueError(
            f"{where}: phrase_table lists {was!r} and {source!r}, the same token in two "
            f"Unicode forms (code points {code_points(was)} and {code_points(source)}), which "
            f"the {tokenizer.name} tokenizer reads alike; keep one of them"
        )
    raise ValueError(
        f"{where}: phrase_table lists {source!r}, but the {tokenizer.name} tokenizer reads it "
        f"as {tokenizer.tokenize(source)!r}, so it would never match a source token; give each "
        "entry one token as the model reads it, or remove it"
    )


def code_points(text: str) -> str:
    """ "U+0063+U+0061+U+0066+U+00E9" for "café" in NFC: two forms of a token told apart."""
    return "+".join(f"U+{ord(c):04X}" for c in text)

"""Unknown-word replacement: write each `<unk>` of a decoded output as the source token that
its step attends to most, or as that token's entry in a phrase table.

Luong, Sutskever, Le, Vinyals and Zaremba (2015), "Addressing the Rare Word Problem in Neural
Machine Translation". It runs after decoding, on a hypothesis and its attention weights; the
model's scores are left as they were. `Translator.translate(..., replace_unk=True)` and
`minis2s translate|evaluate --replace-unk` call it. `check_table_file` refuses an entry of a
`--phrase-table FILE` that could never match, naming its FILE:LINE.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from minis2s.data.corpus import CorpusError
from minis2s.data.tokenize import Tokenizer
from minis2s.data.vocab import UNK_ID


def replace_unknown(
    ids: Sequence[int],
    tokens: list[str],
    attention: np.ndarray,
    src_tokens: list[str],
    table: Mapping[str, str] | None = None,
) -> list[str]:
    """`tokens` (an output's, decoded from `ids`) with each `<unk>` written as the source token
    that its step attends to most, or as that token's entry in `table` where it has one: row t
    of `attention` (len(ids) (+1), len(src_tokens)) is the step that produced token t.
    `table` is Luong et al.'s dictionary; a word without an entry is copied as it is, which
    suits names, numbers and words that read the same in both languages. A model learns to emit
    <unk> where its source has one when rare words are <unk> in training too (`--min-freq`; the
    README's Things to try 9)."""
    table = table or {}
    out = []
    for t, (i, token) in enumerate(zip(ids, tokens, strict=True)):
        if i == UNK_ID:
            source = src_tokens[int(np.argmax(attention[t]))]
            token = table.get(source, source)
        out.append(token)
    return out


def check_table_file(
    path: str | os.PathLike, table: Mapping[str, str], tokenizer: Tokenizer
) -> None:
    """The phrase table read from `path` (`read_phrase_table`: entry n is line n, a line each,
    duplicates refused) checked as `translate` checks a table (`first_table_problem`); a
    CorpusError naming the FILE:LINE of the first entry that fails, as the other errors of the
    file do."""
    from minis2s._decoding_checks import code_points, first_table_problem

    problem = first_table_problem(table, tokenizer)
    if problem is None:
        return
    source, was = problem
    line_of = {s: n for n, s in enumerate(table, 1)}
    if was is not None:
        raise CorpusError(
            path, line_of[source], f"{source!r} is the token of line {line_of[was]}, {was!r}, in "
            f"another Unicode form (code points {code_points(was)} and {code_points(source)}), "
            f"which the {tokenizer.name} tokenizer reads alike; keep one of the two lines"
        )  # fmt: skip
    raise CorpusError(
        path, line_of[source], f"{source!r} is read by the {tokenizer.name} tokenizer as "
        f"{tokenizer.tokenize(source)!r}, so it never matches a source token; give one token as "
        "the model reads it, or remove the line"
    )  # fmt: skip

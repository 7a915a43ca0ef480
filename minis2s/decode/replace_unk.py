"""Unknown-word replacement: write each `<unk>` of a decoded output as the source token that
its step attends to most, or as that token's entry in a phrase table.

Luong, Sutskever, Le, Vinyals and Zaremba (2015), "Addressing the Rare Word Problem in Neural
Machine Translation". It runs after decoding, on a hypothesis and its attention weights; the
model's scores are left as they were. `Translator.translate(..., replace_unk=True)` and
`minis2s translate|evaluate --replace-unk` call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

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

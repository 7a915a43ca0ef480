"""Pretrained word vectors in the text format, to start a model's embedding matrix from.

One word per line, then its D numbers, all separated by spaces; an optional first line
`N D` gives the number of words and their length:

    2 3
    the 0.418 0.24968 -0.41242
    cat 0.45281 -0.50108 -0.53714

GloVe's .txt files have no header; fastText's .vec files, word2vec's `-binary 0` output and
gensim's `KeyedVectors.save_word2vec_format(path, binary=False)` have one. A word may hold
spaces (GloVe 840B has ". . ." and "at name@domain.com"): the last D fields are the numbers,
what comes before them is the word. Words are read in Unicode NFC, as the tokenizers read text
(minis2s.data.tokenize), so a file that writes "é" as "e" + U+0301 (NFD) finds the token "é".

Such files run from 100 MB to 5 GB, so `read_vectors` streams them line by line (vector_lines.py
reads them, each checked as text) and, given `keep` (the vocabulary's words), turns into numbers
only the lines of those words. Every line is still checked for the right count of values, and
errors are `CorpusError`s naming file:line:

    glove.txt:17: 299 values, expected 300 (line 1 has 300); ...

`embedding_matrix` copies the vectors into a model's (V, E) embedding matrix and counts how
many vocabulary tokens were found; `write_vectors` writes a model's embeddings in this format,
each number exactly (`read_vectors` gives back the same float64 values).
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from contextlib import closing
from typing import NamedTuple

import numpy as np

from minis2s.atomic import atomic_text_file
from minis2s.backend import to_numpy
from minis2s.data.corpus_lines import CorpusError
from minis2s.data.tokenize import normalize
from minis2s.data.vector_lines import header_dim, read_lines
from minis2s.data.vocab import SPECIALS, Vocab


class Vectors(NamedTuple):
    """Word vectors read from a file: `table` maps a word to its float64 (D,) vector."""

    path: str  # the file read
    dim: int  # D, the length of every vector
    table: dict[str, np.ndarray]  # only the words asked for (all of them when keep is None)
    n_words: int  # how many vectors the file holds (its lines after the header)
    # (word, line) of each later line of a word asked for, with another vector than its first
    repeated: tuple[tuple[str, int], ...] = ()


class Coverage(NamedTuple):
    """How many vocabulary tokens `embedding_matrix` found a vector for."""

    exact: int  # found as written
    lowercase: int  # found only as token.lower() (GloVe's files are lowercase)
    total: int  # tokens looked up: all but the four specials


def _parse(path, n: int, word: str, fields: list[bytes]) -> np.ndarray:
    """The (D,) float64 vector that `fields` write on line n; CorpusError naming the first
    value that is not a finite number."""
    try:
        x = np.array(fields, dtype=np.float64)  # as float() reads each: "-0.5", "1e-3", ...
        if np.isfinite(x).all():
            return x
    except ValueError:
        pass
    for k, field in enumerate(fields, 1):
        try:
            problem = "" if math.isfinite(float(field)) else "is not finite"
        except ValueError:
            problem = "is not a number"
        if problem:
            message = f"value {k} of {word!r}, {field.decode()!r}, {problem}; every value must"
            raise CorpusError(path, n, message + " be a finite number, such as -0.0123 or 4.5e-05")
    return np.array([float(field) for field in fields])  # numpy refused what float() reads


def read_vectors(
    path: str | os.PathLike,
    keep: Collection[str] | None = None,
    dim: int | None = None,
    *,
    cli: bool = False,
) -> Vectors:
    """The word vectors in a text file (UTF-8, optional `N D` header; see the module doc).

    keep: the words whose vectors to return (e.g. `set(vocab.tokens)` plus each token's
        lowercase form, for `embedding_matrix`); None returns every word's. The other lines
        are checked for their count of values, but their numbers are not parsed. Words, of the
        file and of `keep`, are compared in NFC, and the table's keys are in NFC.
    dim: the length the vectors must have (a model's emb), checked on the first vector (against
        the header's D first, if there is one), before a file of gigabytes is read: ValueError
        if D differs, whose fix names ModelConfig's emb, or with `cli` (minis2s train reading
        --src-vectors) its --emb.
    A word listed twice (in NFC: "é" and "e" + U+0301 are one word) keeps its first vector
    (as gensim does); `repeated` names the later lines that give a kept word another one. The
    N of a header may be wrong (some tools write it so): `n_words` counts the lines read.

    Raises CorpusError naming file:line for a missing, empty or vector-less file, a gzip or zip
    file, word2vec's binary format (bytes that are not text after a header), bad UTF-8,
    a blank line before the last vector, a line with a different count of values than the
    header or the first line, a value that is not a finite number, or a header with D <= 0.
    """
    keep = None if keep is None else {normalize("NFC", word) for word in keep}
    D, source = None, ""  # source: where D came from, for the error messages
    table: dict[str, np.ndarray] = {}
    n_words, repeated = 0, []
    with closing(read_lines(path)) as lines:  # closes the file at once if a line is wrong
        for n, line in lines:
            if D is None:  # the first line: a header, or the first vector
                fields = line.split()
                is_header = (D := header_dim(fields)) is not None
                if is_header:
                    if D <= 0:
                        raise CorpusError(
                            path,
                            n,
                            f"the header `N D` says D={D}; D is the length "
                            "of every vector and must be positive",
                        )
                    source = f"the header says {D}"
                else:
                    D, source = len(fields) - 1, f"line {n} has {len(fields) - 1}"
                    if D == 0:
                        raise CorpusError(
                            path,
                            n,
                            f"no values after the word {fields[0].decode()!r}; "
                            "every line must be a word followed by its numbers",
                        )
                if is_header:
                    continue
            word, *values = line.rsplit(None, D)  # ASCII whitespace: a word may hold U+00A0
            if len(values) != D:
                raise CorpusError(
                    path,
                    n,
                    f"{len(values)} values, expected {D} ({source}); every "
                    f"line must be a word followed by {D} numbers",
                )
            word = normalize("NFC", word.decode("utf-8"))
            if n_words == 0:  # numbers first (a corpus given by mistake holds words), then D
                _parse(path, n, word, values)  # against dim, once a vector has checked a header
                if dim is not None and D != dim:
                    raise ValueError(_width_message(path, D, dim, cli))
            n_words += 1
            if (keep is None or word in keep) and word not in table:
                table[word] = _parse(path, n, word, values)
            elif word in table and not np.array_equal(_parse(path, n, word, values), table[word]):
                repeated.append((word, n))
    if n_words == 0:
        raise CorpusError(
            path, None, "no vectors in the file; expected lines of a word followed by its numbers"
        )
    return Vectors(os.fspath(path), D, table, n_words, tuple(repeated))


def _width_message(path, D: int, E: int, cli: bool = False) -> str:
    """The error for vectors of length D where embeddings of width E need them: its fix in
    ModelConfig's (and pipeline.train's model_options') words, or with `cli` in train's."""
    fix = f"train with --emb {D}" if cli else f"make the model with emb={D}"
    return (
        f"{os.fspath(path)} holds {D}-dimensional vectors, but the embeddings are {E} wide: {fix}"
    )


def embedding_matrix(vocab: Vocab, vectors: Vectors, W: np.ndarray) -> tuple[np.ndarray, Coverage]:
    """A float64 copy of the (V, E) embedding matrix W with each vocabulary token's row set to
    its pretrained vector: `table[token]`, else `table[token.lower()]`, else W's row as it is;
    each looked up in NFC, as `read_vectors` keeps the words (so a vocabulary saved before
    minis2s normalised text finds them too).

    The four specials keep W's rows (<pad>'s must stay as the model made it). W itself is not
    changed. ValueError if W's rows are not the vocabulary's tokens or its width is not D.
    """
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[0] != len(vocab):
        raise ValueError(
            f"embedding_matrix: W has shape {W.shape}, but the vocabulary has "
            f"{len(vocab)} tokens; expected one row per token"
        )
    D, E = vectors.dim, W.shape[1]
    if D != E:
        raise ValueError(_width_message(vectors.path, D, E))
    out = np.array(W, dtype=np.float64)  # a copy, even of a float64 W
    exact = lowercase = 0
    for i, token in enumerate(vocab.tokens[len(SPECIALS) :], len(SPECIALS)):
        token = normalize("NFC", token)
        if token in vectors.table:
            out[i], exact = vectors.table[token], exact + 1
        elif (lower := normalize("NFC", token.lower())) in vectors.table:
            out[i], lowercase = vectors.table[lower], lowercase + 1
    return out, Coverage(exact, lowercase, len(vocab) - len(SPECIALS))


def _line(word: str, x: np.ndarray) -> str:
    """`word v1 ... vD`, each value as repr writes it: the shortest text that reads back as
    the same float64."""
    return " ".join([word, *map(repr, x.tolist())]) + "\n"


def write_vectors(path: str | os.PathLike, vocab: Vocab, W: np.ndarray) -> int:
    """Write row i of the (V, E) matrix W (NumPy or CuPy) as the vector of
    `vocab.token_of(i)`, in the text format with an `N E` header; returns N, the number of
    vectors written.

    The four specials are left out, and so are tokens that hold whitespace (such as the " " of
    a character vocabulary), which this format cannot hold. Written atomically, as
    `Vocab.save` is (`atomic_text_file`): a crash never leaves a half-written file where a
    good one was.
    ValueError if W is not 2-D, has no columns or non-finite values, or V != len(vocab).
    """
    W = to_numpy(W)  # a model's parameter on the cupy backend too
    if W.ndim != 2 or W.shape[0] != len(vocab) or W.shape[1] == 0:
        raise ValueError(
            f"write_vectors: W has shape {W.shape}; expected (V, E) with V = "
            f"{len(vocab)}, the vocabulary's size, and E >= 1"
        )
    if not np.isfinite(W).all():
        i = int(np.flatnonzero(~np.isfinite(W).all(axis=1))[0])
        raise ValueError(
            f"write_vectors: row {i} ({vocab.token_of(i)!r}) of W is not finite; "
            "only finite vectors can be written and read back"
        )
    rows = [
        (i, token)
        for i, token in enumerate(vocab.tokens)
        if i >= len(SPECIALS) and token != "" and not any(c.isspace() for c in token)
    ]
    with atomic_text_file(path) as f:
        f.write(f"{len(rows)} {W.shape[1]}\n")
        for i, token in rows:
            f.write(_line(token, W[i]))
    return len(rows)

"""A new model's embeddings initialised from pretrained word vectors (GloVe, fastText .vec,
word2vec text files: `minis2s.data.vectors`).

Row i of `enc.emb.W` (or `dec.emb.W`) becomes the file's vector of vocabulary token i, found as
written or else lowercased; a token the file lacks, and the four specials, keep the rows the
model started with (random, and zero for <pad>). With `TrainConfig(freeze_embeddings=...)`
training then leaves them as they are. A model with share_embeddings has one matrix for both
sides, `dec.emb.W`, which either side's vectors initialise (the vocabulary is one too).
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from minis2s import _warn, backend
from minis2s.backend import to_numpy
from minis2s.config_error import ConfigError
from minis2s.data.vectors import Coverage, embedding_matrix, read_vectors
from minis2s.data.vocab import SPECIALS, Vocab
from minis2s.models.config import ModelConfig
from minis2s.models.params import embedding_of
from minis2s.models.seq2seq import Seq2Seq
from minis2s.wording import percent


def check_shared(cfg: ModelConfig, src_vectors: Any, tgt_vectors: Any) -> None:
    """ValueError for vectors of both sides (None: not given) for a model that shares one
    embedding matrix between them: the second file would overwrite the first's rows."""
    if cfg.share_embeddings and src_vectors is not None and tgt_vectors is not None:
        why = ("the source and target embeddings are one matrix (over one vocabulary), which one "
               "file initialises: give one of them")  # fmt: skip
        raise ConfigError(  # train's words; `minis2s train` names its options (option_words)
            "train", "tgt_vectors", tgt_vectors,
            f"src_vectors and tgt_vectors both given, but with share_embeddings {why}", "{body}",
            f"given with --src-vectors, but with --share-embeddings {why}",
        )  # fmt: skip


# load_vectors' fixes, in pipeline's keywords [False] or minis2s train's options [True]
_WORD_TOKENIZERS = ("load_data's tokenizer='word' or 'wordpunct'", "--tokenizer word or wordpunct")
_FLOAT64 = ("dtype='float64'", "--dtype float64")


class Loaded(NamedTuple):
    """What `load_vectors` did to one side: its file and how much of the vocabulary it held."""

    side: str
    path: str
    coverage: Coverage

    def __str__(self) -> str:
        c = self.coverage
        found = c.exact + c.lowercase
        line = (
            f"{self.side} embeddings: {found:,} of the {c.total:,} vocabulary tokens "
            f"({percent(found, c.total)}) from {self.path}"
        )
        if c.lowercase:
            line += f" ({c.lowercase:,} of them found lowercased)"
        if found < c.total:
            line += "; the others keep their random initialisation"
        return line


def load_vectors(
    model: Seq2Seq, side: str, vocab: Vocab, path: str | os.PathLike, *, cli: bool = False
) -> Loaded:
    """Overwrite `side`'s ("src" or "tgt") embedding rows of `model` in place with the vectors
    of `path` for the tokens of `vocab` (the model's vocabulary on that side). ValueError when
    the vectors' length is not the model's emb, when the file holds none of the tokens, or a
    value beyond the model's dtype; its fix in pipeline.train's keywords, or with `cli` (minis2s
    train's call) in its options."""
    name = embedding_of(model.cfg, side)
    if name not in model.params:  # a model that reads feature vectors has no enc.emb.W
        raise ValueError(
            f"{side}_vectors: this model reads source feature vectors "
            f"(src_features = {model.cfg.src_features}), so it has no source embeddings; leave "
            "them out"
        )
    keep = set(vocab.tokens) | {t.lower() for t in vocab.tokens}
    vectors = read_vectors(path, keep=keep, dim=model.cfg.emb, cli=cli)
    W, coverage = embedding_matrix(vocab, vectors, to_numpy(model.params[name]))
    if coverage.exact + coverage.lowercase == 0:  # surely not what was meant
        example = f" (such as {vocab.tokens[len(SPECIALS)]!r})" if coverage.total else ""
        raise ValueError(
            f"{vectors.path}: none of the {coverage.total:,} {side} vocabulary tokens{example} "
            f"is among its {vectors.n_words:,} words: vectors of another language, or tokens of "
            f"another tokenizer (word vectors suit {_WORD_TOKENIZERS[cli]})?"
        )
    P = model.params[name]
    huge = np.flatnonzero((np.abs(W) > np.finfo(P.dtype).max).any(axis=1))  # inf in P.dtype
    if huge.size:
        raise ValueError(
            f"{vectors.path}: the vector of {vocab.token_of(int(huge[0]))!r} holds a value beyond "
            f"{P.dtype.name}'s range (|x| <= {np.finfo(P.dtype).max:.4g}), which would train on "
            f"infinity: train with {_FLOAT64[cli]}, or fix the file"
        )
    if vectors.repeated:  # two files joined (English and Spanish both hold "no"), say
        k, (word, n) = len(vectors.repeated), vectors.repeated[0]
        _warn.warn(
            f"{vectors.path}: {k} vocabulary word{' is' if k == 1 else 's are'} listed again "
            f"with another vector (such as {word!r} on line {n}); the first vector of each is "
            "used: delete the lines you do not mean"
        )
    P[...] = backend.current().asarray(W, dtype=P.dtype)
    return Loaded(side, vectors.path, coverage)

"""Data for seq2seq training: read or generate (source, target) pairs, build vocabularies,
encode, and cut the examples into padded, bucketed batches.

    >>> from minis2s import data
    >>> splits = data.get_task("reverse-digits").generate(seed=0)
    >>> tok = data.get_tokenizer("char")
    >>> vocab = data.Vocab.build(tok.tokenize(s) + tok.tokenize(t) for s, t in splits["train"])
    >>> train, n_unk = data.encode_pairs(splits["train"], vocab, vocab, tok)
    >>> bs = data.batches(train, batch_size=64, rng=0)
    >>> bs[0].src.shape[0], n_unk
    (64, 0)
"""

from minis2s.data.batching import Batch, batches, encode_pairs, make_batch, pad, pad_features
from minis2s.data.bpe import bpe_tokenizer, learn_tokenizer
from minis2s.data.corpus import (
    CorpusError,
    Pairs,
    read_corpus,
    read_parallel,
    read_tsv,
    write_tsv,
)
from minis2s.data.tasks import TASKS, Task, get_task
from minis2s.data.tokenize import TOKENIZERS, Tokenizer, get_tokenizer
from minis2s.data.vectors import read_vectors, write_vectors
from minis2s.data.vocab import BOS, BOS_ID, EOS, EOS_ID, PAD, PAD_ID, UNK, UNK_ID, Vocab

__all__ = [
    "Batch", "batches", "encode_pairs", "make_batch", "pad", "pad_features",
    "CorpusError", "Pairs", "read_corpus", "read_parallel", "read_tsv", "write_tsv",
    "TASKS", "Task", "get_task",
    "TOKENIZERS", "Tokenizer", "get_tokenizer", "bpe_tokenizer", "learn_tokenizer",
    "BOS", "BOS_ID", "EOS", "EOS_ID", "PAD", "PAD_ID", "UNK", "UNK_ID", "Vocab",
    "read_vectors", "write_vectors",
]  # fmt: skip

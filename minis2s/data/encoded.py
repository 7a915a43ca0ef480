"""A corpus's training and dev examples as load_data encodes them, from the token ids it read
(each text tokenized once), and `encoded_pairs`, which pipeline.train takes them from: load_data's
where the pairs, vocabularies and tokenizer are still the ones it encoded with, else encoded
afresh (encode_pairs), so that a user who edits `Data` in between trains on what they edited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from minis2s.data import token_ids
from minis2s.data.batching import encode_pairs
from minis2s.data.vocab import Vocab

if TYPE_CHECKING:
    from minis2s.data.corpus_splits import CorpusIds
    from minis2s.data.loading import Data


class Encoded(NamedTuple):
    """A corpus's train and dev examples as encode_pairs makes them, with its counts of unknown
    tokens, made by load_data from the tokens it read (each text tokenized once); `of`: the
    (train pairs, dev pairs, src_vocab, tgt_vocab, tokenizer) they encode (encoded_pairs checks
    them), the pairs as tuples: Data's lists are the user's, to change in place."""

    train: tuple[list, int]
    dev: tuple[list, int]
    of: tuple


def encode_corpus(
    ids: CorpusIds, train: list, dev: list, src_vocab: Vocab, tgt_vocab: Vocab, tokenizer: Any
) -> Encoded:
    """The examples of a corpus's train and dev `ids` (load_data's) with their unknown counts,
    recorded with the (train, dev, vocabularies, tokenizer) they encode."""
    return Encoded(token_ids.encode(ids.train, ids.tokens, src_vocab, tgt_vocab),
                   token_ids.encode(ids.dev, ids.tokens, src_vocab, tgt_vocab),
                   (tuple(train), tuple(dev), src_vocab, tgt_vocab, tokenizer))  # fmt: skip


def encoded_pairs(data: Data, split: str) -> tuple[list, int]:
    """(the examples of data.train or data.dev (`split`), how many unknown tokens they hold):
    load_data's, where it encoded pairs equal to these with vocabularies and a tokenizer equal to
    data's, else encode_pairs's."""
    pairs = getattr(data, split)
    enc = data.encoded
    train, dev, src_vocab, tgt_vocab, tok = enc.of if enc is not None else (None,) * 5
    # pairs compared, not the list's identity: a list filtered or edited in place is the same
    # list (the pairs themselves are the same objects, so this takes about 40 ms at 1M pairs);
    # equal vocabularies and tokenizers encode alike: a fine-tuning's, reloaded, are equal
    if (enc is not None and tuple(pairs) == (train if split == "train" else dev)
            and src_vocab == data.src_vocab and tgt_vocab == data.tgt_vocab
            and tok == data.tokenizer):  # fmt: skip
        return getattr(enc, split)
    return encode_pairs(pairs, data.src_vocab, data.tgt_vocab, data.tokenizer)

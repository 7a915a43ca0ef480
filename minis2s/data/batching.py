"""Turn encoded examples into padded batches: pad + mask, decoder inputs/targets, bucketing.

An example is `(src, tgt)`: `src` a list of token ids (S,) or a float array of frames (S, F),
`tgt` a list of target token ids (T',) without BOS/EOS. A batch holds the teacher-forcing pair

    tgt_in  = [BOS] + y        what the decoder reads at each step
    tgt_out = y + [EOS]        what it must predict there

so T = T' + 1, and every row is right-padded with PAD_ID under a 0/1 mask.

Bucketing ("delayed batching"): `batches` sorts the examples by source length (then target
length), cuts the sorted list into batches, and shuffles the order of the batches. Examples of
similar length share a batch, so little compute goes to padding, while the order the model sees
batches in is still random. `Batch.index` keeps each row's position in the dataset, so outputs
can be put back in the original order. `lazy_batches` cuts the same batches and makes each when
it is read, so that an epoch of a large corpus is not all in memory at once: Trainer.epoch_batches
and scoring.py read it; `batches` is its reference (tests/test_scale_batches.py: the two equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from minis2s import validate
from minis2s.data.tokenize import Tokenizer, get_tokenizer
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab

Example = tuple[Any, list[int]]  # (source ids (S,) or features (S, F), target ids (T',))


def pad(seqs: Sequence[Sequence[int]], pad_id: int = PAD_ID) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad integer sequences to the longest one.

    Returns ids (N, L) int64 (padding = pad_id) and mask (N, L) float32 (1 = real token),
    L = max length (0 when every sequence is empty).
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    L = int(lengths.max()) if len(seqs) else 0
    ids = np.full((len(seqs), L), pad_id, dtype=np.int64)
    for n, s in enumerate(seqs):
        row = np.asarray(s)
        if row.size and row.dtype.kind not in "iu":  # int64 would cut 4.5 to 4, silently
            raise ValueError(
                f"pad: seqs[{n}] holds {row.dtype} values, not integer token ids; encode tokens "
                "with Vocab.encode"
            )
        ids[n, : len(s)] = row
    mask = (np.arange(L)[None, :] < lengths[:, None]).astype(np.float32)
    return ids, mask


def check_frames(where: str, name: str, frames: np.ndarray) -> None:
    """ValueError unless every value of a source's feature frames (S, F) is finite once in
    float32 (a NaN frame encodes to NaN states, which decode to an empty line)."""
    with np.errstate(over="ignore"):  # a value beyond float32 is reported below, as inf
        bad = ~np.isfinite(np.asarray(frames, dtype=np.float32))
    if bad.any():
        t = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{where}: {name} holds NaN or infinity at frame {t} (float32 reaches 3.4e38): "
            "clean or rescale the features"
        )


def pad_features(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad feature sequences (S_n, F) with zeros: x (N, S, F) float32, mask (N, S)."""
    F = {f.shape[1] for f in frames}
    if len(F) != 1:
        raise ValueError(f"pad_features: every source needs the same feature size; got {F}")
    lengths = np.array([len(f) for f in frames], dtype=np.int64)
    x = np.zeros((len(frames), int(lengths.max()), F.pop()), dtype=np.float32)
    for n, f in enumerate(frames):
        x[n, : len(f)] = f
    mask = (np.arange(x.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
    return x, mask


class Batch(NamedTuple):
    src: Any  # (N, S) int64 token ids, or (N, S, F) float32 features
    src_mask: Any  # (N, S) float32, 1 = real token
    tgt_in: Any  # (N, T) int64 = [BOS] + y, padded with PAD_ID
    tgt_out: Any  # (N, T) int64 = y + [EOS], padded with PAD_ID
    tgt_mask: Any  # (N, T) float32, 1 on the len(y) + 1 real steps
    index: Any  # (N,) int64 position of each row's example in the dataset

    @property
    def n_tokens(self) -> int:
        """Target tokens the loss counts (EOS included, padding not)."""
        return int(self.tgt_mask.sum())


def _is_features(src: Any) -> bool:
    return isinstance(src, np.ndarray) and src.ndim == 2 and src.dtype.kind == "f"


def make_batch(examples: Sequence[Example], index: Sequence[int]) -> Batch:
    """One Batch from examples[i] = (src, tgt); index[i] is that example's dataset position.

    Shapes: src (N, S) int64 or (N, S, F) float32, masks (N, S) / (N, T) float32, T = 1 + the
    longest target. A source may not be empty (an encoder needs at least one step).
    """
    if len(examples) == 0 or len(examples) != len(index):
        raise ValueError(
            f"make_batch: need N >= 1 examples and N positions; got {len(examples)} examples "
            f"and {len(index)} positions"
        )
    srcs, tgts = [e[0] for e in examples], [list(e[1]) for e in examples]
    for src, i in zip(srcs, index, strict=True):
        if len(src) == 0:
            raise ValueError(f"make_batch: the example at dataset position {i} has an empty source")
    kinds = {_is_features(s) for s in srcs}
    if len(kinds) != 1:
        raise ValueError("make_batch: sources mix token ids and feature arrays (S, F)")
    src, src_mask = pad_features(srcs) if kinds.pop() else pad(srcs)
    tgt_in, tgt_mask = pad([[BOS_ID] + y for y in tgts])
    tgt_out, _ = pad([y + [EOS_ID] for y in tgts])
    return Batch(src, src_mask, tgt_in, tgt_out, tgt_mask, np.asarray(index, dtype=np.int64))


def _cut_by_size(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def _cut_by_tokens(order: list[int], S: list[int], T: list[int], budget: int) -> list[list[int]]:
    """Greedy: grow a batch while its padded size max(S, T) * N stays within `budget`."""
    groups: list[list[int]] = []
    cur: list[int] = []
    s_max = t_max = 0
    for i in order:
        if max(S[i], T[i]) > budget:
            raise ValueError(
                f"batches: example {i} alone needs max(S, T) = {max(S[i], T[i])} padded tokens, "
                f"more than tokens_per_batch={budget}; raise it or filter long examples"
            )
        s, t = max(s_max, S[i]), max(t_max, T[i])
        if cur and max(s, t) * (len(cur) + 1) > budget:
            groups.append(cur)
            cur, s, t = [], S[i], T[i]
        cur.append(i)
        s_max, t_max = s, t
    return groups + [cur] if cur else groups


def batches(
    examples: Sequence[Example],
    batch_size: int | None = None,
    tokens_per_batch: int | None = None,
    rng: np.random.Generator | int | None = None,
    bucket: bool = True,
) -> list[Batch]:
    """Cut a dataset into batches; every example lands in exactly one batch.

    Give exactly one of `batch_size` (sentences per batch; the last batch may be smaller) or
    `tokens_per_batch` (most padded tokens per batch, max(S, T) * N, T = 1 + target length).
    `bucket=True`: sort by (source length, target length), stably, cut, then shuffle the order
    of the batches with `rng`. `bucket=False`: shuffle the examples with `rng`, then cut.
    `rng` is a Generator or a seed; None keeps the order (for evaluation). The same seed
    gives the same batches.
    """
    plan = batch_indices(examples, batch_size, tokens_per_batch, rng, bucket)
    return [make_batch([examples[i] for i in g], g) for g in plan]


class LazyBatches(Sequence):
    """`batches` made one at a time, when an item is read (a slice is another LazyBatches, made
    of the same examples): the padded batches of a large corpus are as large as its examples,
    so a trainer holds only those of its current update."""

    def __init__(self, examples: Sequence[Example], plan: list[list[int]]) -> None:
        # plan[k]: the dataset positions of batch k (batch_indices), all the memory it keeps
        self.examples, self.plan = examples, plan

    def __len__(self) -> int:
        return len(self.plan)  # counted without making a batch (--resume, --eval-every)

    def __getitem__(self, k: int | slice) -> Any:
        """Batch k, made now by make_batch and not kept (read it again, it is made again)."""
        if isinstance(k, slice):
            return LazyBatches(self.examples, self.plan[k])
        g = self.plan[k]
        return make_batch([self.examples[i] for i in g], g)


def lazy_batches(
    examples: Sequence[Example],
    batch_size: int | None = None,
    tokens_per_batch: int | None = None,
    rng: np.random.Generator | int | None = None,
    bucket: bool = True,
) -> LazyBatches:
    """`batches(...)`, each batch made when it is read (LazyBatches): the same batches in the same
    order for the same arguments, `rng` drawn from as `batches` draws (both cut with
    batch_indices); a bad batch size is refused here, a bad example (make_batch's errors) only
    when its batch is read."""
    return LazyBatches(examples, batch_indices(examples, batch_size, tokens_per_batch, rng, bucket))


def batch_indices(
    examples: Sequence[Example],
    batch_size: int | None = None,
    tokens_per_batch: int | None = None,
    rng: np.random.Generator | int | None = None,
    bucket: bool = True,
) -> list[list[int]]:
    """The dataset positions of each batch that `batches` makes (its options), in its order."""
    if (batch_size is None) == (tokens_per_batch is None):
        raise ValueError(
            "batches: pass exactly one of batch_size or tokens_per_batch; got "
            f"batch_size={batch_size}, tokens_per_batch={tokens_per_batch}"
        )
    size = batch_size if batch_size is not None else tokens_per_batch
    name = "batch_size" if batch_size is not None else "tokens_per_batch"
    validate.integer("batches", name, size, None)
    if size < 1:
        raise ValueError(f"batches: the batch size must be >= 1; got {size}")
    if isinstance(rng, (int, np.integer)):
        rng = np.random.default_rng(rng)
    S = [len(src) for src, _ in examples]  # len of an (S, F) array is S too
    T = [len(tgt) + 1 for _, tgt in examples]
    if bucket:
        order = sorted(range(len(examples)), key=lambda i: (S[i], T[i]))  # sorted() is stable
    else:
        order = list(range(len(examples))) if rng is None else rng.permutation(len(S)).tolist()
    if batch_size is not None:
        groups = _cut_by_size(order, batch_size)
    else:
        groups = _cut_by_tokens(order, S, T, tokens_per_batch)
    if bucket and rng is not None:
        groups = [groups[k] for k in rng.permutation(len(groups))]
    return groups


def encode_pairs(
    pairs: Sequence[tuple[Any, str]],
    src_vocab: Vocab | None,
    tgt_vocab: Vocab,
    tokenizer: str | Tokenizer,
) -> tuple[list[Example], int]:
    """Tokenize and encode (source, target) text pairs into examples for `batches`.

    A source that is already a feature array (S, F) passes through (src_vocab may then be
    None). Returns the examples and the number of unknown tokens (source + target) that became
    UNK_ID, so a caller can warn about them.
    """
    tok = get_tokenizer(tokenizer)
    examples: list[Example] = []
    n_unknown = 0
    for i, (src, tgt) in enumerate(pairs):
        if _is_features(src):
            check_frames("encode_pairs", f"the source of pair {i}", src)
        else:
            if src_vocab is None:
                raise ValueError("encode_pairs: text sources need a src_vocab; got None")
            src = src_vocab.encode(tok.tokenize(src))
            n_unknown += src.count(UNK_ID)  # what count_unknown counts, without a second pass
        tgt_ids = tgt_vocab.encode(tok.tokenize(tgt))
        n_unknown += tgt_ids.count(UNK_ID)
        examples.append((src, tgt_ids))
    return examples, n_unknown

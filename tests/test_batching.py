"""Batching: pad/mask round trip, teacher-forcing targets, every example exactly once, budgets."""

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.data.batching import batches, encode_pairs, make_batch, pad, pad_features
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocab

ids = st.lists(st.integers(4, 30), max_size=6)
examples_st = st.lists(st.tuples(ids.filter(len), ids), min_size=1, max_size=40)
sizes = st.one_of(st.tuples(st.integers(1, 8), st.none()), st.tuples(st.none(), st.integers(7, 40)))


def check_rows(batch, examples):
    """Each row of `batch` holds exactly examples[index], padded and masked."""
    for n, i in enumerate(batch.index):
        src, y = examples[i]
        S, T = len(src), len(y) + 1
        np.testing.assert_array_equal(batch.src[n, :S], src)
        assert (batch.src[n, S:] == PAD_ID).all()
        np.testing.assert_array_equal(batch.src_mask[n], np.arange(batch.src.shape[1]) < S)
        np.testing.assert_array_equal(batch.tgt_in[n, :T], [BOS_ID] + list(y))
        np.testing.assert_array_equal(batch.tgt_out[n, :T], list(y) + [EOS_ID])
        assert (batch.tgt_in[n, T:] == PAD_ID).all() and (batch.tgt_out[n, T:] == PAD_ID).all()
        np.testing.assert_array_equal(batch.tgt_mask[n], np.arange(batch.tgt_in.shape[1]) < T)


@given(st.lists(ids, max_size=6), st.integers(0, 3))
def test_pad_round_trip(seqs, pad_id):
    x, m = pad(seqs, pad_id=pad_id)
    assert x.dtype == np.int64 and m.dtype == np.float32
    assert x.shape == m.shape == (len(seqs), max(map(len, seqs), default=0))
    for n, s in enumerate(seqs):
        assert x[n][m[n] == 1].tolist() == s  # the mask picks out exactly the sequence
        assert (x[n][m[n] == 0] == pad_id).all()
        assert m[n].sum() == len(s) and (m[n, : len(s)] == 1).all()


@pytest.mark.parametrize(
    "seqs, what",
    [([[4, 5], [4.5]], "seqs\\[1\\] holds float64"), ([[4], ["a", "b"]], "seqs\\[1\\] holds <U1"),
     ([np.array([4.0, 5.0])], "seqs\\[0\\] holds float64"), ([[True]], "seqs\\[0\\] holds bool")],
)  # fmt: skip
def test_pad_refuses_ids_that_are_not_integers(seqs, what):
    """A float id was cut to an integer (4.5 to 4) without a word, and a token string failed
    inside NumPy's int conversion."""
    with pytest.raises(ValueError, match=f"pad: {what} values, not integer token ids; encode"):
        pad(seqs)
    with pytest.raises(ValueError, match="not integer token ids"):
        make_batch([(s, [4]) for s in seqs], index=range(len(seqs)))


def test_pad_takes_integer_arrays_of_any_width_and_empty_rows():
    x, m = pad([np.array([4, 5], dtype=np.int32), np.array([], dtype=np.float64), [np.uint8(6)]])
    np.testing.assert_array_equal(x, [[4, 5], [0, 0], [6, 0]])
    np.testing.assert_array_equal(m, [[1, 1], [0, 0], [1, 0]])


def test_pad_features():
    r = np.random.default_rng(0)
    frames = [r.standard_normal((3, 2)), r.standard_normal((1, 2))]
    x, m = pad_features(frames)
    assert x.dtype == np.float32 and x.shape == (2, 3, 2)
    np.testing.assert_array_equal(x[1, 1:], 0)
    np.testing.assert_array_equal(m, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_allclose(x[0], frames[0], rtol=1e-6)
    with pytest.raises(ValueError, match="same feature size"):
        pad_features([np.zeros((2, 3)), np.zeros((2, 4))])


def test_make_batch_teacher_forcing():
    b = make_batch([([5, 6, 7], [8, 9]), ([5], [])], index=[10, 3])
    np.testing.assert_array_equal(b.src, [[5, 6, 7], [5, 0, 0]])
    np.testing.assert_array_equal(b.tgt_in, [[BOS_ID, 8, 9], [BOS_ID, 0, 0]])
    np.testing.assert_array_equal(b.tgt_out, [[8, 9, EOS_ID], [EOS_ID, 0, 0]])
    np.testing.assert_array_equal(b.tgt_mask, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(b.index, [10, 3])
    assert b.n_tokens == 4 and b.index.dtype == np.int64


def test_make_batch_features():
    x = np.ones((2, 10), dtype=np.float32)
    b = make_batch([(x, [4]), (x[:1], [5, 6])], index=[0, 1])
    assert b.src.shape == (2, 2, 10) and b.src.dtype == np.float32
    np.testing.assert_array_equal(b.src_mask, [[1, 1], [1, 0]])
    np.testing.assert_array_equal(b.src[1, 1], 0)


def test_make_batch_errors():
    with pytest.raises(ValueError, match="dataset position 7 has an empty source"):
        make_batch([([4], [4]), ([], [4])], index=[6, 7])
    with pytest.raises(ValueError, match="got 1 examples and 2 positions"):
        make_batch([([4], [4])], index=[0, 1])
    with pytest.raises(ValueError, match="mix token ids and feature arrays"):
        make_batch([([4], [4]), (np.zeros((2, 3)), [4])], index=[0, 1])


@given(examples_st, sizes, st.booleans(), st.one_of(st.none(), st.integers(0, 99)))
def test_every_example_exactly_once(examples, size, bucket, seed):
    batch_size, tokens = size
    bs = batches(examples, batch_size, tokens, rng=seed, bucket=bucket)
    index = np.concatenate([b.index for b in bs])
    assert sorted(index.tolist()) == list(range(len(examples)))
    for b in bs:
        check_rows(b, examples)
        if batch_size is not None:
            assert len(b.index) <= batch_size
        else:
            assert max(b.src.shape[1], b.tgt_in.shape[1]) * len(b.index) <= tokens
    if batch_size is not None:  # all full but possibly one
        assert sum(len(b.index) < batch_size for b in bs) <= 1


@given(examples_st, st.integers(7, 40))
def test_token_batches_are_greedy(examples, tokens):
    """Without shuffling, adding the next batch's first example would break the budget."""
    bs = batches(examples, tokens_per_batch=tokens)
    assert all(max(b.src.shape[1], b.tgt_in.shape[1]) * len(b.index) <= tokens for b in bs)
    for b, nxt in pairwise(bs):
        src, y = examples[nxt.index[0]]
        S, T = max(b.src.shape[1], len(src)), max(b.tgt_in.shape[1], len(y) + 1)
        assert max(S, T) * (len(b.index) + 1) > tokens


@given(examples_st, st.integers(1, 8))
def test_bucketing_sorts_by_source_then_target_length(examples, batch_size):
    bs = batches(examples, batch_size=batch_size)  # rng=None keeps the sorted order
    index = np.concatenate([b.index for b in bs]).tolist()
    key = [(len(s), len(t)) for s, t in examples]
    assert [key[i] for i in index] == sorted(key)
    for a, b in pairwise(index):
        assert key[a] < key[b] or a < b  # stable: ties keep dataset order


def test_token_budget_by_hand():
    # S = 3 and T = 1 + 2 = 3 everywhere: 3 rows cost 9 <= 10 padded tokens, 4 rows cost 12.
    examples = [([4, 4, 4], [5, 5])] * 7
    assert [len(b.index) for b in batches(examples, tokens_per_batch=10)] == [3, 3, 1]
    # One long target raises T for its batch: (S, T) = (1, 5) costs 5 per row.
    examples = [([4], [5])] * 4 + [([4], [5, 5, 5, 5])]
    assert [len(b.index) for b in batches(examples, tokens_per_batch=8)] == [4, 1]
    # A new batch starts from its own first example's lengths: after the (1, 6) example, rows of
    # (S, T) = (2, 2) cost 2 each, so four fit in 8 (not 6 each, the last batch's T).
    examples = [([4], [5] * 5)] + [([4, 4], [5])] * 4
    assert [len(b.index) for b in batches(examples, tokens_per_batch=8)] == [1, 4]


def test_no_bucket_no_rng_keeps_dataset_order():
    examples = [([4] * (1 + i % 5), [5] * (i % 3)) for i in range(23)]
    bs = batches(examples, batch_size=5, bucket=False)
    assert np.concatenate([b.index for b in bs]).tolist() == list(range(23))


@pytest.mark.parametrize("bucket", [True, False])
def test_shuffle_is_deterministic_per_seed(bucket):
    examples = [([4] * (1 + i % 7), [5] * (i % 4)) for i in range(200)]

    def order(seed):
        bs = batches(examples, batch_size=8, rng=np.random.default_rng(seed), bucket=bucket)
        return [b.index.tolist() for b in bs]

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert batches(examples, batch_size=8, rng=3, bucket=bucket)[0].index.tolist() == order(3)[0]
    if bucket:  # batches are shuffled but each still holds similar lengths
        for b in order(3):
            assert len({len(examples[i][0]) for i in b}) <= 2


def test_argument_errors():
    ex = [([4, 5], [6])]
    with pytest.raises(ValueError, match="exactly one of batch_size or tokens_per_batch"):
        batches(ex)
    with pytest.raises(ValueError, match="exactly one of batch_size or tokens_per_batch"):
        batches(ex, batch_size=2, tokens_per_batch=10)
    with pytest.raises(ValueError, match="must be >= 1; got 0"):
        batches(ex, batch_size=0)
    with pytest.raises(ValueError, match=r"example 0 alone needs max\(S, T\) = 2 .*=1"):
        batches(ex, tokens_per_batch=1)
    assert batches([], batch_size=3) == []


def test_encode_pairs_counts_unknown_tokens():
    tok = get_tokenizer("char")
    src_v, tgt_v = Vocab(["a", "b"]), Vocab(["x"])
    examples, n_unk = encode_pairs([("ab", "x"), ("az", "xyy")], src_v, tgt_v, "char")
    assert n_unk == 3
    assert examples == [([4, 5], [4]), ([4, UNK_ID], [4, UNK_ID, UNK_ID])]
    assert encode_pairs([("ab", "x")], src_v, tgt_v, tok)[1] == 0
    frames = np.zeros((3, 10), dtype=np.float32)
    (ex,), n = encode_pairs([(frames, "x")], None, tgt_v, tok)
    assert ex[0] is frames and ex[1] == [4] and n == 0
    with pytest.raises(ValueError, match="need a src_vocab"):
        encode_pairs([("ab", "x")], None, tgt_v, tok)


@pytest.mark.parametrize("kw", [dict(batch_size=2.0), dict(batch_size=True),
                                dict(tokens_per_batch=9.5)])  # fmt: skip
def test_batch_sizes_must_be_integers(kw):
    with pytest.raises(ValueError, match="batches: (batch_size|tokens_per_batch) must be an int"):
        batches([([4, 5], [6])] * 5, **kw)

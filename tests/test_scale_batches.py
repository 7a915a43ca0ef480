"""An epoch's batches made one at a time, as training and scoring reach them: a million pairs'
padded batches are about a gigabyte, and were all made (and held) at every epoch's start, again
to count them on --resume. `lazy_batches` must be `batches` exactly (the reference), made late."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data import batching
from minis2s.data.batching import batches, encode_pairs, lazy_batches
from minis2s.data.tasks import get_task
from minis2s.data.tokenize import get_tokenizer
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.train.config import TrainConfig
from minis2s.train.trainer import Trainer

example = st.tuples(st.lists(st.integers(4, 9), min_size=1, max_size=7),
                    st.lists(st.integers(4, 9), max_size=7))  # fmt: skip


def same(a, b):
    assert type(a) is type(b)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y) and x.dtype == y.dtype


@settings(max_examples=30, deadline=None)
@given(
    st.lists(example, min_size=1, max_size=20),
    st.sampled_from([{"batch_size": 3}, {"batch_size": 64}, {"tokens_per_batch": 12}]),
    st.none() | st.integers(0, 5),
    st.booleans(),
)
def test_lazy_batches_are_the_batches(examples, size, seed, bucket):
    reference = batches(examples, **size, rng=seed, bucket=bucket)
    lazy = lazy_batches(examples, **size, rng=seed, bucket=bucket)
    assert len(lazy) == len(reference)
    for a, b in zip(lazy, reference, strict=True):
        same(a, b)
    k = len(reference) // 2
    for a, b in zip(lazy[k:], reference[k:], strict=True):  # a resumed epoch's rest
        same(a, b)
    same(lazy[-1], reference[-1])


def test_lazy_batches_refuse_what_batches_refuses():
    with pytest.raises(ValueError, match="exactly one of batch_size or tokens_per_batch"):
        lazy_batches([([4], [5])])
    with pytest.raises(IndexError):
        lazy_batches([([4], [5])], batch_size=2)[1]


@pytest.fixture
def made(monkeypatch):
    """The index of every batch made, in order (make_batch's calls)."""
    calls = []
    real = batching.make_batch

    def counting(examples, index):
        calls.append(list(index))
        return real(examples, index)

    monkeypatch.setattr(batching, "make_batch", counting)
    return calls


def _data():
    tok = get_tokenizer("char")
    pairs = get_task("reverse-digits").generate(seed=0)["train"][:40]
    src = Vocab.build(tok.tokenize(s) for s, _ in pairs)
    tgt = Vocab.build(tok.tokenize(t) for _, t in pairs)
    return pairs, src, tgt


def _trainer(tmp_path, **options):
    pairs, src, tgt = _data()
    examples, _ = encode_pairs(pairs, src, tgt, "char")
    cfg = ModelConfig(src_vocab=len(src), tgt_vocab=len(tgt), emb=4, hidden=4)
    tcfg = TrainConfig(**({"epochs": 1, "batch_size": 8, "metric": "loss"} | options))
    return Trainer(Seq2Seq(cfg, seed=0), tcfg, examples, lambda m: {"loss": 1.0}, tmp_path,
                   meta={}, progress=False)  # fmt: skip


@pytest.mark.parametrize("accum_steps", [1, 2])
def test_an_epoch_makes_each_batch_once_when_it_trains_on_it(tmp_path, made, accum_steps):
    trainer = _trainer(tmp_path, accum_steps=accum_steps)
    n = len(trainer.epoch_batches(0))
    assert made == []  # counting the batches makes none
    steps = []
    real_step = trainer.step
    trainer.step = lambda *group: (steps.append(len(made)), real_step(*group))[1]
    trainer.fit()
    assert sorted(map(tuple, made)) == sorted(tuple(i) for i in _indices(trainer))
    assert len(made) == n
    # made as the updates reach them: before update u, only its own group's batches
    assert steps == [min(n, accum_steps * (u + 1)) for u in range(len(steps))]


def _indices(trainer):
    return batching.batch_indices(trainer.train, batch_size=8, rng=0)  # makes no batch


def test_finished_on_resume_counts_the_batches_without_making_them(tmp_path, made):
    trainer = _trainer(tmp_path)
    trainer.state["batch"] = 2  # a run stopped mid-epoch
    assert trainer.finished() is None
    assert made == []


def test_scoring_makes_each_batch_before_scoring_it_not_all_first(monkeypatch, made, tmp_path):
    from minis2s import scoring
    from minis2s.api import Translator

    model = _trainer(tmp_path).model
    pairs, src, tgt = _data()
    pairs = pairs[:20]
    events = []
    real = model.token_logprobs
    monkeypatch.setattr(model, "token_logprobs", lambda b: (events.append(len(made)), real(b))[1])
    tr = Translator(model, src, tgt, "char")
    scores = scoring.score(tr, pairs, batch_size=4)
    assert len(scores) == 20 and events == [1, 2, 3, 4, 5]

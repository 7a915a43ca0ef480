"""The whole model against finite differences with the smallest vocabularies it takes.

test_model.py's drawn checks keep src_vocab = tgt_vocab = 7. Here the target vocabulary goes
down to 3 (<pad>, <s>, </s>: a decoder that can only stop) and the source one to 4, so the
output layer and the loss run with V = 3, and scheduled sampling feeds back from 1 or 2
choosable tokens; tied embeddings too where emb == hidden.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s.data.batching import make_batch
from minis2s.data.vocab import EOS_ID, SPECIALS
from minis2s.gradcheck import assert_close, check_model
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import ATTENTIONS, CELLS

FIRST_WORD = len(SPECIALS)  # ids below are <pad>, <s>, </s>, <unk>


@st.composite
def small_vocab_case(draw):
    """(ModelConfig, check_model options, examples): vocabularies of 3-5 target and 4-5 source
    ids, emb and hidden 1 or 2, 1-3 sentences (so N = 1 and padded rows are both drawn)."""
    tgt_vocab, src_vocab = draw(st.integers(EOS_ID + 1, 5)), draw(st.integers(FIRST_WORD, 5))
    emb, hidden, bi = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.booleans())
    att = draw(st.sampled_from([a for a in ATTENTIONS if not (bi and a in ("dot", "scaled_dot"))]))
    cfg = ModelConfig(src_vocab=src_vocab, tgt_vocab=tgt_vocab, cell=draw(st.sampled_from(CELLS)),
                      emb=emb, hidden=hidden, bidirectional=bi, attention=att,
                      input_feed=att != "none" and draw(st.booleans()),
                      tie_embeddings=emb == hidden and draw(st.booleans()),
                      init_scale=1.0)  # fmt: skip
    train = dict(seed=draw(st.integers(0, 2**16)), sampling_eps=draw(st.sampled_from([0.0, 0.5])),
                 label_smoothing=draw(st.sampled_from([0.0, 0.1])))  # fmt: skip
    src_ids = st.integers(EOS_ID + 1, src_vocab - 1)  # any source id but <pad>, <s> and </s>
    tgt = st.lists(st.integers(FIRST_WORD, tgt_vocab - 1), max_size=2) if tgt_vocab > FIRST_WORD \
        else st.just([])  # fmt: skip
    examples = [(draw(st.lists(src_ids, min_size=1, max_size=3)), draw(tgt))
                for _ in range(draw(st.integers(1, 3)))]  # fmt: skip
    return cfg, train, examples


@settings(max_examples=8)
@given(case=small_vocab_case())
def test_model_gradients_with_the_smallest_vocabularies(case):
    cfg, train, examples = case
    model = Seq2Seq(cfg, seed=3, dtype=np.float64)
    batch = make_batch(examples, np.arange(len(examples)))
    assert_close(check_model(model, batch, h=3e-4, **train))  # h as test_model_gradients_drawn

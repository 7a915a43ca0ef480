"""Translator.translate's invariant as a property: it decodes in batches sorted by source length,
yet each output is the one its source gets alone (greedy, beam with n-best and penalties,
replace_unk) or, for a sample, in a batch of one at its own place in the list (README: "a sample
does not change with the other lines or the batch size"). float64, so no rounding tie can flip a
token (the README allows that for float32)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.api import Translator
from minis2s.data.vocab import Vocab
from minis2s.models import ModelConfig, Seq2Seq

DIGITS = Vocab("01234567")  # "8" and "9" read as <unk>, which replace_unk may copy
OPTIONS = {
    "greedy": dict(method="greedy"),
    "beam": dict(method="beam", beam_size=3, nbest=2, length_penalty="gnmt", beta=0.3),
    "sample": dict(method="sample", seed=3, temperature=2.0, top_p=0.9),
}


def same(a, b) -> None:
    assert (a.text, a.tokens, a.ended) == (b.text, b.tokens, b.ended)
    np.testing.assert_allclose([a.logprob, a.score], [b.logprob, b.score], rtol=1e-9)


@settings(max_examples=15)
@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("method", sorted(OPTIONS))
@given(sources=st.lists(st.text("0123456789", min_size=1, max_size=6), min_size=1, max_size=5),
       batch_size=st.integers(1, 3), seed=st.integers(0, 100))  # fmt: skip
def test_each_output_is_the_one_its_source_gets_alone(name, method, sources, batch_size, seed):
    backend.use(name)
    cfg = ModelConfig(len(DIGITS), len(DIGITS), emb=3, hidden=4, init_scale=1.0)
    tr = Translator(Seq2Seq(cfg, seed=seed, dtype=np.float64), DIGITS, DIGITS)
    kw = dict(OPTIONS[method], replace_unk=True)
    together = tr.translate(sources, batch_size=batch_size, **kw)
    alone = (
        tr.translate(sources, batch_size=1, **kw)  # its own place, its own stream
        if method == "sample"
        else [tr.translate([s], **kw)[0] for s in sources]
    )
    for got, want in zip(together, alone, strict=True):
        for a, b in zip(*(x if isinstance(x, list) else [x] for x in (got, want)), strict=True):
            same(a, b)

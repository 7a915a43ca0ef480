"""A fuzzer of the Python API, kept as a test: a public entry point a reader calls directly, and
for one of its arguments a plausible mistake (a number or True where a path goes, which open()
takes for a file descriptor; bytes, None, a list, a generator, NaN, an array of strings, an empty
array, a directory, a missing file). Whatever the draw, the call returns, or raises a ValueError,
TypeError, OSError or MemoryError from minis2s's own code (not from NumPy, matplotlib or the
stdlib inside it) with a message that says what is wrong; it never closes a file descriptor it
was given. Only cheap paths: each call refuses, or reads a small file, before any training.

tests/test_api_fuzz_found.py holds what a longer run of this fuzzer found, one test each."""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minis2s
from minis2s import backend, gradcheck, pipeline, viz
from minis2s.api import Translator
from minis2s.data import corpus, vectors
from minis2s.data.batching import Batch
from minis2s.data.vocab import Vocab
from minis2s.layers import attention, linear
from minis2s.models import ModelConfig, Seq2Seq

PACKAGE = os.path.dirname(minis2s.__file__)
FD = "<a file descriptor>"  # replaced by one of /dev/null, opened for the call
VALUES = (
    FD, True, None, 3, -1, 1.5, math.nan, "", " ", "a\0b", b"x.tsv", ["x.tsv"], [1.5], {"a": 1},
    "<generator>", np.array(["12"]), np.zeros((2, 0)), np.zeros((2, 3)), "<dir>", "<missing>",
)  # fmt: skip


def _linear() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3)), linear.init(3, 2, rng, np.float64)


def _attention(weight: Any) -> Any:
    rng = np.random.default_rng(0)
    p = attention.init("general", 4, 4, rng, dtype=np.float64) | {"W_a": weight}
    return attention.forward(rng.standard_normal((1, 2, 4)), rng.standard_normal((1, 3, 4)), p)


def _token_logprobs(tgt_mask: Any) -> Any:
    """Seq2Seq.token_logprobs of a hand-built Batch with this tgt_mask, which, returned, is 0 at
    the padding the mask marks (as its docstring says), not a loss term the mask says is none."""
    model = Seq2Seq(ModelConfig(src_vocab=8, tgt_vocab=8, emb=4, hidden=4), seed=0)
    ids = np.random.default_rng(0).integers(4, 8, (2, 3))
    logp = model.token_logprobs(Batch(ids, np.ones((2, 3)), ids, ids, tgt_mask, np.arange(2)))
    assert (logp[np.broadcast_to(np.asarray(tgt_mask) == 0, logp.shape)] == 0).all(), tgt_mask
    return logp


def _use(name: Any) -> Any:
    try:
        return backend.use(name)
    finally:
        backend.use("numpy")


CALLS: dict[str, Callable[[Any], Any]] = {
    "Vocab.load": lambda v: Vocab.load(v),
    "Vocab.save": lambda v: Vocab.build([["a"]]).save(v),
    "corpus.read_phrase_table": lambda v: corpus.read_phrase_table(v),
    "corpus.read_corpus": lambda v: corpus.read_corpus(v),
    "corpus.read_corpus([v])": lambda v: corpus.read_corpus([v]),
    "vectors.read_vectors": lambda v: vectors.read_vectors(v),
    "corpus.write_tsv(path)": lambda v: corpus.write_tsv(v, [("a", "b")]),
    "corpus.write_tsv(pairs)": lambda v: corpus.write_tsv("x.tsv", v),
    "viz.plot_log": lambda v: viz.plot_log(v),
    "viz.attention_text(weights)": lambda v: viz.attention_text(v, ["x"], ["y"]),
    "viz.plot_by_length(bands)": lambda v: viz.plot_by_length({"x": v}),
    "gradcheck.check_layer(inputs)": lambda v: gradcheck.check_layer(
        linear.forward, linear.backward, v, _linear()[1]
    ),
    "gradcheck.check_layer(seed)": lambda v: gradcheck.check_layer(
        linear.forward, linear.backward, [_linear()[0]], _linear()[1], seed=v
    ),
    "attention.forward(p['W_a'])": _attention,
    "Seq2Seq.token_logprobs(tgt_mask)": _token_logprobs,
    "backend.use": _use,
    "Translator.load": lambda v: Translator.load(v),
    "pipeline.load_data(data)": lambda v: pipeline.load_data(data=v),
}


def _value(drawn: Any, tmp_path: Path, fds: list[int]) -> Any:
    """The value a drawn marker stands for: a fresh descriptor, a generator, a path."""
    if isinstance(drawn, str) and drawn == FD:
        fds.append(os.open(os.devnull, os.O_RDONLY))
        return fds[-1]
    if isinstance(drawn, str) and drawn == "<generator>":
        return (s for s in ("a", "b"))
    if isinstance(drawn, str) and drawn in ("<dir>", "<missing>"):
        return str(tmp_path / ("missing" if drawn == "<missing>" else ""))
    return drawn


def _check_refusal(e: BaseException) -> None:
    """`e` is a refusal of minis2s's own (raised in its code, not in a library it calls, unless
    an OSError that names its file), in words."""
    assert isinstance(e, ValueError | TypeError | OSError | MemoryError), repr(e)
    if isinstance(e, OSError) and e.filename is not None:
        return  # open()'s own, naming the file
    last = traceback.extract_tb(e.__traceback__)[-1]
    assert last.filename.startswith(PACKAGE), f"{e!r} raised at {last.filename}:{last.lineno}"
    message = str(e)  # words, after what they are about: not a bare repr, nor ": no such file"
    assert len(message.split()) >= 3 and not message.startswith((":", " ")), repr(e)


@pytest.mark.parametrize("call", CALLS)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=st.sampled_from(VALUES))
def test_a_bad_value_is_refused_in_words_of_minis2s(call, drawn, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what a call writes (write_tsv's x.tsv) lands here
    fds: list[int] = []
    value = _value(drawn, tmp_path, fds)
    try:
        with np.errstate(all="raise"):  # a NumPy warning inside is NumPy's error here
            result = CALLS[call](value)
    except Exception as e:  # noqa: BLE001 (what it is, is the test)
        _check_refusal(e)
    else:
        assert not (isinstance(result, float) and math.isnan(result)), result
    finally:
        for fd in fds:
            os.fstat(fd)  # OSError (Bad file descriptor) if the call closed it
            os.close(fd)

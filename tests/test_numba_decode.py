"""Decoding on the numba backend, whose steps read the cells' weights transposed once per decode
call (`decoder.step_params`, kept in the DecodeState that `encode` makes): greedy, beam search,
sampling and ensembles give what the numpy backend gives (ids, scores, attention; float64 to
1e-10), and a state never carries copies of weights that have changed since."""

import numpy as np
import pytest

from minis2s import backend
from minis2s.data.batching import pad
from minis2s.decode import beam_search, greedy, sample
from minis2s.models import DecodeState, Ensemble, ModelConfig, Seq2Seq, decoder
from tests.parity import TOL

SOURCES = [[4, 5, 6, 7], [8, 9, 4], [5, 5, 6, 10, 11, 7]]


def model(cell="lstm", attention="general", seed=0, **kw):
    cfg = ModelConfig(src_vocab=12, tgt_vocab=12, emb=6, hidden=8, cell=cell, dec_layers=2,
                      attention=attention, input_feed=attention != "none", **kw)  # fmt: skip
    return Seq2Seq(cfg, seed=seed, dtype=np.float64)


def batch():
    return pad(SOURCES)  # (ids (N, S), mask (N, S))


DECODERS = {
    "greedy": lambda m, src, mask: greedy(m, src, mask, max_len_b=6),
    "beam": lambda m, src, mask: beam_search(m, src, mask, beam_size=3, nbest=3,
                                             length_penalty="gnmt", beta=0.2, max_len_b=6),
    "sample": lambda m, src, mask: sample(m, src, mask, rng=np.random.default_rng(3),
                                          temperature=0.7, top_k=5, max_len_b=6),
}  # fmt: skip


def decode_on(name, decode, m):
    backend.use(name)
    try:
        return decode(m, *batch())
    finally:
        backend.use("numpy")


def assert_same_hypotheses(got, want):
    assert len(got) == len(want)
    for g_n, w_n in zip(got, want, strict=True):
        assert [h.ids for h in g_n] == [h.ids for h in w_n]
        for g, w in zip(g_n, w_n, strict=True):
            assert abs(g.logprob - w.logprob) < TOL[np.float64] * max(1.0, abs(w.logprob))
            assert abs(g.score - w.score) < TOL[np.float64] * max(1.0, abs(w.score))
            assert (g.attention is None) == (w.attention is None)
            if w.attention is not None:  # what replace_unk reads
                np.testing.assert_allclose(g.attention, w.attention, rtol=0, atol=1e-10)


@pytest.mark.parametrize("how", DECODERS)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_numba_decoding_matches_numpy(cell, how):
    m = model(cell)
    want = decode_on("numpy", DECODERS[how], m)
    assert_same_hypotheses(decode_on("numba", DECODERS[how], m), want)


@pytest.mark.parametrize("how", DECODERS)
def test_numba_ensemble_decoding_matches_numpy(how):
    ens = Ensemble(
        [
            model("lstm"),
            model("gru", "additive", seed=1),
            model("rnn", "dot", seed=2, bidirectional=False),
        ]
    )
    want = decode_on("numpy", DECODERS[how], ens)
    assert_same_hypotheses(decode_on("numba", DECODERS[how], ens), want)


def test_encode_transposes_the_weights_once_and_step_reads_them():
    """On numba the state holds W_ih^T and W_hh^T of every layer (numpy: the plain split), beam
    search's reordering keeps them, and `step` uses the state's copies: handed another model's,
    it gives that model's step (which is why a state must not outlive its weights)."""
    m, other = model(), model(seed=1)
    src, mask = batch()
    backend.use("numba")
    try:
        state = m.encode(src, mask)
        assert all("W_ih^T" in q and "W_hh^T" in q for q in state.dec_params.layers)
        for same in (True, False):
            assert (
                Seq2Seq.select(state, [0, 0, 2], same_sources=same).dec_params is state.dec_params
            )
        y = np.array([1, 1, 1])
        mixed = state._replace(dec_params=decoder.step_params(other.params, other.cfg))
        logp_mixed = m.step(y, mixed)[0]
        other_params = dict(m.params) | {k: v for k, v in other.params.items() if "dec." in k}
        other_dec = Seq2Seq(m.cfg, other_params, dtype=np.float64)
        logp_want = other_dec.step(y, state._replace(dec_params=None))[0]
    finally:
        backend.use("numpy")
    assert "W_ih^T" not in m.encode(src, mask).dec_params.layers[0]
    np.testing.assert_allclose(logp_mixed, logp_want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_a_state_made_without_dec_params_steps_as_encodes_does(name):
    """DecodeState's five-field constructor (before dec_params) still works: the step splits
    the parameters itself."""
    m = model()
    backend.use(name)
    try:
        state = m.encode(*batch())
        old_style = DecodeState(state.enc, state.src_mask, state.states, state.out, state.keys)
        y = np.array([1, 1, 1])
        np.testing.assert_array_equal(m.step(y, old_style)[0], m.step(y, state)[0])
    finally:
        backend.use("numpy")


@pytest.mark.parametrize("how", DECODERS)
@pytest.mark.parametrize("update", ["in_place", "replaced"])
def test_decoding_after_the_parameters_change_reads_the_new_ones(how, update):
    """Train, decode a dev set, train on, decode again: the second call's W^T copies are the new
    weights' (in place, as the optimisers update them, or a new dict), so its output is that of
    a model built afresh from the new parameters."""
    m, new = model(), model(seed=5)
    first = decode_on("numba", DECODERS[how], m)
    if update == "in_place":
        for k, v in m.params.items():
            v[...] = new.params[k]
    else:
        m.params = dict(new.params)
    fresh = Seq2Seq(m.cfg, {k: v.copy() for k, v in new.params.items()}, dtype=np.float64)
    second = decode_on("numba", DECODERS[how], m)
    assert_same_hypotheses(second, decode_on("numba", DECODERS[how], fresh))
    assert [h.ids for n in second for h in n] != [h.ids for n in first for h in n]

"""Reading the source reversed (ModelConfig.reverse_source, `train --reverse-source`; Sutskever,
Vinyals & Le 2014): with the same parameters, the reversed model on a batch is the plain model on
each row's tokens reversed, to the loss, every gradient, the decoder's start state and the decoded
tokens; only its encoder outputs and attention weights stay in the source's own order. Then its
gradients against finite differences, padding, the numba backend, ensembles, PyTorch, old
configs, wrong masks and GPU waits; the command line is in test_reverse_source_runs.py."""

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minis2s import backend
from minis2s.data.batching import make_batch
from minis2s.decode.beam import beam_search
from minis2s.decode.greedy import greedy
from minis2s.gradcheck import assert_close, check_model
from minis2s.models import Ensemble, ModelConfig, Seq2Seq, encoder
from minis2s.models.config import CELLS
from minis2s.models.ensemble import mean_of_probabilities
from tests.parity import DTYPES, assert_same_model, model_loss_and_grads
from tests.test_model import SAMPLED, model_case, tiny

F64 = np.float64
# four rows of source lengths 5, 1, 3, 2 (padded to 5), one with an empty target; 3 is <unk>
EXAMPLES = [([4, 5, 6, 3, 5], [4, 4]), ([5], [6]), ([6, 4, 3], [5, 6, 4]), ([3, 6], [])]


def flipped(examples):
    """Each row's source reversed, its target as it is."""
    return [(src[::-1], tgt) for src, tgt in examples]


def flip_rows(a, lengths):
    """a (N, S, ...) with each row's first lengths[n] positions reversed (written out here, not
    the code's gather)."""
    out = a.copy()
    for n, L in enumerate(lengths):
        out[n, :L] = a[n, :L][::-1]
    return out


def twins(**kw) -> tuple[Seq2Seq, Seq2Seq]:
    """(plain model, the same parameters reading the source reversed)."""
    plain = tiny(**kw)
    reverse = dataclasses.replace(plain.cfg, reverse_source=True)
    return plain, Seq2Seq(reverse, plain.params, dtype=F64)


def examples_of(features: int):
    """EXAMPLES, or with `features` > 0 the same lengths as feature frames (S, F)."""
    if not features:
        return EXAMPLES
    r = np.random.default_rng(7)
    return [(r.standard_normal((len(src), features)), tgt) for src, tgt in EXAMPLES]


def batch_of(examples):
    return make_batch(examples, np.arange(len(examples)))


CASES = [(cell, bi, F) for cell in CELLS for bi in (False, True) for F in (0, 3)]


@pytest.mark.parametrize("cell,bi,features", CASES)
def test_the_reversed_model_is_the_plain_model_on_reversed_rows(cell, bi, features):
    """Loss and every gradient (scheduled sampling and smoothing on), two layers, padded rows."""
    plain, rev = twins(cell=cell, bidirectional=bi, enc_layers=2, src_features=features)
    ex = examples_of(features)
    train = dict(sampling_eps=0.5, label_smoothing=0.1)
    loss, grads = rev.loss_and_grads(batch_of(ex), rng=np.random.default_rng(4), **train)
    want, want_grads = plain.loss_and_grads(
        batch_of(flipped(ex)), rng=np.random.default_rng(4), **train
    )
    assert loss == pytest.approx(want, rel=1e-13)
    assert sorted(grads) == sorted(want_grads)
    for name, g in want_grads.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-11, atol=1e-14, err_msg=name)
    # and not the plain model on the rows as written (the test could not tell them apart)
    assert abs(plain.loss(batch_of(ex), rng=np.random.default_rng(4), **train) - loss) > 1e-6


@pytest.mark.parametrize("cell,bi,features", CASES)
def test_encoder_outputs_stay_in_source_order_and_the_start_state_is_the_reversed_reading(
    cell, bi, features
):
    """enc[n, s] of the reversed model is the plain model's on the reversed row at L_n - 1 - s
    (zero at padding in both); the decoder starts from the same states."""
    plain, rev = twins(cell=cell, bidirectional=bi, enc_layers=2, src_features=features)
    b, bf = batch_of(examples_of(features)), batch_of(flipped(examples_of(features)))
    lengths = b.src_mask.sum(axis=1).astype(int)
    got, want = rev.encode(b.src, b.src_mask), plain.encode(bf.src, bf.src_mask)
    np.testing.assert_allclose(got.enc, flip_rows(want.enc, lengths), rtol=1e-13, atol=1e-15)
    assert not np.allclose(got.enc, want.enc)
    for s_got, s_want in zip(got.states, want.states, strict=True):
        for a, w in zip(*(s if isinstance(s, tuple) else (s,) for s in (s_got, s_want)),
                        strict=True):  # fmt: skip
            np.testing.assert_allclose(a, w, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("features", [0, 3])
def test_decoding_gives_the_same_tokens_and_attention_in_source_order(bi, features):
    """Greedy and beam search: the same tokens and log-probabilities as the plain model on the
    reversed rows; each step's attention weights are its, flipped back to the source's order."""
    plain, rev = twins(cell="lstm", bidirectional=bi, src_features=features)
    b, bf = batch_of(examples_of(features)), batch_of(flipped(examples_of(features)))
    for decode in (greedy, lambda m, s, k: beam_search(m, s, k, beam_size=3, nbest=2)):
        got, want = decode(rev, b.src, b.src_mask), decode(plain, bf.src, bf.src_mask)
        for hyps, hyps_want in zip(got, want, strict=True):
            assert [h.ids for h in hyps] == [h.ids for h in hyps_want]
            for h, hw in zip(hyps, hyps_want, strict=True):
                assert h.logprob == pytest.approx(hw.logprob, rel=1e-12)
                np.testing.assert_allclose(h.attention, hw.attention[:, ::-1], rtol=1e-12,
                                           atol=1e-15)  # fmt: skip
    long = rev.encode(b.src[:1], b.src_mask[:1])  # a row of 5 tokens: attention not symmetric
    w = rev.step(np.array([2]), long)[2]
    w_plain = plain.step(np.array([2]), plain.encode(bf.src[:1], bf.src_mask[:1]))[2]
    np.testing.assert_allclose(w, w_plain[:, ::-1], rtol=1e-12, atol=1e-15)
    assert not np.allclose(w, w_plain)


@pytest.mark.parametrize("cell", CELLS)
def test_the_one_way_encoder_ends_on_each_row_s_first_token(cell):
    """Sutskever's point: the final state has just read token 0, so it is enc[:, 0] (one layer,
    one direction, bridge 'last' hands it to the decoder as it is)."""
    _, rev = twins(cell=cell, bidirectional=False, bridge="last", attention="none",
                   input_feed=False)  # fmt: skip
    b = batch_of(EXAMPLES)
    state = rev.encode(b.src, b.src_mask)
    h0 = state.states[0][0] if cell == "lstm" else state.states[0]
    np.testing.assert_array_equal(h0, state.enc[:, 0])


# Six drawn cases besides the two below: the gather adds no parameter and no branch per cell (the
# equivalence tests above cover every cell), and each case is a whole-model check (~1 s).
@settings(max_examples=6)
@given(case=model_case(), F=st.integers(0, 3))
@example(  # N = 1, S = 1, H = E = 1
    case=(dict(cell="lstm", emb=1, hidden=1, enc_layers=1, dec_layers=1, bidirectional=False,
               attention="general", bridge="learned", input_feed=True, tie_embeddings=False,
               dropout=0.0), dict(seed=0, sampling_eps=0.0, label_smoothing=0.0), [([4], [5])]),
    F=0,
)  # fmt: skip
@example(  # padded rows, bidirectional, dropout, a row of one token
    case=(dict(cell="gru", emb=2, hidden=3, enc_layers=2, dec_layers=1, bidirectional=True,
               attention="additive", bridge="learned", input_feed=True, tie_embeddings=False,
               dropout=0.3), dict(seed=3, sampling_eps=0.5, label_smoothing=0.1), EXAMPLES),
    F=0,
)  # fmt: skip
def test_reversed_model_gradients_drawn(case, F):
    """Every parameter's gradient against centred differences in float64, over test_model's
    drawn configurations and batches (N = 1, size-1 units, padded rows, dropout), token ids or
    F feature frames, with the source read reversed."""
    opts, train, examples = case
    if F:
        r = np.random.default_rng(train["seed"])
        examples = [(r.standard_normal((len(src), F)), tgt) for src, tgt in examples]
    model = tiny(reverse_source=True, src_features=F, **opts)
    assert_close(check_model(model, batch_of(examples), h=3e-4, **SAMPLED, **train))


@pytest.mark.parametrize("bi", [False, True])
def test_extra_padding_changes_nothing(bi):
    """A row alone, and in a batch padded 3 columns wider: the same log-probabilities, encoder
    outputs and attention (a gather that moved padding into the tokens would change them)."""
    _, rev = twins(cell="gru", bidirectional=bi, enc_layers=2)
    b = batch_of(EXAMPLES)
    wide = b._replace(src=np.pad(b.src, ((0, 0), (0, 3))), src_mask=np.pad(b.src_mask,
                      ((0, 0), (0, 3))))  # fmt: skip
    S = b.src.shape[1]
    np.testing.assert_allclose(rev.token_logprobs(wide), rev.token_logprobs(b), rtol=1e-13)
    got, want = rev.encode(wide.src, wide.src_mask), rev.encode(b.src, b.src_mask)
    np.testing.assert_allclose(got.enc[:, :S], want.enc, rtol=1e-13, atol=1e-15)
    assert not got.enc[:, S:].any()
    for n, (src, tgt) in enumerate(EXAMPLES):
        alone = batch_of([(src, tgt)])
        np.testing.assert_allclose(
            rev.token_logprobs(alone)[0], rev.token_logprobs(b)[n, : len(tgt) + 1], rtol=1e-13
        )
        w = rev.step(np.array([2]), rev.encode(alone.src, alone.src_mask))[2]
        w_wide = rev.step(np.array([2] * len(EXAMPLES)), got)[2]
        np.testing.assert_allclose(w_wide[n, : len(src)], w[0], rtol=1e-13)
        assert not w_wide[n, len(src) :].any()


@DTYPES
@pytest.mark.parametrize("bi", [False, True])
def test_the_numba_backend_gives_the_numpy_loss_and_gradients(bi, dtype):
    kw = dict(cell="lstm", bidirectional=bi, enc_layers=2, dropout=0.2, reverse_source=True)
    want = model_loss_and_grads(dtype, sampling_eps=0.3, **kw)
    backend.use("numba")
    assert_same_model(model_loss_and_grads(dtype, sampling_eps=0.3, **kw), want, dtype)


def test_an_ensemble_of_a_reversed_and_a_plain_model_averages_their_probabilities():
    """Each member encodes with its own config: the ensemble's log p is the log of the mean of
    the probabilities of the plain member and of the reversed member's plain twin fed the
    reversed rows, and its attention the mean of their weights, both in source order."""
    twin, rev = twins(cell="gru")
    plain = tiny(cell="lstm", bidirectional=False)  # other parameters, other cell
    b, bf = batch_of(EXAMPLES), batch_of(flipped(EXAMPLES))
    lengths = b.src_mask.sum(axis=1).astype(int)
    ens = Ensemble([rev, plain])
    y = np.array([2] * len(EXAMPLES))
    logp, _, w = ens.step(y, ens.encode(b.src, b.src_mask))
    (lp_twin, _, w_twin), (lp_plain, _, w_plain) = (
        m.step(y, m.encode(s.src, s.src_mask)) for m, s in ((twin, bf), (plain, b))
    )
    np.testing.assert_allclose(logp, np.log((np.exp(lp_twin) + np.exp(lp_plain)) / 2), rtol=1e-12)
    want_w = (flip_rows(w_twin, lengths) + w_plain) / 2
    np.testing.assert_allclose(w, want_w, rtol=1e-12, atol=1e-15)
    want = mean_of_probabilities([twin.token_logprobs(bf), plain.token_logprobs(b)])
    np.testing.assert_allclose(ens.token_logprobs(b), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bi", [False, True])
def test_the_loss_matches_torch_fed_the_reversed_rows(bi):
    """PyTorch's packed nn.LSTM model (tests/test_model_torch_parity.py, sharing no forward code
    with minis2s) on the reversed rows gives the reversed model's loss. Skipped without torch."""
    pytest.importorskip("torch")
    from tests.test_model_torch_parity import reference_loss

    plain, rev = twins(cell="lstm", bidirectional=bi, enc_layers=2, dec_layers=2, emb=3, hidden=4)
    want = reference_loss(plain, batch_of(flipped(EXAMPLES)), 0.1)
    assert rev.loss(batch_of(EXAMPLES), label_smoothing=0.1) == pytest.approx(want, rel=1e-12)


def test_a_config_without_the_field_reads_as_not_reversed():
    """A checkpoint written before reverse_source existed has no such field: not reversed."""
    d = ModelConfig(src_vocab=6, tgt_vocab=6).to_dict()
    del d["reverse_source"]
    assert ModelConfig.from_dict(d).reverse_source is False
    with pytest.raises(TypeError, match="reverse_source must be True or False; got 1"):
        ModelConfig(src_vocab=6, tgt_vocab=6, reverse_source=1)


def test_the_summary_says_the_source_is_read_reversed():
    plain, rev = twins()
    assert "reversed" not in plain.summary()
    assert rev.summary().splitlines()[-1] == (
        "reversed: the encoder reads each source last token first (reverse_source)"
    )


@pytest.mark.parametrize(
    "mask,message",
    [
        (np.ones((4, 4)), r"encoder: src_mask has shape \(4, 4\), expected \(N, S\) = \(4, 5\)"),
        (np.array([[1, 0, 1, 0, 0]] + [[1] * 5] * 3), "mask must be right-padded"),
        (np.full((4, 5), 2.0), "mask must hold only 0 and 1"),
    ],
)
def test_a_wrong_mask_is_named_not_a_failed_gather(mask, message):
    _, rev = twins()
    b = batch_of(EXAMPLES)
    with pytest.raises(ValueError, match=message):
        encoder.forward(b.src, mask, rev.params, rev.cfg)


def test_reading_reversed_adds_no_wait_for_the_gpu():
    """On the stand-in GPU (tests/fake_device.py), a reversed model's training step converts
    device values to Python exactly as often as the plain model's: the gather index is made
    on the device, and the mask's values are checked once, by the stack."""
    from tests.test_device_syncs import config, round_trips

    def train(model, b):
        model.loss_and_grads(b, rng=np.random.default_rng(1), sampling_eps=0.5)

    plain, rev = (round_trips(config(reverse_source=r), 3, train) for r in (False, True))
    assert sum(rev.values()) == sum(plain.values()) > 0

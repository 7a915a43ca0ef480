"""Shared embeddings (ModelConfig(share_embeddings=True)): the encoder reads the target
embedding "dec.emb.W", one parameter whose gradient is the sum of the encoder's and the decoder's
(and the output layer's with tie_embeddings too); its gradients against finite differences, the
backends, pretrained vectors and frozen embeddings with it, and what it refuses."""

import numpy as np
import pytest
from hypothesis import given

from minis2s import backend
from minis2s.data.vocab import Vocab
from minis2s.gradcheck import assert_close, check_model
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.params import embedding_of, shapes
from minis2s.models.pretrained import check_shared, load_vectors
from minis2s.train.config import TrainConfig
from minis2s.train.frozen_embeddings import frozen_params
from tests.test_model import EXAMPLES, SAMPLED, batch, model_case, tiny

F64 = np.float64


@pytest.mark.parametrize("tie", [False, True])
@given(case=model_case())
def test_shared_embedding_gradients_drawn(tie, case):
    """Every parameter's gradient with one embedding matrix for both sides, over the drawn
    configurations and batches of test_model (N = 1, size-1 units, padded rows, every cell,
    bridge and attention); with `tie` the output layer reads that matrix too (hidden = emb)."""
    opts, train, examples = case
    opts = opts | {"share_embeddings": True, "tie_embeddings": tie}
    if tie:
        opts["hidden"] = opts["emb"]
    model = tiny(**opts)
    assert "enc.emb.W" not in model.params
    assert_close(check_model(model, batch(examples), h=3e-4, **SAMPLED, **train))


@pytest.mark.parametrize("tie", [False, True])
def test_the_shared_gradient_is_the_sum_of_both_sides(tie):
    """A model with two embedding matrices holding the same values computes the same loss, and
    the shared matrix's gradient is the sum of theirs: one parameter, not two kept equal."""
    shared = tiny(share_embeddings=True, tie_embeddings=tie, dropout=0.3)
    apart = tiny(tie_embeddings=tie, dropout=0.3)
    for name, value in shared.params.items():
        apart.params[name][...] = value
    apart.params["enc.emb.W"][...] = shared.params["dec.emb.W"]
    b, r = batch(), lambda: np.random.default_rng(4)
    loss_shared, g_shared = shared.loss_and_grads(b, rng=r(), sampling_eps=0.5)
    loss_apart, g_apart = apart.loss_and_grads(b, rng=r(), sampling_eps=0.5)
    assert loss_shared == loss_apart
    want = g_apart["dec.emb.W"] + g_apart["enc.emb.W"]
    np.testing.assert_allclose(g_shared["dec.emb.W"], want, rtol=1e-13, atol=1e-15)
    assert np.abs(g_apart["enc.emb.W"]).sum() > 0 and set(g_shared) == set(shared.params)
    for name in set(g_shared) - {"dec.emb.W"}:
        np.testing.assert_array_equal(g_shared[name], g_apart[name])


def test_sharing_drops_the_source_matrix_and_with_tying_one_matrix_serves_three():
    base = ModelConfig(src_vocab=9, tgt_vocab=9, emb=4, hidden=4)
    shared = ModelConfig(**base.to_dict() | {"share_embeddings": True})
    all3 = ModelConfig(**shared.to_dict() | {"tie_embeddings": True})
    assert set(shapes(base)) - set(shapes(shared)) == {"enc.emb.W"}
    assert set(shapes(base)) - set(shapes(all3)) == {"enc.emb.W", "out.W"}
    sizes = [Seq2Seq(c, dtype=F64).num_params() for c in (base, shared, all3)]
    assert sizes[0] - sizes[1] == 9 * 4 and sizes[1] - sizes[2] == 9 * 4
    assert [embedding_of(base, side) for side in ("src", "tgt")] == ["enc.emb.W", "dec.emb.W"]
    assert [embedding_of(shared, side) for side in ("src", "tgt")] == ["dec.emb.W", "dec.emb.W"]


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(src_vocab=8, tgt_vocab=9), "src_vocab 8 != tgt_vocab 9; build one from both sides"),
        (dict(src_features=3), "reads feature vectors (src_features = 3)"),
    ],
)
def test_a_config_that_cannot_share_is_refused(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelConfig(**{"src_vocab": 9, "tgt_vocab": 9, "share_embeddings": True} | kw)


def test_the_numba_backend_gives_the_numpy_loss_and_gradients():
    model = tiny(share_embeddings=True, tie_embeddings=True, cell="gru", dropout=0.2)
    want = model.loss_and_grads(batch(), rng=np.random.default_rng(2))
    backend.use("numba")
    params = {k: backend.current().asarray(v) for k, v in model.params.items()}
    got = Seq2Seq(model.cfg, params, dtype=F64).loss_and_grads(
        batch(), rng=np.random.default_rng(2)
    )
    assert got[0] == pytest.approx(want[0], rel=1e-10)
    for name, g in want[1].items():
        np.testing.assert_allclose(backend.to_numpy(got[1][name]), g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("freeze", ["none", "src", "tgt", "both"])
@pytest.mark.parametrize("tie", [False, True])
def test_freezing_shared_embeddings_freezes_the_one_matrix_or_is_refused(freeze, tie):
    cfg = ModelConfig(src_vocab=9, tgt_vocab=9, emb=4, hidden=4, share_embeddings=True,
                      tie_embeddings=tie)  # fmt: skip
    t = TrainConfig(freeze_embeddings=freeze)
    if freeze == "none":
        assert frozen_params(t, cfg) == ()
    elif freeze != "both":
        with pytest.raises(ValueError, match="one matrix, which cannot be frozen for one side"):
            frozen_params(t, cfg)
    elif tie:
        with pytest.raises(ValueError, match="also the output layer, which would then never"):
            frozen_params(t, cfg)
    else:
        assert frozen_params(t, cfg) == ("dec.emb.W",)


def test_either_side_s_vectors_initialise_the_shared_matrix_but_not_both(tmp_path):
    from minis2s.data.vectors import write_vectors

    vocab = Vocab(["a", "b", "c"])
    W = np.arange(len(vocab) * 2, dtype=F64).reshape(len(vocab), 2)
    write_vectors(tmp_path / "v.txt", vocab, W)
    cfg = ModelConfig(src_vocab=len(vocab), tgt_vocab=len(vocab), emb=2, hidden=2,
                      share_embeddings=True)  # fmt: skip
    for side in ("src", "tgt"):
        model = Seq2Seq(cfg, dtype=F64)
        load_vectors(model, side, vocab, tmp_path / "v.txt")
        np.testing.assert_array_equal(model.params["dec.emb.W"][4:], W[4:])
    check_shared(cfg, tmp_path / "v.txt", None)
    with pytest.raises(ValueError, match="one matrix .* which one file initialises: give one"):
        check_shared(cfg, tmp_path / "v.txt", tmp_path / "v.txt")


def test_decoding_reads_the_shared_matrix_for_the_source():
    """Changing a row of the one matrix changes what the encoder makes of that source token."""
    model = tiny(share_embeddings=True)
    src, mask = np.array([EXAMPLES[0][0]]), np.ones((1, 3))
    before = model.encode(src, mask).enc.copy()
    model.params["dec.emb.W"][EXAMPLES[0][0][0]] += 0.5
    assert not np.allclose(model.encode(src, mask).enc, before)


def test_a_config_without_the_field_means_not_shared():
    """A checkpoint written before share_embeddings existed has no such field: not shared."""
    d = ModelConfig(src_vocab=6, tgt_vocab=6).to_dict()
    del d["share_embeddings"]
    assert ModelConfig.from_dict(d).share_embeddings is False

"""The cupy backend on a real GPU: whole layers, stacks and models against the numpy backend
(float64 to 1e-10, float32 to 1e-5), the gradient checks on the GPU's arrays, training and
decoding end to end. Skipped, with the reason, where CuPy or a GPU is missing; the twins' own
parity tests are in test_cupy_twins.py, and the CPU stand-in's in test_device_syncs.py."""

import numpy as np
import pytest
from hypothesis import given

from minis2s import backend
from minis2s.api import Translator
from minis2s.backend import to_numpy
from minis2s.checks import _cases, model_cases
from minis2s.data.batching import make_batch
from minis2s.data.vocab import Vocab
from minis2s.decode.beam import beam_search
from minis2s.decode.greedy import greedy
from minis2s.gradcheck import TOLERANCE
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import ATTENTIONS
from minis2s.train.optim import Adam
from tests.gpu import needs_gpu
from tests.parity import (
    DTYPES,
    EXAMPLES,
    assert_same_model,
    assert_same_results,
    layer_case,
    model_loss_and_grads,
    with_padded_row,
)
from tests.strategies import seq_case

pytestmark = needs_gpu
CELLS = ("rnn", "lstm", "gru")


def on(name, tree):
    """`tree`'s NumPy arrays as backend `name`'s arrays (backend made current)."""
    be = backend.use(name)
    if isinstance(tree, np.ndarray):
        return be.asarray(tree)
    if isinstance(tree, tuple):
        return tuple(on(name, t) for t in tree)
    if isinstance(tree, dict):
        return {k: on(name, v) for k, v in tree.items()}
    return tree


def host(tree):
    """Every array of a nested result, on the host, in a fixed order."""
    if isinstance(tree, dict):
        return [a for k in sorted(tree) for a in host(tree[k])]
    if isinstance(tree, tuple | list):
        return [a for t in tree for a in host(t)]
    return [to_numpy(tree)]


def run_layer(name, module, x, s0, p, m, douts):
    """Forward then backward of `module` on backend `name`: every output and gradient, on host."""
    x, s0, p, m, douts = on(name, (x, s0, p, m, douts))
    ys, final, cache = module.forward(x, s0, p, mask=m)
    grads = module.backward(*douts, cache)
    backend.use("numpy")
    return host((ys, final, grads))


def test_the_cupy_backend_holds_gpu_arrays_and_its_twins():
    import cupy

    be = backend.use("cupy")
    assert be.xp is cupy and isinstance(be.asarray(np.zeros(2)), cupy.ndarray)
    assert be.kernel("lstm.forward_loop", None).__module__ == "minis2s.kernels.cupy_lstm"


def test_a_batch_arrives_in_one_pinned_copy_with_its_values():
    import cupy

    be = backend.use("cupy")
    r = np.random.default_rng(0)
    host_arrays = [r.integers(0, 9, (3, 5)), r.random((3, 5)), np.zeros((0, 2)), r.random(7)]
    got = be.to_device(host_arrays, [None, np.float32, None, None])
    for a, g, dt in zip(host_arrays, got, [np.int64, np.float32, np.float64, np.float64],
                        strict=True):  # fmt: skip
        assert isinstance(g, cupy.ndarray) and g.shape == a.shape and g.dtype == dt
    np.testing.assert_array_equal(got[0].get(), host_arrays[0])
    np.testing.assert_array_equal(got[1].get(), host_arrays[1].astype(np.float32))
    np.testing.assert_array_equal(got[3].get(), host_arrays[3])


@DTYPES
@pytest.mark.parametrize("stacked", [False, True], ids=["layer", "bidirectional stack"])
@pytest.mark.parametrize("cell", CELLS)
@given(case=seq_case())
def test_layer_and_stack_match_numpy_backend(cell, stacked, dtype, case):
    N, T, D, H, m, seed = case
    module, x, s0, p, douts = layer_case(cell, N + 1, T, D, H, seed, dtype, stacked)
    args = (module, x, s0, p, with_padded_row(m), douts)
    got, want = run_layer("cupy", *args), run_layer("numpy", *args)
    assert_same_results(got, want, dtype, f"{cell} {'stack' if stacked else 'layer'} on the GPU")


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("att", ATTENTIONS)
def test_model_matches_numpy_backend(cell, att, dtype):
    """Every cell x attention kind, 2 layers each side, dropout and scheduled sampling."""
    kw = dict(cell=cell, attention=att, input_feed=att != "none", dec_layers=2, enc_layers=2,
              bidirectional=att not in ("dot", "scaled_dot"), dropout=0.2)  # fmt: skip
    want = model_loss_and_grads(dtype, sampling_eps=0.3, **kw)
    backend.use("cupy")
    assert_same_model(model_loss_and_grads(dtype, sampling_eps=0.3, **kw), want, dtype)


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
def test_a_model_sharing_its_embeddings_matches_numpy_backend(cell, dtype):
    """One embedding matrix for the encoder and the decoder (share_embeddings): its gradient,
    the sum of both sides' scatter-adds, as the numpy backend gives it."""
    kw = dict(cell=cell, attention="general", share_embeddings=True, dropout=0.2)
    want = model_loss_and_grads(dtype, **kw)
    assert "enc.emb.W" not in want[1]  # one matrix: the encoder reads dec.emb.W
    backend.use("cupy")
    assert_same_model(model_loss_and_grads(dtype, **kw), want, dtype)


@DTYPES
def test_a_model_reading_its_source_reversed_matches_numpy_backend(dtype):
    """reverse_source: the encoder's gathers (stack.reverse) on the GPU's arrays, forward and
    backward, with a bidirectional stack (its own gathers too), dropout and padded rows."""
    kw = dict(cell="lstm", attention="general", enc_layers=2, reverse_source=True, dropout=0.2)
    want = model_loss_and_grads(dtype, **kw)
    backend.use("cupy")
    assert_same_model(model_loss_and_grads(dtype, **kw), want, dtype)


LAYER_CHECKS = dict(_cases())  # each moves its arrays to the current backend when it runs
# one whole model, and the one whose encoder, decoder and output layer share one matrix (the
# embedding scatter-add sums two uses into it); built in the test, on the GPU, as a model's
# parameters live on the backend current when it is made
MODEL_CHECKS = ["seq2seq.lstm.general", "seq2seq.lstm.shared-tied-embeddings"]


@pytest.mark.parametrize("name", [*LAYER_CHECKS, *MODEL_CHECKS])
def test_gradient_checks_on_the_gpu(name):
    """`minis2s gradcheck`'s cases (all layers, two whole models) with their arrays on the GPU."""
    backend.use("cupy")
    run = LAYER_CHECKS.get(name) or next(r for n, r in model_cases() if n == name)
    errors = run()
    assert errors and all(e < TOLERANCE for e in errors.values()), (name, errors)


def test_training_on_the_gpu_follows_the_cpu():
    """Three Adam updates with dropout and scheduled sampling, float64: the same parameters."""
    kw = dict(src_vocab=9, tgt_vocab=9, emb=3, hidden=4, dropout=0.2, attention="general")
    batch = make_batch(EXAMPLES, np.arange(len(EXAMPLES)))
    params = {}
    for name in ("numpy", "cupy"):
        backend.use(name)
        model = Seq2Seq(ModelConfig(**kw), seed=1, dtype=np.float64)
        opt = Adam(model.params, lr=0.01)
        rng = np.random.default_rng(4)
        for _ in range(3):
            _, grads = model.loss_and_grads(batch, rng=rng, sampling_eps=0.3)
            opt.step(model.params, grads)
        params[name] = {k: to_numpy(v) for k, v in model.params.items()}
    names = sorted(params["numpy"])
    assert_same_results([params["cupy"][k] for k in names], [params["numpy"][k] for k in names],
                        np.float64, "parameters after 3 updates")  # fmt: skip


@pytest.mark.parametrize("cell", CELLS)
def test_decoding_on_the_gpu_picks_the_cpus_tokens(cell):
    cfg = ModelConfig(src_vocab=9, tgt_vocab=9, emb=4, hidden=6, cell=cell, init_scale=1.0)
    batch = make_batch(EXAMPLES, np.arange(len(EXAMPLES)))
    out = {}
    for name in ("numpy", "cupy"):
        backend.use(name)
        model = Seq2Seq(cfg, seed=3, dtype=np.float64)
        g = greedy(model, batch.src, batch.src_mask, max_len_b=6)
        b = beam_search(model, batch.src, batch.src_mask, beam_size=3, max_len_b=6)
        out[name] = [[h.ids for h in hyps] for hyps in g + b]
    assert out["cupy"] == out["numpy"]


@DTYPES
def test_scoring_on_the_gpu_follows_the_cpu(dtype):
    """Forced decoding (`Translator.score`): each target token's log p, </s> and an empty target
    included, as the CPU gives it."""
    v = Vocab("0123456789")
    cfg = ModelConfig(len(v), len(v), emb=4, hidden=6, attention="general", init_scale=1.0)
    pairs = [("12", "21"), ("3", ""), ("4567", "7654")]
    got = {}
    for name in ("numpy", "cupy"):
        backend.use(name)
        scores = Translator(Seq2Seq(cfg, seed=3, dtype=dtype), v, v).score(pairs, batch_size=2)
        got[name] = [s.token_logprobs for s in scores]
    assert_same_results(got["cupy"], got["numpy"], dtype, "token log-probabilities")

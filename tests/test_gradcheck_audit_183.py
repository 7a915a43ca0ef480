"""Two of the model's pieces as layers against finite differences, the bridge and the decoder,
each alone, on shapes drawn by hypothesis.

test_model.py checks whole models, where these pieces' input gradients are seen only through
what they reach: the decoder's denc and dstates0 and the bridge's dfinal move the encoder's
parameters, which those checks sample (3 entries and 2 random directions each), and with the
"zero" bridge the decoder's dstates0 reaches nothing at all. Here each piece is checked as a
layer, so every entry of its input gradients is compared: the bridge with every cell it takes
(its parameters entry by entry too); the decoder with every attention kind, cell, depth, input
feeding, dropout with a fixed mask and scheduled sampling's path, over padded source rows and
sometimes a source row with no token. On the same drawn cases the decoder's training pass on the
numba backend and on the cupy stand-in (their twins composed) equals the reference, float64 and
float32.

The discrete options are fixed per parametrized case, each value of each option in at least one
case, and hypothesis draws the shapes, masks and numbers: drawn one by one instead, the suite's
derandomized 15 examples never drew the dot scores nor an LSTM's learned bridge, and fed the
decoder's input twice.
"""

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.backend import to_numpy
from minis2s.data.vocab import BOS_ID, PAD_ID, UNK_ID
from minis2s.gradcheck import assert_close, check_layer
from minis2s.models import ModelConfig, bridge, decoder
from minis2s.models.config import BRIDGES, CELLS
from minis2s.models.params import init_params
from tests.parity import DTYPES, assert_same_results, flat
from tests.strategies import lengths, mask_from_lengths

F64 = np.float64
small = st.integers(1, 2)  # a size: 1 included, 2 so that rows and columns can be confused
# the decoder's parameters as test_model.py samples a model's (gradcheck_sampled.py): 3 entries
# drawn at random and 2 random directions through each; its EVERY_ENTRY cases check every entry
# of each cell's and attention kind's decoder parameters
SAMPLED = dict(entries=3, directions=2)


def params_of(cfg: ModelConfig, seed: int, prefixes: tuple[str, ...]) -> dict:
    """The float64 parameters of a model of `cfg` whose names start with one of `prefixes`;
    init_scale 1 in `cfg`, so that gradients stand far above the differences' noise."""
    p = init_params(cfg, seed=seed, dtype=F64)
    return {k: v for k, v in p.items() if k.startswith(prefixes)}


def cell_state(cell: str, r: np.random.Generator, shape: tuple[int, ...]):
    """A random state of `shape`: h, or (h, c) for the LSTM."""
    h = r.standard_normal(shape)
    return (h, r.standard_normal(shape)) if cell == "lstm" else h


# -- the bridge -----------------------------------------------------------------------------------


BRIDGE_CASES = [(c, b) for c in CELLS for b in BRIDGES if c == "lstm" or b != "learned_h"]


@st.composite
def bridge_case(draw, cell: str, kind: str):
    """(cfg, final in the encoder's layout (L*dirs, N, H), seed): the bridge `kind` of `cell`,
    1 or 2 encoder and decoder layers ("last" pairs them), one or two directions."""
    enc_layers, bi, N, H = draw(small), draw(st.booleans()), draw(st.integers(1, 3)), draw(small)
    dec_layers = enc_layers if kind == "last" else draw(small)
    cfg = ModelConfig(src_vocab=5, tgt_vocab=5, cell=cell, emb=1, hidden=H, bridge=kind,
                      enc_layers=enc_layers, dec_layers=dec_layers, bidirectional=bi,
                      init_scale=1.0)  # fmt: skip
    seed = draw(st.integers(0, 2**16))
    final = cell_state(cell, np.random.default_rng(seed), (enc_layers * (1 + bi), N, H))
    return cfg, final, seed


@pytest.mark.parametrize("cell, kind", BRIDGE_CASES)
@given(data=st.data())
def test_bridge_gradients(cell, kind, data):
    """dfinal entry by entry in the encoder's layout (which direction and layer each part of a
    decoder state came from), and the learned bridges' own parameters entry by entry."""
    cfg, final, seed = data.draw(bridge_case(cell, kind))
    p = params_of(cfg, seed, ("bridge",))
    f = lambda final, p: bridge.forward(final, p, cfg)  # noqa: E731
    assert_close(check_layer(f, bridge.backward, [final], p, seed=seed))


# -- the decoder ----------------------------------------------------------------------------------


# (attention, cell, decoder layers, bidirectional encoder (He = 2H), input feeding, dropout,
# scheduled sampling's eps): every value of each in at least one case, LSTM's pair of states with
# two layers, dropout and feeding (general) and with sampling (dot)
DECODER_CASES = [
    ("none", "rnn", 2, True, False, 0.4, 0.5),
    ("dot", "lstm", 1, False, True, 0.0, 0.5),
    ("scaled_dot", "gru", 2, False, False, 0.4, 0.0),
    ("general", "lstm", 2, True, True, 0.4, 0.0),
    ("concat", "gru", 1, True, True, 0.0, 0.5),
    ("additive", "rnn", 1, False, True, 0.4, 0.5),
]


@st.composite
def decoder_case(draw, att, cell, layers, bi, feed, rate, eps):
    """(cfg, enc, states0, tgt_in, src_mask, train options, seed) of a decoder with these
    options; N = 1 to 2, S and T 1 to 3, E and H 1 or 2, V 4 or 5; padded source rows and
    sometimes one with no token; targets padded after their words."""
    V = draw(st.integers(UNK_ID + 1, 5))
    cfg = ModelConfig(src_vocab=V, tgt_vocab=V, cell=cell, emb=draw(small), hidden=draw(small),
                      dec_layers=layers, bidirectional=bi, attention=att, input_feed=feed,
                      dropout=rate, init_scale=1.0)  # fmt: skip
    N, S, T = draw(small), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    src_mask = mask_from_lengths(draw(lengths(N, S, allow_empty=True)), S)
    seed = draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    enc = r.standard_normal((N, S, cfg.hidden * (1 + bi)))
    states0 = [cell_state(cell, r, (N, cfg.hidden)) for _ in range(cfg.dec_layers)]
    tgt_in = r.integers(UNK_ID, V, (N, T))  # words (and <unk>), then <s> first and padding after
    tgt_in[:, 0] = BOS_ID
    tgt_in[np.arange(T)[None, :] >= draw(lengths(N, T))[:, None]] = PAD_ID
    own = r.integers(UNK_ID, V, N)  # scheduled sampling's "model's own" tokens: held fixed
    train = dict(sampling_eps=eps, predict=lambda out: own)
    return cfg, enc, states0, tgt_in, src_mask, train, seed


@pytest.mark.parametrize("att, cell, layers, bi, feed, rate, eps", DECODER_CASES)
@given(data=st.data())
def test_decoder_gradients(att, cell, layers, bi, feed, rate, eps, data):
    """denc and every entry of every layer's initial state (h and c) entry by entry, the "dec.*"
    parameters sampled (see SAMPLED). Dropout and the sampling coins draw from a generator seeded
    anew in every pass, so every pass draws the same masks and feeds the same tokens."""
    options = att, cell, layers, bi, feed, rate, eps
    cfg, enc, states0, tgt_in, src_mask, train, seed = data.draw(decoder_case(*options))
    p = params_of(cfg, seed, ("dec.",))

    def f(enc, states0, p):
        rng = np.random.default_rng(seed) if cfg.dropout or train["sampling_eps"] else None
        outs, _, cache = decoder.forward(tgt_in, enc, src_mask, states0, p, cfg, rng=rng, **train)
        return outs, cache  # the weights: Seq2Seq's loss does not read them, nor backward

    assert_close(check_layer(f, decoder.backward, [enc, states0], p, seed=seed, **SAMPLED))


@contextlib.contextmanager
def on_backend(name: str) -> Iterator[None]:
    """The block on backend `name`: "numpy", "numba", or "cupy" on the CPU stand-in for CuPy
    (tests.fake_device: the cupy twins' kernels run as Python); numpy again after it."""
    if name == "cupy":
        from tests.fake_device import on_fake_device

        with on_fake_device():
            yield
        return
    backend.use(name)
    try:
        yield
    finally:
        backend.use("numpy")


@DTYPES
@pytest.mark.parametrize("twins", ["numba", "cupy"])
@pytest.mark.parametrize("att, cell, layers, bi, feed, rate, eps", DECODER_CASES)
@given(data=st.data())
def test_decoder_on_the_fast_backends_matches_numpy(
    att, cell, layers, bi, feed, rate, eps, twins, dtype, data
):
    """The decoder's training pass on the numba backend and on the cupy stand-in (their step,
    attention and transposed-weight twins composed) equals the reference, outputs and every
    gradient, on the drawn cases above: test_numba_steps and test_cupy_twins compare whole models
    on fixed batches of N = 3."""
    options = att, cell, layers, bi, feed, rate, eps
    cfg, enc, states0, tgt_in, src_mask, train, seed = data.draw(decoder_case(*options))
    p = {k: v.astype(dtype) for k, v in params_of(cfg, seed, ("dec.",)).items()}
    enc, src_mask, states0 = enc.astype(dtype), src_mask.astype(dtype), as_dtype(states0, dtype)
    douts = np.random.default_rng(seed + 1).standard_normal(tgt_in.shape + (cfg.hidden,))
    douts, own = douts.astype(dtype), train["predict"](None)

    def run(name: str) -> list:
        with on_backend(name):
            on = backend.current().asarray  # the inputs on the backend's device
            rng = np.random.default_rng(seed) if rate or eps else None
            pd, predict = {k: on(v) for k, v in p.items()}, lambda out: on(own)
            outs, w, cache = decoder.forward(
                on(tgt_in), on(enc), on(src_mask), as_dtype(states0, dtype, on), pd, cfg,
                rng=rng, sampling_eps=eps, predict=predict,
            )  # fmt: skip
            denc, dstates0, dp = decoder.backward(on(douts), cache)
        assert sorted(dp) == sorted(p)
        weights = [] if w is None else [w]  # none without attention
        got = [outs, *weights, denc, *flat(dstates0), *(dp[k] for k in sorted(dp))]
        return [to_numpy(a) for a in got]

    what = f"decoder {options} on {twins}"
    assert_same_results(run(twins), run("numpy"), dtype, what)


def as_dtype(tree, dtype, on=np.asarray):
    """`tree` (arrays in lists and tuples) with every array cast to `dtype`, by `on`."""
    if isinstance(tree, tuple | list):
        return type(tree)(as_dtype(t, dtype, on) for t in tree)
    return on(tree.astype(dtype))

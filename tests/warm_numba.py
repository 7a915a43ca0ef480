"""Fill Numba's on-disk cache with the numba twins the suite calls most, so that the suite's own
process loads them rather than compiling them: on a fresh checkout (CI's clone), compiling took
about 140 s of the suite's CPU time, most of it in its one main process.

conftest.py runs this module in the background (`python -m tests.warm_numba`, a
tests/background.py Run) as soon as the suite is collected, on the core the suite leaves idle.
It checks nothing: whatever it has not compiled yet when a test needs a twin, that test's
process compiles itself, as without it (Numba writes each cache file whole, by a rename, so two
processes compiling one twin are safe). With a warm cache it takes a few seconds.

Each twin is compiled once per dtype and per layout of its arguments (a C-contiguous array or a
strided view: the bidirectional stacks and the decoder's steps pass both), so every cell runs
one training step and both decodings with every attention, each direction, two layers, input
feeding, with and without dropout (without it, the default, a training step's decoder cells read
their input as a view of the embedded targets, a layout of its own), in float32 (training, the
suite's first numba tests) and float64 (the gradient checks); then each time loop on strided
views alone (test_numba_parity's), and the loss twins on views (test_numba_loss's)."""

import itertools

import numpy as np

from minis2s import backend, decode
from minis2s.data.batching import make_batch
from minis2s.kernels import numba_gru, numba_loss, numba_lstm, numba_rnn
from minis2s.layers import gru, lstm, rnn
from minis2s.models import ModelConfig, Seq2Seq
from minis2s.models.config import ATTENTIONS, CELLS
from minis2s.train.optim import Adam
from tests.parity import backward_inputs, loop_inputs, strided

EXAMPLES = [([4, 5, 6], [4, 4]), ([5], [6]), ([6, 4], [5, 6, 4])]  # padded rows, as the tests'


def configs():
    """Every cell and attention, both directions where the attention allows them, with and
    without dropout."""
    for cell in CELLS:
        for att in ATTENTIONS:
            for bi in (False, True):
                if bi and att in ("dot", "scaled_dot"):  # need the decoder's width: refused
                    continue
                for dropout in (0.1, 0.0):
                    yield ModelConfig(src_vocab=7, tgt_vocab=7, emb=3, hidden=4, cell=cell,
                                      attention=att, bidirectional=bi, input_feed=att != "none",
                                      enc_layers=2, dec_layers=2, dropout=dropout)  # fmt: skip


def main() -> None:
    backend.use("numba")
    batch = make_batch(EXAMPLES, np.arange(len(EXAMPLES)))
    x = np.array([[4, 5, 6]])
    for dtype in (np.float32, np.float64):
        for config in configs():
            model = Seq2Seq(config, seed=0, dtype=dtype)
            _, grads = model.loss_and_grads(batch, rng=np.random.default_rng(0))
            Adam(model.params, lr=1e-3).step(model.params, grads)
            decode.greedy(model, x, np.ones(x.shape))
            decode.beam_search(model, x, np.ones(x.shape), beam_size=2)
    twins = {"rnn": (rnn, numba_rnn), "lstm": (lstm, numba_lstm), "gru": (gru, numba_gru)}
    for dtype in (np.float32, np.float64):
        for cell, (reference, twin) in twins.items():
            # a view with a size-1 axis may be contiguous after all: another layout, compiled
            # apart; each of N, T and H at 1 or above it, as test_numba_parity draws them
            for N, T, H in itertools.product((2, 1), (3, 1), (4, 1)):
                r, mask = np.random.default_rng(0), np.ones((N, T))
                args = loop_inputs(cell, N, T, H, mask, r, dtype)
                out = reference.forward_loop(*args)
                twin.forward_loop(*map(strided, args))
                twin.backward_loop(*map(strided, backward_inputs(cell, args, out, r, dtype)))
    # the loss twins on views, float64 (test_numba_loss's): logits and log-probabilities every
    # other column of a wider array
    logp = numba_loss.log_softmax(strided(np.zeros((2, 3, 5))))
    keep = np.ones((6, 1))
    numba_loss.softmax_minus_target(strided(logp.reshape(6, 5)), np.zeros(6, int), keep, 0.1, 1.0)


if __name__ == "__main__":
    main()

"""Numba twins of the cells' single steps (`step_forward`, `step_backward_data`, which the
decoder's loop calls) against the reference, called directly on the same inputs; then the whole
model's loss and gradients under the "numba" backend against the "numpy" one, for every cell and
attention kind, so every twin the decoder asks for is exercised where it is used. float64 must
agree to 1e-10 and float32 to 1e-5 (DESIGN.md), relative to the scale of each output."""

import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.kernels.step_weights import step_weights
from minis2s.models.config import ATTENTIONS
from tests.parity import (
    DTYPES,
    assert_same_model,
    assert_same_results,
    flat,
    model_loss_and_grads,
    step_inputs,
    strided,
    wrong_step_grads,
)
from tests.strategies import dims
from tests.test_numba_parity import CELLS

STEPS = ("step_forward", "step_backward_data")


@pytest.fixture
def numba_backend():
    be = backend.use("numba")
    try:
        yield be
    finally:
        backend.use("numpy")


def test_numba_backend_dispatches_to_the_step_twins(numba_backend):
    """Without this the model test below could compare the reference with itself."""
    for cell, (ref, twin) in CELLS.items():
        for name in STEPS:
            assert numba_backend.kernel(f"{cell}.{name}", None) is getattr(twin, name)
            assert getattr(twin, name) is not getattr(ref, name)
            assert hasattr(getattr(twin, f"{name}_into"), "py_func")  # compiled, not Python


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@given(N=dims, D=dims, H=dims, seed=st.integers(0, 2**16), view=st.booleans(), nn=st.booleans())
@example(N=1, D=3, H=1, seed=0, view=False, nn=False)  # a saturated tanh (h = -0.998)
def test_steps_match_reference(cell, dtype, N, D, H, seed, view, nn):
    """Outputs, every cache field and every gradient; `view`: x as a non-contiguous view; `nn`:
    the twin gets the transposed weights `step_weights` adds (its NN products)."""
    ref, twin = CELLS[cell]
    x, state, p, dstate = step_inputs(cell, N, D, H, np.random.default_rng(seed), dtype)
    want, c_want = ref.step_forward(x, state, p)
    p_twin = step_weights(p) if nn else p
    got, c_got = twin.step_forward(strided(x) if view else x, state, p_twin)
    assert_same_results(flat(got), flat(want), dtype, f"{cell}.step_forward")
    assert_same_results(flat(c_got[:-1]), flat(c_want[:-1]), dtype, f"{cell}.step_forward cache")
    assert c_got.p is p_twin
    dstates = [dstate] + ([(dstate[0], None)] if cell == "lstm" else [])  # dc None: zeros
    for d in dstates:
        # on the twin's cache, the forward's compared above: from the reference's own, a
        # saturated tanh's 1 - h^2 turns h's last-bit difference into 3.6e-5 of the gradient
        want_b = ref.step_backward_data(d, c_got)
        assert_same_results(flat(twin.step_backward_data(d, c_got)), flat(want_b), dtype, cell)


@pytest.mark.parametrize("cell", CELLS)
def test_step_backward_data_refuses_wrong_upstream_gradients_as_the_reference(cell):
    """The compiled step checks no bounds, so a dh of the wrong shape or dtype must stop in the
    Python around it (not read past its end), with the reference's message."""
    ref, twin = CELLS[cell]
    x, state, p, dstate = step_inputs(cell, 2, 3, 4, np.random.default_rng(0), np.float64)
    _, cache = twin.step_forward(x, state, p)
    for wrong in wrong_step_grads(cell, dstate):
        with pytest.raises(ValueError) as want:
            ref.step_backward_data(wrong, cache)
        assert str(want.value).startswith(f"{cell}.step_backward_data: ")
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            twin.step_backward_data(wrong, cache)


def test_step_weights_are_the_transposes_and_refuse_stale_ones():
    """The transposed copies are C-contiguous W^T; a pair that no longer fits the weights (the
    weights replaced by another config's) is named, not read as a GEMM operand."""
    _, state, p, _ = step_inputs("lstm", 2, 3, 4, np.random.default_rng(0), np.float64)
    q = step_weights(p)
    for name in ("W_ih", "W_hh"):
        assert q[name] is p[name] and q[name + "^T"].flags.c_contiguous
        np.testing.assert_array_equal(q[name + "^T"], p[name].T)
    x = np.ones((2, 5))
    stale = {**q, "W_ih": np.ones((16, 5))}  # D = 5 now: W_ih^T is still (3, 16)
    with pytest.raises(ValueError, match=r"p\['W_ih\^T'\] has shape \(3, 16\).*step_weights"):
        CELLS["lstm"][1].step_forward(x, state, stale)


@pytest.mark.parametrize("cell", CELLS)
def test_decoder_training_pass_steps_with_transposed_weights_on_numba(cell):
    """On numba the decoder's forward pass hands every step the weights `step_weights` made once
    for the batch (the NN products); on numpy the reference step gets the parameters as they are."""
    from minis2s.models import decoder
    from minis2s.models.config import ModelConfig
    from minis2s.models.params import init_params

    cfg = ModelConfig(src_vocab=9, tgt_vocab=9, emb=3, hidden=4, cell=cell, dec_layers=2)
    p, r = init_params(cfg, 0, np.float64), np.random.default_rng(0)
    enc, tgt = r.standard_normal((2, 3, 8)), np.array([[1, 5, 6], [1, 7, 0]])  # He = 2H
    h0 = np.zeros((2, 4))
    states0 = [(h0, h0) if cell == "lstm" else h0] * 2
    for name, transposed in (("numpy", False), ("numba", True)):
        backend.use(name)
        try:
            *_, cache = decoder.forward(tgt, enc, np.ones((2, 3)), states0, p, cfg)
        finally:
            backend.use("numpy")
        layers = [step.cells[l].p for step in cache.steps for l in range(2)]
        assert all(("W_ih^T" in q) == transposed for q in layers), name
        assert all(q is layers[0] for q in layers[::2]), "one copy per batch, not per step"


# -- the whole model: every twin the numba backend has, where the model uses it ---------------


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("att", ATTENTIONS)
def test_model_matches_numpy_backend(cell, att, dtype):
    kw = dict(cell=cell, attention=att, input_feed=att != "none", dec_layers=2, enc_layers=2,
              bidirectional=att not in ("dot", "scaled_dot"))  # fmt: skip
    want = model_loss_and_grads(dtype, **kw)
    backend.use("numba")
    assert_same_model(model_loss_and_grads(dtype, **kw), want, dtype)


@DTYPES
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("att", ["general", "additive"])
def test_model_matches_numpy_backend_in_training(cell, att, dtype):
    """Dropout masks, scheduled sampling's fed-back tokens and label smoothing through the twins:
    the same draws from generators seeded alike, so the same loss and gradients."""
    kw = dict(cell=cell, attention=att, dec_layers=2, enc_layers=2, dropout=0.2)
    train = dict(sampling_eps=0.3, label_smoothing=0.1)
    want = model_loss_and_grads(dtype, **train, **kw)
    backend.use("numba")
    assert_same_model(model_loss_and_grads(dtype, **train, **kw), want, dtype)


def wrong_step_inputs(cell, x, state, p):
    """(x, state, p) triples that one step's forward must refuse: x of another shape or dtype, a
    state of another shape, a bias one entry short (a compiled step reads the biases unchecked)."""
    N, D = x.shape
    other = np.float32 if x.dtype == np.float64 else np.float64
    pack = (lambda h: (h, state[1])) if cell == "lstm" else (lambda h: h)
    h = state[0] if cell == "lstm" else state
    return [
        (x[:, :-1], state, p),
        (x[:-1], state, p),
        (x[:, None], state, p),
        (x.astype(other), state, p),
        (x, pack(h[:, :-1]), p),
        (x, pack(h.astype(other)), p),
        (x, state, {**p, "b_ih": p["b_ih"][:-1]}),
        (x, state, {k: v for k, v in p.items() if k != "b_hh"}),
    ]


@pytest.mark.parametrize("cell", CELLS)
def test_step_forward_refuses_wrong_inputs_as_the_reference(cell):
    """A learner calling a cell's step (or the decoder's twin of it) with a wrong x, state or
    bias gets the reference's message naming it, not a gemm error or a read past a short bias."""
    ref, twin = CELLS[cell]
    x, state, p, _ = step_inputs(cell, 2, 3, 4, np.random.default_rng(0), np.float64)
    for wrong in wrong_step_inputs(cell, x, state, p):
        with pytest.raises(ValueError) as want:
            ref.step_forward(*wrong)
        assert re.match(rf"{cell}\.step_forward: (x|h_prev|c_prev|p)\b", str(want.value))
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            twin.step_forward(*wrong)

"""Host (NumPy) arrays beside device (CuPy) ones, on the CPU stand-in for CuPy (fake_device).

CuPy's ufuncs take device arrays and scalars only: `device_array * numpy_array` is a TypeError
("Unsupported type <class 'numpy.ndarray'>"), never a silent copy to the device. The stand-in
refuses the same, so a CPU test sees what would fail on a GPU. A learner's mask is a NumPy array
(`make_batch` builds one): the layers take it beside device arrays and move it once, at their
entry, as `Seq2Seq.encode` moves its src_mask. A model whose parameters live on another backend
than the current one is refused with what to do, rather than failing deep inside a GEMM.
"""

import numpy as np
import pytest

from minis2s import backend
from minis2s.data.batching import make_batch
from minis2s.layers import attention, gru, lstm, rnn, stack
from minis2s.models import ModelConfig, Seq2Seq
from tests.fake_device import fake_cupy, on_fake_device

N, T, D, H = 3, 4, 2, 3
MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)  # host, padded


def test_the_stand_in_refuses_host_arrays_where_cupy_does():
    with on_fake_device() as xp:
        a, host = xp.ones((2, 3)), np.ones((2, 3))
        for call in (lambda: a * host, lambda: host + a, lambda: xp.where(a > 0, host, a),
                     lambda: xp.concatenate([a, host]), lambda: xp.stack([host, a])):  # fmt: skip
            with pytest.raises(TypeError, match="Unsupported type"):
                call()
        # scalars, NumPy's included, and device arrays pass
        assert float((a * 2.0 + np.float64(1.0) * a).sum()) == 18.0
        assert xp.concatenate([a, a]).shape == (4, 3)


def _on_device(tree):
    if isinstance(tree, np.ndarray):
        return fake_cupy.asarray(tree)
    if isinstance(tree, tuple):
        return tuple(_on_device(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _on_device(v) for k, v in tree.items()}
    return tree


@pytest.mark.parametrize("module", [rnn, lstm, gru], ids=lambda m: m.__name__.rsplit(".")[-1])
def test_a_cell_takes_a_host_mask_beside_device_arrays(module):
    r = np.random.default_rng(0)
    x, p = r.standard_normal((N, T, D)), module.init(D, H, r, np.float64)
    want = module.forward(x, None, p, mask=MASK)[0]
    with on_fake_device():
        ys, _, cache = module.forward(_on_device(x), None, _on_device(p), mask=MASK)
        module.backward(ys, None, cache)
    np.testing.assert_allclose(np.asarray(ys), want, rtol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_bidirectional_stack_takes_a_host_mask_beside_device_arrays(cell):
    r = np.random.default_rng(1)
    x, p = r.standard_normal((N, T, D)), stack.init(cell, D, H, 2, True, r, np.float64)
    want = stack.forward(x, None, p, mask=MASK, cell=cell)[0]
    with on_fake_device():
        ys, final, cache = stack.forward(_on_device(x), None, _on_device(p), mask=MASK, cell=cell)
        stack.backward(ys, None, cache)
    np.testing.assert_allclose(np.asarray(ys), want, rtol=1e-12)


def test_attention_takes_a_host_mask_beside_device_arrays():
    r = np.random.default_rng(2)
    q, enc = r.standard_normal((N, 2, H)), r.standard_normal((N, T, H))
    p = attention.init("general", H, H, r, dtype=np.float64)
    want = attention.forward(q, enc, p, mask=MASK)
    with on_fake_device():
        got = attention.forward(_on_device(q), _on_device(enc), _on_device(p), mask=MASK)
    for g, w in zip(got[:2], want[:2], strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12)


def _batch():
    return make_batch([([4, 5, 6], [4, 5]), ([5], [6])], [0, 1])


def test_a_model_built_on_one_backend_and_run_on_another_is_refused():
    cfg = ModelConfig(src_vocab=8, tgt_vocab=8, emb=3, hidden=3)
    host_model = Seq2Seq(cfg, dtype=np.float64, seed=0)
    with on_fake_device():
        device_model = Seq2Seq(cfg, dtype=np.float64, seed=0)
        with pytest.raises(ValueError, match="NumPy arrays.*backend is cupy"):
            host_model.loss_and_grads(_batch())
        with pytest.raises(ValueError, match="NumPy arrays.*backend is cupy"):
            host_model.encode(_batch().src, _batch().src_mask)
    backend.use("numpy")
    with pytest.raises(ValueError, match="cupy arrays.*backend is numpy"):
        device_model.loss_and_grads(_batch())


def test_a_device_mask_beside_host_data_is_refused_with_the_fix():
    r = np.random.default_rng(3)
    x, p = r.standard_normal((N, T, D)), lstm.init(D, H, r, np.float64)
    with on_fake_device():
        with pytest.raises(TypeError, match=r"mask is a CuPy .* NumPy arrays.*to_numpy\(mask\)"):
            lstm.forward(x, None, p, mask=fake_cupy.asarray(MASK))

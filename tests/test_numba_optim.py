"""The Numba twin of `minis2s.train.optim.adam_update` against the reference: called directly on
the same arrays, then through Adam and AdamW under a numba backend against the numpy one, five
steps in a row (t = 1..5) with and without weight decay; float64 within 1e-10 and float32 within
1e-5 (DESIGN.md), relative to the scale of each array (`rel_error`). Arrays the twin cannot take
(strided views, mixed dtypes) go to the reference and still update the caller's arrays."""

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import backend
from minis2s.kernels import numba_optim
from minis2s.train import optim
from tests.parity import DTYPES, assert_same
from tests.strategies import dims

STEPS = 5

# sizes past 64 too, so the loop's vector body and its scalar remainder both run
shapes = st.lists(st.one_of(dims, st.integers(5, 70)), min_size=1, max_size=3).map(tuple)
hypers = st.fixed_dictionaries(
    {
        "lr": st.sampled_from([1e-3, 0.1]),
        "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)]),
        "eps": st.sampled_from([1e-8, 1e-3]),
        "weight_decay": st.sampled_from([0.0, 0.1]),
    }
)


@contextmanager
def numba_backend():
    """The numba backend, numpy again on exit."""
    try:
        yield backend.use("numba")
    finally:
        backend.use("numpy")


def gradient(r, shape, dtype):
    """Standard normal, with about one entry in five zero (an embedding row no token used)."""
    return (r.standard_normal(shape) * (r.random(shape) < 0.8)).astype(dtype)


def test_adam_dispatches_to_the_twin():
    """Without this the parity tests below could compare the reference with itself."""
    p = {"a.W": np.ones((2, 3)), "a.b": np.ones(3)}
    calls = []
    with numba_backend() as be:
        twin = be.kernels["optim.adam_update"]
        assert twin is numba_optim.adam_update is not optim.adam_update
        assert hasattr(numba_optim.adam_update_flat, "py_func")  # compiled by Numba

        def spy(*args):
            calls.append(args[-1])  # t
            return twin(*args)

        be.kernels["optim.adam_update"] = spy  # this Backend's own dict, made by use()
        opt = optim.Adam(p)
        opt.step(p, {k: np.ones_like(a) for k, a in p.items()})
        opt.step(p, {k: np.ones_like(a) for k, a in p.items()})
    assert calls == [1, 1, 2, 2]  # one call per array per step
    assert backend.current().kernel("optim.adam_update", optim.adam_update) is optim.adam_update


@DTYPES
@given(shape=shapes, h=hypers, seed=st.integers(0, 2**16))
def test_twin_equals_reference(dtype, shape, h, seed):
    r = np.random.default_rng(seed)
    p = r.standard_normal(shape).astype(dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    twin = {"p": p.copy(), "m": m.copy(), "v": v.copy()}
    beta1, beta2 = h["betas"]
    for t in range(1, STEPS + 1):
        g = gradient(r, shape, dtype)
        g_before = g.copy()
        args = (h["lr"], beta1, beta2, h["eps"], h["weight_decay"], t)
        optim.adam_update(p, g, m, v, *args)
        numba_optim.adam_update(twin["p"], g, twin["m"], twin["v"], *args)
        np.testing.assert_array_equal(g, g_before)  # g is read only
        for name, want in (("p", p), ("m", m), ("v", v)):
            assert_same(twin[name], want, dtype, f"{name} at t={t}")


@DTYPES
@pytest.mark.parametrize("kind", [optim.Adam, optim.AdamW], ids=["Adam", "AdamW"])
@given(
    param_shapes=st.lists(shapes, min_size=1, max_size=3),
    h=hypers,
    seed=st.integers(0, 2**16),
)
def test_optimizers_under_numba_equal_numpy(kind, dtype, param_shapes, h, seed):
    r = np.random.default_rng(seed)
    params = {f"p{i}": r.standard_normal(s).astype(dtype) for i, s in enumerate(param_shapes)}
    grads_seq = [{k: gradient(r, a.shape, dtype) for k, a in params.items()} for _ in range(STEPS)]
    results = {}
    for name in ("numpy", "numba"):
        held = {k: a.copy() for k, a in params.items()}
        try:
            backend.use(name)
            opt = kind(held, **h)
            for grads in grads_seq:
                opt.step(held, grads)
        finally:
            backend.use("numpy")
        results[name] = {**held, **opt.state_dict()}
    assert results["numba"]["step"] == results["numpy"]["step"] == STEPS
    for k, want in results["numpy"].items():
        if isinstance(want, np.ndarray):
            assert_same(results["numba"][k], want, dtype, k)


@pytest.mark.parametrize("case", ["strided view", "float64 grad for float32 param"])
def test_arrays_the_twin_cannot_take_go_to_the_reference(case, rng):
    """A strided p is updated in place in its base array; a float64 g with float32 p, m, v is
    cast as NumPy casts it in the reference."""
    base = rng.standard_normal((4, 6))
    if case == "strided view":
        where, g = (slice(None), slice(1, 4)), rng.standard_normal((4, 3))  # no flat view
    else:
        base = base.astype(np.float32)
        where, g = (slice(None), slice(None)), rng.standard_normal((4, 6))
    before = base.copy()
    p = base[where]
    m, v = np.zeros_like(p), np.zeros_like(p)
    want = {"p": p.copy(), "m": m.copy(), "v": v.copy()}
    for t in range(1, STEPS + 1):
        numba_optim.adam_update(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0.1, t)
        optim.adam_update(want["p"], g, want["m"], want["v"], 0.1, 0.9, 0.999, 1e-8, 0.1, t)
    np.testing.assert_array_equal(base[where], want["p"])  # the caller's array was updated
    base[where] = before[where]
    np.testing.assert_array_equal(base, before)  # and nothing else in it
    for name, a in (("m", m), ("v", v)):
        np.testing.assert_array_equal(a, want[name], err_msg=name)

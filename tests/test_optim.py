"""Optimizers against an element-by-element re-implementation of torch.optim's equations,
exact resume from state_dict, in-place updates, input checks, and global-norm clipping."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.train import grad_norm, optim
from minis2s.train.grad_norm import clip_grad_norm, global_norm
from minis2s.train.optim import SGD, Adagrad, Adam, AdamW, make_optimizer
from tests.strategies import dims

# -- an independent reference: Python floats, one element at a time, textbook forms ----------


def reference_run(kind, hyper, params, grads_seq, lrs):
    """Final parameters after len(grads_seq) steps, each at its own lr, from the equations."""
    out = {}
    for name, p0 in params.items():
        flat = []
        for i, p in enumerate(p0.ravel().tolist()):
            gs = [float(g[name].ravel()[i]) for g in grads_seq]
            flat.append(_reference_element(kind, hyper, p, gs, lrs))
        out[name] = np.array(flat).reshape(p0.shape)
    return out


def _reference_element(kind, h, p, gs, lrs):
    wd = h.get("weight_decay", 0.0 if kind != "adamw" else 1e-2)
    m = v = b = 0.0
    s = h.get("initial_accumulator_value", 0.0)
    for t, (g, lr) in enumerate(zip(gs, lrs, strict=True), start=1):
        if kind == "adamw":
            p = p - lr * wd * p  # decoupled: the weights decay, the gradient does not
        else:
            g = g + wd * p  # L2 penalty wd/2 |p|^2 folded into the gradient
        if kind == "sgd":
            mu = h.get("momentum", 0.0)
            b = g if t == 1 else mu * b + g
            d = (g + mu * b if h.get("nesterov") else b) if mu else g
            p = p - lr * d
        elif kind in ("adam", "adamw"):
            beta1, beta2 = h.get("betas", (0.9, 0.999))
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            p = p - lr * m_hat / (math.sqrt(v_hat) + h.get("eps", 1e-8))
        else:
            s = s + g * g
            p = p - lr * g / (math.sqrt(s) + h.get("eps", 1e-10))
    return p


# -- strategies ------------------------------------------------------------------------------

hypers = st.one_of(
    st.tuples(
        st.just("sgd"),
        st.fixed_dictionaries(
            {
                "momentum": st.sampled_from([0.0, 0.5, 0.9]),
                "weight_decay": st.sampled_from([0, 0.1]),
            }
        ),
        st.booleans(),
    ).map(lambda c: (c[0], {**c[1], "nesterov": c[2] and c[1]["momentum"] > 0})),
    st.tuples(
        st.sampled_from(["adam", "adamw"]),
        st.fixed_dictionaries(
            {
                "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.0)]),
                "eps": st.sampled_from([1e-8, 1e-3]),
                "weight_decay": st.sampled_from([0.0, 0.1]),
            }
        ),
    ),
    st.tuples(
        st.just("adagrad"),
        st.fixed_dictionaries(
            {
                "eps": st.sampled_from([1e-10, 1e-3]),
                "initial_accumulator_value": st.sampled_from([0.0, 0.1]),
                "weight_decay": st.sampled_from([0.0, 0.1]),
            }
        ),
    ),
)


@st.composite
def training_case(draw):
    """(params, grads per step, lr per step): shapes with size-1 dims, some zero gradients."""
    names = ["enc.l0.fwd.W_ih", "enc.l0.fwd.b_ih", "dec.out.W"][: draw(st.integers(1, 3))]
    shapes = [tuple(draw(st.lists(dims, min_size=1, max_size=3))) for _ in names]
    steps = draw(st.integers(1, 4))
    r = np.random.default_rng(draw(st.integers(0, 2**16)))
    params = {k: r.standard_normal(s) for k, s in zip(names, shapes, strict=True)}
    # a zeroed entry stands for an embedding row no token in the batch used
    grads_seq = [
        {k: r.standard_normal(p.shape) * (r.random(p.shape) < 0.8) for k, p in params.items()}
        for _ in range(steps)
    ]
    lrs = [draw(st.sampled_from([1e-3, 0.1, 0.5])) for _ in range(steps)]
    return params, grads_seq, lrs


def run(opt, params, grads_seq, lrs):
    for g, lr in zip(grads_seq, lrs, strict=True):
        opt.lr = lr
        opt.step(params, g)


# -- the update equations --------------------------------------------------------------------


@given(hypers, training_case())
def test_updates_follow_the_equations(hyper, case):
    kind, h = hyper
    params, grads_seq, lrs = case
    want = reference_run(kind, h, params, grads_seq, lrs)
    opt = make_optimizer(kind, params, lr=lrs[0], **h)
    run(opt, params, grads_seq, lrs)
    assert opt.t == len(grads_seq)
    for k in params:
        np.testing.assert_allclose(params[k], want[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_default_hyperparameters_follow_the_equations(rng):
    params = {"w": rng.standard_normal((3, 2))}
    grads_seq = [{"w": rng.standard_normal((3, 2))} for _ in range(3)]
    for kind in ("adam", "adamw", "adagrad"):
        p = {"w": params["w"].copy()}
        want = reference_run(kind, {}, p, grads_seq, [0.01] * 3)
        run(make_optimizer(kind, p, lr=0.01), p, grads_seq, [0.01] * 3)
        np.testing.assert_allclose(p["w"], want["w"], rtol=1e-12, err_msg=kind)


def test_first_adam_step_moves_each_weight_by_lr_against_the_gradient_sign():
    """By hand: m_hat = g and v_hat = g^2 at t = 1, so the step is lr * g / (|g| + eps)."""
    p = {"w": np.array([1.0, 1.0, 1.0, 1.0])}
    Adam(p, lr=0.1, eps=1e-300).step(p, {"w": np.array([3.0, -0.5, 1e-3, -2.0])})  # |g| + eps = |g|
    np.testing.assert_allclose(p["w"], [0.9, 1.1, 0.9, 1.1], rtol=0, atol=1e-15)


def test_sgd_by_hand():
    p = {"w": np.array([1.0, -2.0])}
    opt = SGD(p, lr=0.5, momentum=0.9, weight_decay=0.1)
    opt.step(p, {"w": np.array([1.0, 1.0])})  # g = [1.1, 0.8]; b = g
    np.testing.assert_allclose(p["w"], [0.45, -2.4], rtol=0, atol=1e-15)
    opt.step(p, {"w": np.array([0.0, 0.0])})  # g = [0.045, -0.24]; b = 0.9 b + g
    np.testing.assert_allclose(p["w"], [0.45 - 0.5 * 1.035, -2.4 - 0.5 * 0.48], atol=1e-15)


# -- in place, dtype, state ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw", "adagrad"])
def test_updates_in_place_and_keep_float32(kind, rng):
    params = {"a.W": rng.standard_normal((4, 3)).astype(np.float32)}
    held = params["a.W"]  # what the model holds
    before = held.copy()
    opt = make_optimizer(kind, params, lr=0.1, **({"momentum": 0.9} if kind == "sgd" else {}))
    opt.step(params, {"a.W": rng.standard_normal((4, 3)).astype(np.float32)})
    assert params["a.W"] is held and held.dtype == np.float32
    assert not np.array_equal(held, before)
    assert all(v.dtype == np.float32 for k, v in opt.state_dict().items() if "/" in k)


@given(hypers, training_case())
def test_resume_from_state_dict_is_exact(hyper, case):
    kind, h = hyper
    params, grads_seq, lrs = case
    grads_seq, lrs = grads_seq * 2, lrs * 2
    half = len(grads_seq) // 2
    straight = {k: v.copy() for k, v in params.items()}
    run(make_optimizer(kind, straight, lr=1.0, **h), straight, grads_seq, lrs)

    first = make_optimizer(kind, params, lr=1.0, **h)
    run(first, params, grads_seq[:half], lrs[:half])
    saved, saved_params = first.state_dict(), {k: v.copy() for k, v in params.items()}
    run(first, params, grads_seq[half:], lrs[half:])  # must not change `saved`

    second = make_optimizer(kind, saved_params, lr=123.0, **h)
    second.load_state_dict(saved)
    assert second.lr == lrs[half - 1] and second.t == half
    run(second, saved_params, grads_seq[half:], lrs[half:])
    for k in params:
        np.testing.assert_array_equal(saved_params[k], straight[k])


def test_state_dict_keys_are_prefixed_and_host_numpy(rng):
    p = {"enc.W": rng.standard_normal((2, 2)), "enc.b": rng.standard_normal(2)}
    d = Adam(p).state_dict()
    assert set(d) == {"step", "lr"} | {f"{s}/{k}" for s in ("exp_avg", "exp_avg_sq") for k in p}
    assert isinstance(d["step"], int) and isinstance(d["lr"], float)
    assert set(SGD(p, lr=0.1).state_dict()) == {"step", "lr"}  # no momentum, no buffer


def test_load_state_dict_rejects_other_parameters(rng):
    p = {"w": rng.standard_normal((2, 3))}
    d = Adam(p).state_dict()
    with pytest.raises(ValueError, match="missing keys"):
        Adam({"v": rng.standard_normal((2, 3))}).load_state_dict(d)
    d["exp_avg/w"] = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"exp_avg/w has shape \(3, 2\), expected \(2, 3\)"):
        Adam(p).load_state_dict(d)


# -- input checks ----------------------------------------------------------------------------


def test_step_checks_grads_name_the_key(rng):
    p = {"enc.W": rng.standard_normal((2, 3)), "dec.b": rng.standard_normal(4)}
    opt = Adam(p)
    with pytest.raises(ValueError, match="grads has no entry for 'dec.b'"):
        opt.step(p, {"enc.W": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="grads has key 'extra'"):
        opt.step(p, {"enc.W": np.zeros((2, 3)), "dec.b": np.zeros(4), "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"grads\['enc.W'\] has shape \(3, 2\), expected \(2, 3\)"):
        opt.step(p, {"enc.W": np.zeros((3, 2)), "dec.b": np.zeros(4)})
    with pytest.raises(ValueError, match="params has no entry for 'enc.W'"):
        opt.step({"dec.b": p["dec.b"]}, {"dec.b": np.zeros(4)})
    assert opt.t == 0


def test_bad_hyperparameters_name_the_argument(rng):
    p = {"w": rng.standard_normal(3)}
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        Adam(p, lr=-1.0)
    with pytest.raises(ValueError, match="betas must be two numbers in"):
        AdamW(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        Adagrad(p, initial_accumulator_value=-1)
    for kind in (Adam, AdamW, Adagrad):
        with pytest.raises(ValueError, match=f"{kind.__name__}: eps must be > 0; got 0, which"):
            kind(p, eps=0.0)
        with pytest.raises(ValueError, match="eps must be a finite number > 0; got -1e-08"):
            kind(p, eps=-1e-8)


@pytest.mark.parametrize("kind", [Adam, AdamW, Adagrad])
def test_a_parameter_whose_gradient_has_been_zero_does_not_move(kind):
    """The embedding's pad row gets no gradient: v (or Adagrad's sum) stays 0, and the step is
    0 / (0 + eps) = 0, not 0 / 0 (hence eps > 0)."""
    p = {"W": np.array([[0.0, 0.0], [1.0, -1.0]])}
    opt = kind(p, lr=0.1, weight_decay=0.0)
    for _ in range(3):
        opt.step(p, {"W": np.array([[0.0, 0.0], [0.5, 0.25]])})
    np.testing.assert_array_equal(p["W"][0], 0.0)
    assert np.isfinite(p["W"]).all()
    with pytest.raises(ValueError, match="params is empty"):
        Adam({})


def test_make_optimizer_lists_names_when_unknown(rng):
    p = {"w": rng.standard_normal(3)}
    assert isinstance(make_optimizer("AdamW", p), AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; choose one of sgd, adam"):
        make_optimizer("rmsprop", p)


# -- gradient clipping -----------------------------------------------------------------------


@given(st.lists(st.lists(dims, min_size=1, max_size=3), min_size=1, max_size=3), st.integers())
def test_clip_grad_norm_scales_to_max_norm(shapes, seed):
    r = np.random.default_rng(seed % 2**32)
    grads = {f"g{i}": r.standard_normal(s) for i, s in enumerate(shapes)}
    flat = np.concatenate([g.ravel() for g in grads.values()])
    total = np.sqrt(np.sum(flat**2))
    before = {k: g.copy() for k, g in grads.items()}
    max_norm = total / 2
    assert clip_grad_norm(grads, max_norm) == pytest.approx(total, rel=1e-12)
    for k, g in grads.items():  # every array by the same factor, down to max_norm
        np.testing.assert_allclose(g, before[k] * max_norm / (total + 1e-6), rtol=1e-12)
    after = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert after == pytest.approx(max_norm, rel=1e-5) and after <= max_norm


def test_clip_grad_norm_below_max_leaves_grads_alone():
    grads = {"a": np.array([3.0]), "b": np.array([[4.0]])}  # norm 5 by hand
    assert clip_grad_norm(grads, 5.0) == 5.0
    assert grads["a"][0] == 3.0 and grads["b"][0, 0] == 4.0


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_clip_grad_norm_non_finite_is_returned_and_grads_untouched(bad):
    grads = {"a": np.array([300.0, bad]), "b": np.array([1.0])}
    norm = clip_grad_norm(grads, 1.0)
    assert not math.isfinite(norm) and (math.isnan(norm) == math.isnan(bad))
    assert grads["a"][0] == 300.0 and grads["b"][0] == 1.0


def test_clip_grad_norm_float32_sum_does_not_overflow():
    """sum(g^2) = 4e40 overflows float32 (max 3.4e38); the norm 2e20 does not."""
    grads = {"a": np.full(4, 1e20, dtype=np.float32)}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(2e20, rel=1e-6)
    np.testing.assert_allclose(grads["a"], 0.5, rtol=1e-6)
    assert grads["a"].dtype == np.float32
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_grad_norm(grads, 0.0)


def test_global_norm_is_the_norm_without_clipping():
    """What the trainer logs with clip 0: the same float64 sum, the gradients left as they are."""
    grads = {"a": np.full(4, 1e20, dtype=np.float32), "b": np.array([[3e20]], dtype=np.float32)}
    assert global_norm(grads) == pytest.approx(np.sqrt(4e40 + 9e40), rel=1e-6)  # float32: inf
    assert grads["a"][0] == np.float32(1e20) and grads["b"][0, 0] == np.float32(3e20)
    with pytest.raises(ValueError, match="grads is empty"):
        global_norm({})


# -- against torch.optim, when torch is installed --------------------------------------------

TORCH_CASES = [
    ("sgd", "SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", "SGD", {"momentum": 0.5}),
    ("adam", "Adam", {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adamw", "AdamW", {"betas": (0.9, 0.999), "weight_decay": 0.05}),
    ("adagrad", "Adagrad", {"initial_accumulator_value": 0.1, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("kind,torch_name,h", TORCH_CASES)
def test_matches_torch_optim(kind, torch_name, h, rng):
    torch = pytest.importorskip("torch")
    w0 = rng.standard_normal((3, 4))
    grads_seq = [rng.standard_normal((3, 4)) for _ in range(5)]
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = getattr(torch.optim, torch_name)([tw], lr=0.05, **h)
    p = {"w": w0.copy()}
    opt = make_optimizer(kind, p, lr=0.05, **h)
    for g in grads_seq:
        tw.grad = torch.tensor(g)
        topt.step()
        opt.step(p, {"w": g})
    np.testing.assert_allclose(p["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_the_norm_functions_are_importable_from_optim_as_before():
    """They moved to grad_norm.py; code that imports them from optim goes on working."""
    assert optim.clip_grad_norm is grad_norm.clip_grad_norm
    assert optim.global_norm is grad_norm.global_norm

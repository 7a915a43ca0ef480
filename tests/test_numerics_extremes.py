"""Extreme but legal values, where each of these used to give NaN, a silent wrong answer or a
frozen weight: an optimizer's eps or accumulator outside the parameters' dtype, an AdamW decay
factor <= 0, a --clip beyond what the dtype can square, a training loss past float64's
perplexity. Then guards that agreed when first run: the Numba twins' float32 tanh, sigmoid and
loss at the ends of float32, and sampling at a temperature near 0. Each test names what it
guards against."""

import numpy as np
import pytest

from minis2s import backend
from minis2s.decode.sample import _draw
from minis2s.kernels import numba_loss
from minis2s.train.divergence import NonFiniteLoss, check_update
from minis2s.train.optim import Adagrad, Adam, AdamW
from tests.fast_math_calls import apply, sigmoid, tanh


@pytest.mark.parametrize("name", ["numpy", "numba"])
@pytest.mark.parametrize("kind", [Adam, AdamW, Adagrad])
def test_an_eps_below_float32s_range_is_refused_not_turned_into_nan(kind, name):
    """eps = 1e-46 is > 0 but rounds to 0 in float32, so the pad row's step was 0 / (0 + 0) = NaN
    on both backends; it is refused at construction, naming the dtype and the least eps."""
    p = {"W": np.ones((2, 2), np.float32)}
    with pytest.raises(ValueError, match=r"eps=1e-46 is below float32's smallest normal number"):
        kind(p, eps=1e-46)
    kind({"W": np.ones((2, 2))}, eps=1e-46)  # float64 holds it: accepted
    backend.use(name)
    try:  # the least eps accepted keeps a parameter with a zero gradient where it is
        opt = kind(p, lr=0.1, eps=float(np.finfo(np.float32).tiny), weight_decay=0.0)
        opt.step(p, {"W": np.zeros((2, 2), np.float32)})
    finally:
        backend.use("numpy")
    np.testing.assert_array_equal(p["W"], 1.0)


def test_a_clip_above_what_float32_can_square_does_not_freeze_weights_silently():
    """--clip 1e30 lets a gradient of norm 1e25 through unclipped; in float32 Adam's g * g is
    inf, v stays inf for good and the weight never moves again, with a finite loss and norm.
    check_update refused such a norm only with clipping off; it refuses the clipped norm."""
    with pytest.raises(NonFiniteLoss, match=r"gradient norm 1e\+25.*--clip below 1.84e\+19"):
        check_update(7, 1.0, 1e25, 1e30, np.float32, lambda: "last/ is step 6")
    check_update(7, 1.0, 1e25, 1.0, np.float32, lambda: "")  # clipped to 1: fine
    check_update(7, 1.0, 1e25, 1e30, np.float64, lambda: "")  # float64 squares 1e25
    # what the check prevents: the weight frozen by the overflow
    p, g = {"w": np.ones(1, np.float32)}, {"w": np.full(1, 1e25, np.float32)}
    opt = Adam(p, lr=0.1)
    with np.errstate(over="ignore"):
        opt.step(p, g)
    assert p["w"][0] == 1.0 and np.isinf(opt.state["exp_avg_sq"]["w"][0])


def test_an_adagrad_accumulator_beyond_float32s_range_is_refused_not_a_frozen_weight():
    """initial_accumulator_value = 1e39 is finite, but inf in float32: every step was
    g / (inf + eps) = 0, a weight that never moved, with a finite loss. Refused, naming the
    dtype's largest number; float64 holds it."""
    p = {"W": np.ones(3, np.float32)}
    with pytest.raises(ValueError, match=r"initial_accumulator_value=1e\+39 is beyond float32"):
        Adagrad(p, initial_accumulator_value=1e39)
    Adagrad({"W": np.ones(3)}, initial_accumulator_value=1e39)


# -- the Numba twins at the ends of float32 (guards: these agreed when first run) ----------------

ENDS = np.array(
    [88, 89, 1e4, 3e38, np.inf, 1e-45, 1e-39, 0.0, np.finfo(np.float32).tiny], np.float32
)
ENDS = np.concatenate([ENDS, -ENDS, [np.nan]]).astype(np.float32)


def test_float32_tanh_and_sigmoid_agree_with_numpy_at_the_ends():
    """+-88, +-89, +-1e4, +-3e38, +-inf, denormals, -0.0 and NaN: the rational tanh clamps its
    argument, so a change that lost NaN or the sign of -0.0 there, or gave NaN for inf (inf / inf
    in the quotient), would pass the dense grid of test_numba_parity and fail here."""
    t, s = apply(tanh, ENDS), apply(sigmoid, ENDS)
    want_t, want_s = np.tanh(ENDS), 0.5 * (1.0 + np.tanh(0.5 * ENDS))
    np.testing.assert_array_equal(np.isnan(t), np.isnan(want_t))
    np.testing.assert_array_equal(np.signbit(t), np.signbit(want_t))  # -0.0 stays -0.0
    np.testing.assert_allclose(t, want_t, rtol=0, atol=4e-7)  # NaN compares equal here
    np.testing.assert_allclose(s, want_s, rtol=0, atol=4e-7)
    assert np.array_equal(t[np.abs(ENDS) >= 88], np.sign(ENDS[np.abs(ENDS) >= 88]))


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_loss_twins_agree_with_the_reference_on_logits_at_float32s_ends(eps):
    """Rows spread over all of float32 (3e38 against -3e38: the shift overflows to -inf, the
    log-probability of the low ones, and exp of it is 0), rows of one huge value, and an ignored
    row of NaN: the numba twins give the reference's -inf where it does, the same finite values
    elsewhere (DESIGN.md's 1e-5), and a finite gradient, 0 on the ignored row."""
    big = np.float32(3e38)
    logits = np.zeros((5, 19), np.float32)
    logits[0, ::2], logits[0, 1::2] = big, -big
    logits[1, :], logits[1, 3] = -big, big
    logits[2, :] = big  # equal: uniform
    logits[3, :] = np.linspace(-1e4, 1e4, 19)
    logits[4, :] = np.nan  # ignored below
    targets = np.array([0, 3, 5, 18, 0])
    with np.errstate(over="ignore", invalid="ignore"):
        want = numba_loss.loss.log_softmax(logits)
        got = numba_loss.log_softmax(logits)
    ok = np.isfinite(want[:4])
    np.testing.assert_array_equal(np.isfinite(got[:4]), ok)
    np.testing.assert_array_equal(got[:4][~ok], want[:4][~ok])  # -inf where the reference has
    np.testing.assert_allclose(got[:4][ok], want[:4][ok], rtol=1e-5, atol=1e-5)
    keep = np.array([[1], [1], [1], [1], [0]], np.float32)
    dz = numba_loss.softmax_minus_target(got, targets, keep, eps, 0.25)
    dz_ref = numba_loss.loss.softmax_minus_target(want, targets, keep, eps, 0.25)
    assert np.isfinite(dz).all() and not dz[4].any()
    np.testing.assert_allclose(dz, dz_ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("lr,weight_decay", [(0.5, 2.0), (1.0, 1.5), (1e-3, 1e4)])
def test_adamw_refuses_a_decay_factor_that_zeroes_or_flips_the_weights(lr, weight_decay):
    """AdamW multiplies every weight by 1 - lr * weight_decay before its step: at lr *
    weight_decay >= 1 that zeroes the weights or flips their sign at every update, a model
    that trains on with a finite loss and learns nothing. Checked at each step (a schedule
    changes lr between steps, and a resume builds the optimizer with any lr before
    load_state_dict sets it), naming the product and what to lower."""
    p = {"w": np.ones(3, np.float32)}
    opt = AdamW(p, lr=lr, weight_decay=weight_decay)
    with pytest.raises(ValueError, match=r"AdamW: lr \* weight_decay = .* >= 1 would"):
        opt.step(p, {"w": np.ones(3, np.float32)})
    np.testing.assert_array_equal(p["w"], 1.0)  # refused before any weight moved
    opt.lr = 0.999 / weight_decay  # a schedule lowering lr: the next step is made
    opt.step(p, {"w": np.ones(3, np.float32)})
    assert np.all(p["w"] < 0.01)


def test_a_training_loss_past_float64s_perplexity_stops_the_update():
    """SGD at --lr 1e30 on `copy` (--clip 0): losses 3.4, 4.7e28, 7.8e29, 1.2e30, 1.4e30 nats a
    token with gradient norms under 3 (every unit saturated), all finite, so every update was
    made and max_steps saved the diverged model to last/. A mean loss past 709.78 nats (a
    perplexity past float64; uniform over V is log V) now stops the update, as it stops a dev
    evaluation (check_dev)."""
    with pytest.raises(NonFiniteLoss, match=r"step 1: loss 4.66e\+28 nats a token.*diverged"):
        check_update(1, 4.66e28, 2.55, 0.0, np.float32, lambda: "no checkpoint was written yet")
    check_update(1, 709.0, 2.55, 0.0, np.float32, lambda: "")  # large, but a perplexity


def test_a_near_zero_temperature_draws_among_exact_ties_where_top_k_1_is_greedy():
    """p^(1/T) as T -> 0 is uniform over the most probable tokens: a float32 model gave two
    tokens exactly equal log-probabilities (-2.19722033) at a step, and --temperature 1e-8 drew
    either where greedy takes the lower id. Nothing else is ever drawn, nothing is NaN, and
    --top-k 1 is greedy (README's sampling paragraph says which to use)."""
    logp = np.log(np.full((1, 9), 1.0 / 9))
    logp[0, [5, 7]] = -2.19722033  # the tie, a little above the rest
    drawn = {int(_draw(logp, 1e-8, 0, np.random.default_rng(s))[0]) for s in range(40)}
    assert drawn == {5, 7}
    for T in (1e-8, 1e-300, 1.0, 1e6):
        assert int(_draw(logp, T, 1, np.random.default_rng(0))[0]) == 5


@pytest.mark.parametrize("schedule", ["constant", "warmup", "plateau", "exponential"])
def test_adamw_decay_factor_is_refused_before_training(tmp_path, capsys, schedule):
    """Every schedule's rate is at most --lr (warmup's peak is --lr), so an AdamW run whose
    lr * weight_decay reaches 1 is refused before it starts: the per-step check alone let a
    warmup run train to the step where the rate got there and stop with nothing saved."""
    from minis2s.cli import main
    from minis2s.train.config import TrainConfig

    with pytest.raises(ValueError, match=r"lr \* weight_decay = 1.5 \* 1 = 1.5 >= 1"):
        TrainConfig(optimizer="adamw", lr=1.5, weight_decay=1.0, lr_schedule=schedule)
    TrainConfig(optimizer="adamw", lr=1.5, weight_decay=0.6, lr_schedule=schedule)  # 0.9 < 1
    with pytest.raises(ValueError, match=r"lr \* weight_decay = 1.5 \* 1 = 1.5 >= 1"):  # L2 too
        TrainConfig(optimizer="adam", lr=1.5, weight_decay=1.0, lr_schedule=schedule)
    out = tmp_path / "run"
    argv = ["train", "--task", "copy", "--optimizer", "adamw", "--lr", "1.5", "--weight-decay",
            "1", "--lr-schedule", "warmup", "--warmup-steps", "20", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert "--lr x --weight-decay" in capsys.readouterr().err and not out.exists()

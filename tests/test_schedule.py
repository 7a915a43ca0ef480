"""Learning-rate schedules, plateau reduction, early stopping and scheduled sampling:
hand-computed values, the published formulas, properties, and exact resume through JSON."""

import json
import math
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s.train.schedule import (
    Constant,
    EarlyStopping,
    Exponential,
    ReduceOnPlateau,
    Warmup,
    make_lr_schedule,
    sampling_probability,
)

steps = st.integers(0, 10**6)


def json_round_trip(d):
    return json.loads(json.dumps(d))


# -- step-driven schedules -------------------------------------------------------------------


def test_constant_and_exponential_by_hand():
    assert Constant(0.3).lr(0) == Constant(0.3).lr(10**9) == 0.3
    sched = Exponential(1.0, gamma=0.5, min_lr=0.1)
    assert [sched.lr(i) for i in range(5)] == [1.0, 0.5, 0.25, 0.125, 0.1]
    assert Exponential(1.0, gamma=0.5).lr(10**7) == 0.0  # underflows quietly, no error


def test_warmup_inverse_sqrt_by_hand():
    sched = Warmup(1.0, warmup_steps=4)
    assert [sched.lr(i) for i in (0, 1, 3, 15, 63)] == [0.25, 0.5, 1.0, 0.5, 0.25]
    flat = Warmup(2.0, warmup_steps=4, decay="constant")
    assert [flat.lr(i) for i in (0, 3, 4, 1000)] == [0.5, 2.0, 2.0, 2.0]


@given(st.integers(1, 5000), steps)
def test_warmup_is_the_transformer_formula_rescaled_to_peak_lr(warmup, step):
    """Vaswani et al.: d^-0.5 min(s^-0.5, s w^-1.5), which peaks at d^-0.5 w^-0.5 (s = w)."""
    s = step + 1
    paper = min(s**-0.5, s * warmup**-1.5)
    peak = warmup**-0.5
    assert Warmup(3e-4, warmup).lr(step) == pytest.approx(3e-4 * paper / peak, rel=1e-12)


@given(st.integers(1, 100), st.integers(0, 300))
def test_warmup_rises_then_falls(warmup, step):
    sched = Warmup(1.0, warmup)
    if step + 1 < warmup:
        assert sched.lr(step) < sched.lr(step + 1)
    else:
        assert sched.lr(step) >= sched.lr(step + 1)
    assert 0 < sched.lr(step) <= 1.0


def test_bad_schedule_options_name_the_argument():
    with pytest.raises(ValueError, match="gamma must be in"):
        Exponential(1.0, gamma=1.5)
    with pytest.raises(ValueError, match="warmup_steps must be an integer >= 1"):
        Warmup(1.0, warmup_steps=0)
    with pytest.raises(ValueError, match="decay must be one of inverse_sqrt, constant"):
        Warmup(1.0, 10, decay="cosine")
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        Warmup(1.0, 10).lr(-1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        Constant(float("nan"))
    with pytest.raises(ValueError, match="unknown lr schedule 'cosine'; choose one of constant"):
        make_lr_schedule("cosine", lr=1.0)
    assert isinstance(make_lr_schedule("plateau", lr=1.0, factor=0.5), ReduceOnPlateau)


# -- ReduceOnPlateau -------------------------------------------------------------------------


def test_plateau_by_hand():
    sched = ReduceOnPlateau(1.0, factor=0.5, patience=1, min_lr=0.2)
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99]
    lrs = [sched.step(m) for m in metrics]
    # 0.95, 0.96: two bad in a row (> patience) -> halve; 0.97 bad 1; 0.5 best; 0.6, 0.7 -> 0.25
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]
    assert sched.best == 0.5 and sched.lr(12345) == 0.2


def test_plateau_threshold_and_signs():
    sched = ReduceOnPlateau(1.0, factor=0.5, patience=0, threshold=1e-4)
    sched.step(1.0)
    assert sched.step(0.99995) == 0.5  # within the relative threshold: not an improvement
    up = ReduceOnPlateau(1.0, factor=0.5, patience=0, mode="max", threshold=1e-4)
    up.step(-2.0)
    assert up.step(-2.0001) == 0.5  # worse, even though best * (1 + threshold) = -2.0002
    assert up.step(-1.0) == 0.5 and up.best == -1.0
    assert up.step(float("nan")) == 0.25  # NaN never improves


@pytest.mark.parametrize(
    "mode, first, then", [("min", math.inf, [10.0, 5.0, 2.0]), ("max", -math.inf, [1.0, 2.0, 3.0])]
)
def test_plateau_improves_on_an_infinite_first_metric(mode, first, then):
    """inf - threshold * |inf| is NaN: every later metric compared False, and the lr decayed
    through steady improvement."""
    sched = ReduceOnPlateau(1.0, factor=0.5, patience=0, mode=mode)
    sched.step(first)
    assert [sched.step(m) for m in then] == [1.0, 1.0, 1.0] and sched.best == then[-1]


@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=30), st.integers(0, 3))
def test_plateau_matches_torch(metrics, patience):
    torch = pytest.importorskip("torch")
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1.0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=patience)
    ours = ReduceOnPlateau(1.0, factor=0.5, patience=patience)
    for m in metrics:
        theirs.step(m)
        assert ours.step(m) == opt.param_groups[0]["lr"]


figure = st.sampled_from([0.0, 1.0, 2.5]) | st.floats(-5, 5) | st.just(float("nan"))


@given(st.lists(st.tuples(figure, figure | st.none()), min_size=2, max_size=20), st.data())
def test_plateau_and_early_stopping_resume_exactly_through_json(evaluations, data):
    """(metric, tiebreak) pairs, with repeated metrics so that tiebreaks decide."""
    cut = data.draw(st.integers(1, len(evaluations) - 1))
    mode = data.draw(st.sampled_from(["min", "max"]))
    a, b = ReduceOnPlateau(1.0, 0.5, 1, mode), ReduceOnPlateau(1.0, 0.5, 1, mode)
    s, t = EarlyStopping(2, mode), EarlyStopping(2, mode)
    for m, tb in evaluations[:cut]:
        a.step(m, tb), s.should_stop(m, tb)
    b.load_state_dict(json_round_trip(a.state_dict()))
    t.load_state_dict(json_round_trip(s.state_dict()))
    for m, tb in evaluations[cut:]:
        assert a.step(m, tb) == b.step(m, tb)
        assert s.should_stop(m, tb) == t.should_stop(m, tb) and s.improved == t.improved
    assert a.state_dict() == b.state_dict() and s.state_dict() == t.state_dict()


@pytest.mark.parametrize("make", [lambda: ReduceOnPlateau(1.0, 0.5, 10, "max"),
                                  lambda: EarlyStopping(1, "max")])  # fmt: skip
def test_an_equal_metric_at_a_lower_tiebreak_improves(make):
    """Exact match 0, 0, 0 with the dev loss falling is progress; 1.0, 1.0 with it rising is
    not; without a tiebreak an equal metric never improves (torch's rule)."""
    tracker = make()
    step = tracker.step if isinstance(tracker, ReduceOnPlateau) else tracker.should_stop
    for loss in (2.0, 1.5, 1.2):
        step(0.0, loss)
        assert tracker.bad_steps == 0 and tracker.best_tiebreak == loss
    step(0.5, 1.3)  # a better metric improves whatever its loss, and its loss is the bar
    assert (tracker.best, tracker.best_tiebreak, tracker.bad_steps) == (0.5, 1.3, 0)
    step(0.5, 1.4)
    assert tracker.bad_steps == 1
    step(0.5, float("nan"))  # a NaN tiebreak is none: no better
    assert tracker.bad_steps == 2
    step(0.5, 1.0)
    assert tracker.bad_steps == 0 and tracker.best_tiebreak == 1.0
    step(0.5, 1.0)  # an equal tiebreak is no better: lower means strictly lower
    assert tracker.bad_steps == 1
    step(0.5)  # no tiebreak: an equal metric is no better
    assert tracker.bad_steps == 2


def test_the_plateau_tiebreak_needs_the_relative_threshold():
    sched = ReduceOnPlateau(1.0, factor=0.5, patience=0, mode="max", threshold=1e-2)
    sched.step(1.0, 1.0)
    assert sched.step(1.0, 0.995) == 0.5  # 0.5% lower: within the 1% threshold
    assert sched.step(1.0, 0.98) == 0.5 and sched.best_tiebreak == 0.98


def test_a_state_saved_before_tiebreaks_loads():
    """Checkpoints written before best_tiebreak existed resume, with no tiebreak to beat."""
    old = EarlyStopping(2, "max")
    old.should_stop(1.0, 0.3)
    saved = old.state_dict()
    del saved["best_tiebreak"]
    resumed = EarlyStopping(2, "max")
    resumed.load_state_dict(saved)
    assert resumed.best_tiebreak is None
    assert resumed.should_stop(1.0, 0.1) is False and resumed.bad_steps == 1
    assert resumed.should_stop(1.01, 0.2) is False and resumed.best_tiebreak == 0.2


def test_load_state_dict_rejects_other_keys():
    with pytest.raises(ValueError, match="expected keys"):
        ReduceOnPlateau(1.0).load_state_dict({"best": 1.0})


# -- EarlyStopping ---------------------------------------------------------------------------


def test_early_stopping_by_hand():
    stop = EarlyStopping(patience=2)
    answers = [(stop.should_stop(m), stop.improved) for m in [3.0, 2.0, 2.5, 1.9, 2.0, 2.1]]
    assert answers == [
        (False, True),
        (False, True),
        (False, False),
        (False, True),
        (False, False),
        (True, False),
    ]
    assert stop.best == 1.9
    acc = EarlyStopping(patience=1, mode="max", min_delta=0.01)
    assert [acc.should_stop(m) for m in [0.5, 0.6]] == [False, False]
    assert acc.should_stop(0.605) is True and acc.best == 0.6  # +0.005 < min_delta
    loss = EarlyStopping(patience=1, mode="min", min_delta=0.01)
    assert loss.should_stop(1.0) is False
    assert loss.should_stop(0.995) is True and loss.best == 1.0  # -0.005: short of min_delta
    first_nan = EarlyStopping(patience=3)
    first_nan.should_stop(float("nan"))
    assert first_nan.best is None and not first_nan.improved  # NaN is never a best
    assert first_nan.should_stop(5.0) is False and first_nan.best == 5.0
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        EarlyStopping(3, mode="up")


# -- scheduled sampling ----------------------------------------------------------------------


def test_sampling_probability_by_hand():
    assert sampling_probability("constant", 99, eps=0.25) == 0.25
    lin = dict(eps_start=0.0, eps_end=0.8, n=10)
    got = [sampling_probability("linear", i, **lin) for i in (0, 5, 10, 50)]
    assert got == [0.0, 0.4, 0.8, 0.8]
    assert sampling_probability("exponential", 2, k=0.9) == pytest.approx(0.19, abs=1e-15)
    assert sampling_probability("inverse_sigmoid", 0, k=1.0) == 0.5


@given(st.integers(0, 700), st.floats(1.0, 1000.0))
def test_inverse_sigmoid_is_one_minus_the_papers_teacher_forcing(i, k):
    teacher = k / (k + math.exp(i / k))  # Bengio et al. 2015, finite for i / k <= 700
    assert sampling_probability("inverse_sigmoid", i, k=k) == pytest.approx(1 - teacher, abs=1e-12)


@given(st.sampled_from(["linear", "exponential", "inverse_sigmoid"]), steps, st.integers(0, 10))
def test_sampling_probability_is_a_rising_probability(kind, step, more):
    params = {
        "linear": dict(eps_start=0.1, eps_end=0.9, n=1000),
        "exponential": dict(k=0.999),
        "inverse_sigmoid": dict(k=50.0),
    }[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings for huge steps
        eps = sampling_probability(kind, step, **params)
        later = sampling_probability(kind, step + more, **params)
    assert 0.0 <= eps <= later <= 1.0


def test_inverse_sigmoid_does_not_overflow_for_huge_steps():
    assert sampling_probability("inverse_sigmoid", 10**9, k=1.0) == 1.0


def test_sampling_probability_bad_input_names_it():
    with pytest.raises(ValueError, match="unknown sampling kind 'cosine'; choose one of constant"):
        sampling_probability("cosine", 0, eps=0.1)
    with pytest.raises(ValueError, match="expects parameters eps_start, eps_end, n; got eps"):
        sampling_probability("linear", 0, eps=0.1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        sampling_probability("inverse_sigmoid", 0, k=0.5)
    with pytest.raises(ValueError, match=r"k must be in \(0, 1\]"):
        sampling_probability("exponential", 0, k=1.5)
    with pytest.raises(ValueError, match=r"eps must be in \[0, 1\]"):
        sampling_probability("constant", 0, eps=1.5)
    with pytest.raises(ValueError, match="step must be an integer >= 0"):
        sampling_probability("constant", -1, eps=0.5)

"""check_model(..., entries=k): some entries of each parameter and random directions through all
of it. It must still fail on a gradient wrong in one entry it did not draw, and leave the
parameters as they were."""

import numpy as np
import pytest

from minis2s.gradcheck import assert_close, check_model


class SineModel:
    """loss = sum(sin(w) * batch): a model check_model can check, with 40 entries in w."""

    def __init__(self, wrong_at=None, factor=1.001):
        self.params = {"w": np.linspace(-2.0, 2.0, 40), "b": np.array([0.5])}
        self.wrong_at, self.factor = wrong_at, factor

    def _predict(self, out):
        return out

    def loss(self, batch, rng=None, **opts):
        return float((np.sin(self.params["w"]) * batch).sum() + self.params["b"][0] ** 2)

    def loss_and_grads(self, batch, rng=None, **opts):
        dw = np.cos(self.params["w"]) * batch
        if self.wrong_at is not None:
            dw[self.wrong_at] *= self.factor  # one entry 0.1% off
        return self.loss(batch), {"w": dw, "b": 2 * self.params["b"]}


BATCH = np.random.default_rng(0).standard_normal(40)


def test_a_right_gradient_passes_and_the_parameters_are_left_as_they_were():
    model = SineModel()
    before = {k: v.copy() for k, v in model.params.items()}
    errors = check_model(model, BATCH, entries=3, directions=2)
    assert_close(errors)
    assert set(errors) == {"w", "b"}
    for k, v in before.items():
        assert np.array_equal(model.params[k], v)  # bit for bit: restored, not re-added


@pytest.mark.parametrize("seed", range(10))
def test_one_wrong_entry_the_sample_misses_is_found_by_the_directions(seed):
    """Entry 17 of w is 0.1% off; 3 entries drawn of 40 miss it on most seeds, the 2 random
    directions through w see it on every one."""
    with pytest.raises(AssertionError, match=r"gradient check failed .*'w'"):
        assert_close(check_model(SineModel(wrong_at=17), BATCH, seed=seed, entries=3))


def test_without_directions_the_entries_alone_miss_it():
    """What the directions are for: with none, most seeds' 3 entries miss entry 17."""
    passed = [
        s
        for s in range(10)
        if max(check_model(SineModel(wrong_at=17), BATCH, seed=s, entries=3, directions=0).values())
        < 1e-7
    ]
    assert len(passed) >= 5


def test_a_parameter_no_larger_than_entries_is_checked_entry_by_entry():
    """b has one entry: it is checked itself (no direction needed), so a wrong b fails."""

    class WrongB(SineModel):
        def loss_and_grads(self, batch, rng=None, **opts):
            loss, grads = super().loss_and_grads(batch)
            return loss, grads | {"b": grads["b"] * 1.001}

    errors = check_model(WrongB(), BATCH, entries=3, directions=0)
    assert errors["b"] > 1e-7 and errors["w"] < 1e-7


def test_a_failing_sampled_block_says_which_entries_its_positions_are():
    """The diagnosis names a position in the vector compared ("worst at [3]"): for a sampled
    block that is not the parameter's entry 3, so the failure says which entries were drawn and
    where the directions begin."""
    with pytest.raises(AssertionError) as e:
        assert_close(check_model(SineModel(wrong_at=17), BATCH, seed=0, entries=3))
    w_line = next(line for line in str(e.value).splitlines() if line.strip().startswith("w:"))
    assert "sampled: positions 0-2 are entries [" in w_line, w_line
    assert "3-4 random directions through all of it" in w_line, w_line

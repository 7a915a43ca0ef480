"""`minis2s gradcheck` itself: every case passes, and a broken backward pass makes it fail."""

import sys

import pytest

from minis2s.checks import _cases, model_cases, run_all
from minis2s.layers import linear
from tests.background import Run

# `minis2s gradcheck` itself, every case entry by entry, as a user runs it: a background run
# (tests/background.py), a minute of one core beside the rest of the suite
BACKGROUND = Run([sys.executable, "-m", "minis2s", "gradcheck"], timeout_s=900)


@pytest.mark.background
def test_every_gradcheck_case_passes():
    returncode, out, err = BACKGROUND.wait()
    assert returncode == 0 and "all checks passed" in out, out[-3000:] + err[-2000:]
    header, *rows = out.strip().splitlines()[:-2]  # less the verdict
    w = header.index("input/param") - 1  # the case names' column
    assert {row[:w].rstrip() for row in rows} == {name for name, _ in [*_cases(), *model_cases()]}


def test_a_wrong_backward_pass_fails(monkeypatch, capsys):
    real = linear.backward

    def off_by_one_percent(dy, cache):
        dx, dp = real(dy, cache)
        return dx, {"W": dp["W"] * 1.01, "b": dp["b"]}

    monkeypatch.setattr(linear, "backward", off_by_one_percent)
    assert not run_all(only="linear", model=False)
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.background
def test_the_columns_line_up_under_a_case_name_longer_than_the_others():
    """`seq2seq.lstm.learned_h-bridge.one-way` (37 characters) pushed its rows' figures one
    column right of the header's."""
    out = BACKGROUND.wait()[1]
    header, *rows = out.strip().splitlines()[:-2]  # less the verdict
    assert any(row.startswith("seq2seq.lstm.learned_h-bridge.one-way ") for row in rows)
    edge = len(header) - len("result")  # where the verdict column starts
    assert {len(row) - len(row.split()[-1]) for row in rows} == {edge}
    assert {len(row[:edge].rstrip()) for row in rows} == {edge - 2}  # the errors' last digits


def test_a_filter_that_matches_no_case_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="no case matches --only 'nosuch'.*lstm"):
        run_all(only="nosuch", model=False)


def test_a_model_case_with_no_model_says_what_left_it_out():
    with pytest.raises(ValueError, match="--no-model leaves out the seq2seq"):
        run_all(only="seq2seq", model=False)


def test_an_error_just_above_the_tolerance_fails(monkeypatch, capsys):
    """The table's verdict is the test suite's: an error of 3x TOLERANCE fails, though it is
    far below the 1% of the test above."""
    from minis2s.gradcheck import TOLERANCE

    real = linear.backward

    def off_by_three_tolerances(dy, cache):
        dx, dp = real(dy, cache)
        return dx, {"W": dp["W"] * (1 + 3 * TOLERANCE), "b": dp["b"]}

    monkeypatch.setattr(linear, "backward", off_by_three_tolerances)
    assert not run_all(only="linear", model=False)
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.endswith(" FAIL")]
    assert [(row[0], row[1]) for row in rows] == [("linear", "W")]
    assert TOLERANCE < float(rows[0][2]) < 10 * TOLERANCE


def test_the_cases_check_what_the_table_says_they_check(monkeypatch):
    """Without running a check: the recurrent cases see a padded mask, the stacks also run
    dropout, the loss runs with and without label smoothing, every attention score has its
    cases, and the whole-model cases sample and smooth."""
    import numpy as np

    from minis2s import checks, gradcheck
    from minis2s.layers import attention, stack

    seen, model_kw, stack_kw = {}, [], []
    monkeypatch.setattr(
        gradcheck, "check_layer", lambda f, b, inputs, params, **kw: seen.setdefault(
            len(seen), (f, inputs, params, kw)) and {}
    )  # fmt: skip
    monkeypatch.setattr(checks, "check_model", lambda m, batch, **kw: model_kw.append(kw) or {})
    real_stack = stack.forward
    monkeypatch.setattr(
        stack, "forward", lambda *a, **kw: stack_kw.append(kw) or real_stack(*a, **kw)
    )
    names = []
    for name, run in [*checks._cases(), *checks.model_cases()]:
        before = len(seen)
        run()
        names.append(name)
        if name in ("rnn", "lstm", "gru"):
            mask = np.asarray(seen[before][3]["mask"])
            assert mask.min() == 0 and mask.max() == 1, name  # padded rows
        if name.startswith("stack."):
            f, inputs, params, _ = seen[before]
            f(*inputs, params)
            assert stack_kw[-1]["dropout"] > 0 and np.asarray(stack_kw[-1]["mask"]).min() == 0
    assert {"loss (label smoothing 0.0)", "loss (label smoothing 0.1)"} <= set(names)
    for score in attention.SCORES:
        assert {f"attention.{score}", f"attention.{score}.keys"} <= set(names), score
    assert any(
        kw.get("sampling_eps", 0) > 0 and kw.get("label_smoothing", 0) > 0 for kw in model_kw
    )

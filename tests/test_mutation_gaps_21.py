"""Mutation pass 21 over modules no earlier pass named: _decoding_checks.py (nbest's range,
places for sampling only, an ensemble's attention for beta), ensemble_commands.py (naming one
checkpoint, one run's attention, the task seeds of an ensemble's members), layers/_gemm.py (one
2-D GEMM, an empty batch), _warn.py (a frame without a module name), train/console.py (a
figure's digits, --max-steps equal to the epochs' updates, a log line flushed) and
gradcheck_arguments.py (inputs as a string, a parameter with no entries, a NaN parameter
named). Each test kills a hand-made mutant that the suite let live, named in its docstring;
every expected value is worked out by hand, never by the code under test."""

from __future__ import annotations

import re
import types
import warnings

import numpy as np
import pytest

from minis2s import _decoding_checks, ensemble_commands
from minis2s._warn import warn
from minis2s.gradcheck import check_layer
from minis2s.layers._gemm import rows
from minis2s.train import console
from minis2s.train.config import TrainConfig
from tests import times_w

# --- _decoding_checks.py ----------------------------------------------------------------------


@pytest.mark.parametrize("nbest", [0, -1])
def test_nbest_below_one_is_refused(nbest):
    """Kills dropping `nbest < 1` from check_method: greedy decoding with nbest=0 gives no
    output per source, and nothing else checks nbest's lower end."""
    with pytest.raises(ValueError, match=re.escape(f"translate: nbest={nbest} with method=")):
        _decoding_checks.check_method("greedy", {}, None, 1, nbest)


@pytest.mark.parametrize("method", ["greedy", "sample"])
def test_two_outputs_per_source_need_beam_search(method):
    """Kills `nbest > 2` for `nbest > 1` in check_method: greedy decoding and sampling give one
    output per source, so nbest=2 is refused."""
    with pytest.raises(ValueError, match="nbest > 1 needs method='beam'"):
        _decoding_checks.check_method(method, {}, None, 1, 2)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_places_are_refused_for_a_method_that_draws_nothing(method):
    """Kills dropping the `places` check from check_given_options: places picks sampling
    streams, and greedy and beam decoding draw nothing."""
    with pytest.raises(ValueError, match=re.escape("evaluate: places picks each source's")):
        _decoding_checks.check_method(method, {}, None, 1, 1, where="evaluate", places=[0])


def _ensemble_model(without: list[str]) -> types.SimpleNamespace:
    """An Ensemble as check_for_model sees it: its members without attention, and no cfg.tgt_vocab
    (target_vocab takes V = 1)."""
    return types.SimpleNamespace(without_attention=lambda: without, cfg=types.SimpleNamespace())


def test_an_ensemble_whose_members_all_attend_takes_beta():
    """Kills `attends = without()` for `not without()` in check_for_model: an ensemble with no
    member without attention (an empty list) attends, so beta > 0 is taken; one with a member
    without attention is refused."""
    _decoding_checks.check_for_model(_ensemble_model([]), "beam", {"beta": 0.2}, 2, "translate")
    with pytest.raises(ValueError, match=re.escape("translate: beta=0.2 weighs the attention")):
        _decoding_checks.check_for_model(
            _ensemble_model(["runs/b"]), "beam", {"beta": 0.2}, 2, "translate"
        )


# --- ensemble_commands.py ---------------------------------------------------------------------


@pytest.mark.parametrize("checkpoint", ["runs/a", ["runs/a"]])
def test_one_checkpoint_is_named_as_a_model(checkpoint):
    """Kills dropping the `isinstance(checkpoint, str)` case of model_in (a string read as a
    list of its characters) and `len(checkpoint) == 0` for `== 1` (a list of one read as an
    ensemble): one checkpoint, as a string or a list of one, is 'the model in runs/a'."""
    assert ensemble_commands.model_in(checkpoint) == "the model in runs/a"


def _one_run(attention: str) -> types.SimpleNamespace:
    """A Translator of one run as no_attention sees it: a model with a cfg and no members."""
    cfg = types.SimpleNamespace(attention=attention)
    return types.SimpleNamespace(model=types.SimpleNamespace(cfg=cfg), members=[])


def test_one_run_has_attention_unless_trained_without():
    """Kills `== "none"` for `!= "none"` in no_attention: a run trained with --attention dot has
    weights (None), one trained with --attention none is named."""
    assert ensemble_commands.no_attention(_one_run("dot"), "runs/a") is None
    assert ensemble_commands.no_attention(_one_run("none"), "runs/a") == (
        "the model in runs/a has no attention (it was trained with --attention none)"
    )


def _member(data: dict, train: dict | None = None) -> types.SimpleNamespace:
    config = {"data": data} | ({"train": train} if train is not None else {})
    return types.SimpleNamespace(config=config)


def test_one_run_is_scored_on_its_own_split():
    """Kills dropping `if not tr.members: return` from check_task_seeds: one run (no members)
    with its one --checkpoint is no ensemble to compare; the loop over checkpoints and members
    would refuse the unequal lists."""
    tr = types.SimpleNamespace(members=[], config={"data": {"name": "copy"}})
    ensemble_commands.check_task_seeds(tr, "copy", ["runs/a"])


def test_a_member_trained_on_a_corpus_has_no_split_of_the_task():
    """Kills dropping `trained_on_task` from check_task_seeds: a member trained on a corpus file
    (no task name, no fingerprint of the task's pairs) drew no split of copy, so the member
    trained on --task copy --seed 1 is not compared with a 'seed 0' it never had."""
    on_task = _member({"name": "copy"}, {"seed": 1})  # saved before fingerprints: seed 1 drew it
    on_file = _member({"name": "corpus", "tokenizer": "char"}, {"seed": 0})
    tr = types.SimpleNamespace(members=[on_task, on_file])
    ensemble_commands.check_task_seeds(tr, "copy", ["runs/a", "runs/b"])


def test_a_member_saved_without_a_training_seed_is_named_by_seed_0():
    """Kills a training seed of 1 for one the config leaves out (`.get("seed", 0)` in
    check_task_seeds): such a run trained with the default seed 0, which drew its split, so it
    is '--seed 0', as a run trained with --seed 2 is '--seed 2'."""
    tr = types.SimpleNamespace(
        members=[_member({"name": "copy"}), _member({"name": "copy"}, {"seed": 2})]
    )
    with pytest.raises(ValueError, match=re.escape("runs/a (--seed 0) and runs/b (--seed 2)")):
        ensemble_commands.check_task_seeds(tr, "copy", ["runs/a", "runs/b"])


# --- layers/_gemm.py --------------------------------------------------------------------------


class _RecordingMatrix:
    """W (D, O) that records the shape of each left operand it is multiplied by."""

    __array_ufunc__ = None  # NumPy hands `a @ W` to __rmatmul__

    def __init__(self, W: np.ndarray):
        self.W, self.shape, self.left = W, W.shape, []

    def __rmatmul__(self, a: np.ndarray) -> np.ndarray:
        self.left.append(a.shape)
        return a @ self.W


def test_rows_runs_one_2d_product_over_every_leading_axis():
    """Kills `return a @ W` (NumPy's batched matmul: N products of (T, D)) for the reshape in
    rows: the product is one (N*T, D) @ (D, O) GEMM, and each output row is its input row
    times W."""
    rng = np.random.default_rng(0)
    a, W = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    spy = _RecordingMatrix(W)
    out = rows(a, spy)
    assert spy.left == [(6, 4)]
    assert out.shape == (2, 3, 5)
    np.testing.assert_allclose(out[1, 2], sum(a[1, 2, d] * W[d] for d in range(4)), rtol=1e-12)


@pytest.mark.parametrize("leading", [(0,), (2, 0)])
def test_rows_of_an_empty_batch_is_empty(leading):
    """Kills `reshape(*a.shape[:-1], -1)` for `W.shape[-1]` in rows: with no rows, -1 cannot
    be inferred, and an empty batch's output is (..., O) of no rows."""
    out = rows(np.zeros((*leading, 3)), np.ones((3, 4)))
    assert out.shape == (*leading, 4)


# --- _warn.py ---------------------------------------------------------------------------------


def test_a_warning_from_code_without_a_module_name_is_from_string():
    """Kills another default than "<string>" for a frame's missing __name__ in warn (code run by
    exec with its own globals): warnings.warn calls such a module "<string>", and a filter on
    that module name catches it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", module="<string>")
        with pytest.raises(UserWarning, match="from exec"):
            exec("warn('from exec')", {"warn": warn})


# --- train/console.py -------------------------------------------------------------------------


def test_a_log_figure_has_four_significant_digits():
    """Kills `.3g` for `.4g` in fmt: 0.123456 to 4 significant digits is 0.1235, 12345.6 is
    1.235e+04; an int is written whole."""
    assert (console.fmt(0.123456), console.fmt(12345.6), console.fmt(12345)) == (
        "0.1235",
        "1.235e+04",
        "12345",
    )


def test_max_steps_equal_to_the_epochs_updates_is_named_as_the_epochs():
    """Kills `max_steps <= total` for `<` in eval_every_note: --max-steps 10 ends a run of 2
    epochs of 5 updates no sooner than the epochs do, so the note names the epochs; 9 ends it
    sooner and is named."""
    at_end = TrainConfig(epochs=2, max_steps=10, eval_every=20)
    assert "the run makes 10 updates (2 epochs of 5)" in console.eval_every_note(at_end, 5)
    sooner = TrainConfig(epochs=2, max_steps=9, eval_every=20)
    assert "the run makes 9 updates (--max-steps 9)" in console.eval_every_note(sooner, 5)


class _FlushCounter:
    """A stdout that counts the text it holds at each flush."""

    def __init__(self):
        self.text, self.flushed_at = "", []

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        self.flushed_at.append(len(self.text))


def test_a_log_line_is_flushed_once_written(monkeypatch):
    """Kills dropping `flush=True` from print_line: a log line reaches a pipe or file (nohup, a
    CI log) when written, not when the buffer fills at some later line."""
    out = _FlushCounter()
    monkeypatch.setattr("sys.stdout", out)
    console.print_line("epoch 1 loss 2.5")
    assert out.text == "epoch 1 loss 2.5\n"
    assert len(out.text) in out.flushed_at


# --- gradcheck_arguments.py -------------------------------------------------------------------


def test_check_layer_given_a_string_for_inputs_names_the_list_it_takes():
    """Kills dropping `isinstance(inputs, str)` from check_arguments: a str is a Sequence, and
    "x" for [x] would be read as one input, the string "x", named as an input, not as inputs."""
    _, w = times_w.arguments(0)
    with pytest.raises(ValueError, match=re.escape("check_layer: inputs is str 'x'; give a list")):
        check_layer(times_w.forward, times_w.backward, "x", {"w": w})


def test_check_layer_refuses_a_parameter_with_no_entries():
    """Kills leaving params out of check_not_empty's names: a w of shape (0,) has nothing to
    differ, so any dw passes; refused, naming the parameter."""
    x, _ = times_w.arguments(0)
    with pytest.raises(ValueError, match=re.escape("the parameter w has no entries (shape (0,))")):
        check_layer(times_w.forward, times_w.backward, [x], {"w": np.zeros(0)})


def test_a_nan_output_names_the_parameter_that_holds_nan():
    """Kills reading only the inputs for the cause in check_finite_outputs: y = x * w is NaN
    where w is, and the refusal names w."""
    x, w = times_w.arguments(0)
    w[1] = np.nan
    with pytest.raises(
        ValueError, match=re.escape("output o[0] holds NaN or inf (w holds NaN or inf)")
    ):
        check_layer(times_w.forward, times_w.backward, [x], {"w": w})

"""Mutation pass 26 over modules that no earlier pass had named: backend.py,
layers/_lstm_checks.py, config_error.py and checks.py' run_all (command_translations.py left
for a later pass), one-line mutants each, run against each module's covering test files and then
against the other files that name what the mutant changed. Each test kills a mutant that lived,
named in its docstring; every expected value is worked out by hand. Left alone in backend.py:
`max(total, ALIGN)` -> `total` in _pinned_copy (it differs only when every array of a transfer
is empty, and then only on real CuPy's zero-byte pinned allocation; the CPU stand-in's
bytearray(0) serves either way, and this task had no GPU). Left alone in _lstm_checks.py:
`tuple(state)` -> `state` (check_step only indexes and iterates the states). In config_error.py
the survivors of as_typed's `g` branch showed a bug, fixed: see the last test."""

from __future__ import annotations

import importlib.machinery
import re
import sys
import types

import numpy as np
import pytest

from minis2s import backend
from minis2s.layers import gru, lstm

# --- backend.py -----------------------------------------------------------------------------------


def test_use_numba_refuses_a_numba_thread_count_that_is_no_number(monkeypatch):
    """Kills `check_numba_environment()` -> `pass` in _make: use("numba") names the variable
    before Numba reads it (Numba would print a traceback for it)."""
    monkeypatch.setenv("NUMBA_NUM_THREADS", "junk")
    with pytest.raises(ValueError, match=r"^NUMBA_NUM_THREADS='junk': .*env -u NUMBA_NUM_THREADS"):
        backend.use("numba")


@pytest.mark.parametrize("threads", ["0", "-2", "junk", ""])
def test_a_thread_count_below_one_or_no_number_is_refused(monkeypatch, threads):
    """Kills `int(text) > 0` -> `>= 0` and `return False` -> `return True` in _is_count: Numba
    stops on 0 without naming it, and reads "junk" as no count."""
    monkeypatch.setenv("NUMBA_NUM_THREADS", threads)
    monkeypatch.delenv("MINIS2S_BLAS", raising=False)
    with pytest.raises(ValueError, match=re.escape(f"NUMBA_NUM_THREADS={threads!r}: ")):
        backend.check_numba_environment()


def test_a_whole_thread_count_and_blas_scipy_are_taken(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setenv("MINIS2S_BLAS", "scipy")
    backend.check_numba_environment()  # no error


def _stand_in_cupy(monkeypatch, count) -> None:
    """A module named cupy whose runtime reports `count` GPUs (or raises it, an exception)."""

    def device_count():
        if isinstance(count, Exception):
            raise count
        return count

    cp = types.ModuleType("cupy")
    cp.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=device_count))
    monkeypatch.setitem(sys.modules, "cupy", cp)


def test_cupy_with_no_gpu_is_refused_with_the_reason(monkeypatch):
    """Kills `getDeviceCount() < 1` -> `< 0` in _import_cupy: CuPy installed on a machine with
    no GPU is refused at use("cupy"), not at the first array."""
    _stand_in_cupy(monkeypatch, 0)
    with pytest.raises(RuntimeError, match=r"no GPU is usable \(no CUDA device\); run on"):
        backend.use("cupy")
    assert "cupy" not in backend.available()


def test_cudas_reason_is_quoted_on_one_line(monkeypatch):
    """Kills `" ".join(str(e).split())` -> `str(e)`: CUDA's message, whatever lines it holds,
    stays inside the refusal's one line."""
    _stand_in_cupy(monkeypatch, RuntimeError("cudaErrorNoDevice:\n  no CUDA-capable device"))
    with pytest.raises(RuntimeError) as e:
        backend.use("cupy")
    assert "(cudaErrorNoDevice: no CUDA-capable device)" in str(e.value)
    assert "\n" not in str(e.value)


def test_available_lists_cupy_where_a_gpu_is_usable(monkeypatch):
    """Kills `find_spec("numba") is not None` -> `is None` in available(), and the same of
    find_spec("cupy"): every backend usable here is listed (numba is installed with the tests)."""
    _stand_in_cupy(monkeypatch, 1)
    assert backend.available() == ["numpy", "numba", "cupy"]


# --- layers/_lstm_checks.py -----------------------------------------------------------------------


@pytest.fixture
def step():
    """An LSTM of D = 3, H = 5 in float64, one step's x (4, 3), state and cache."""
    r = np.random.default_rng(0)
    p = lstm.init(3, 5, r, dtype=np.float64)
    x, h, c = r.standard_normal((4, 3)), np.zeros((4, 5)), np.zeros((4, 5))
    _, cache = lstm.step_forward(x, (h, c), p)
    return p, x, h, c, cache


def test_step_forward_refuses_a_state_that_is_not_a_pair(step):
    """Kills, in check_step_forward, `.step_forward` -> `.step` in `where`, `len(state) != 2` ->
    `< 2` (a third entry read as nothing), `isinstance(state, tuple | list)` -> `object` (an
    array of two rows read as h_prev and c_prev) and `type(state).__name__` -> `state` (the
    message would print the array)."""
    p, x, h, c, _ = step
    said = "lstm.step_forward: state must be a tuple (h_prev, c_prev) of two (N, H) arrays; got"
    for state, kind in [((h, c, c), "tuple"), (np.zeros((2, 5)), "ndarray"), (h, "ndarray")]:
        with pytest.raises(ValueError) as e:
            lstm.step_forward(x, state, p)
        assert str(e.value) == f"{said} {kind}"


@pytest.mark.parametrize("fn", [lstm.step_backward, lstm.step_backward_data])
def test_step_backward_refuses_a_dstate_that_is_not_a_pair(step, fn):
    """Kills, in check_step_grads, `len(dstate) != 2` -> `< 2`, `isinstance(dstate, ...)` ->
    `object` and `type(dstate).__name__` -> `dstate`."""
    _, _, h, c, cache = step
    said = f"lstm.{fn.__name__}: dstate must be a tuple (dh, dc) of two (N, H) arrays"
    for dstate, kind in [((h, c, c), "tuple"), (np.ones((2, 5)), "ndarray")]:
        with pytest.raises(ValueError) as e:
            fn(dstate, cache)
        assert str(e.value) == f"{said} (dc may be None); got {kind}"


def test_step_backward_refuses_another_layers_cache(step):
    """Kills `validate.cache(...)` -> `pass`: a GRU step's cache given to the LSTM's step
    backward is named, not unpacked into the wrong fields."""
    _, x, h, c, _ = step
    pg = gru.init(3, 5, np.random.default_rng(1), dtype=np.float64)
    _, gru_cache = gru.step_forward(x, h, pg)
    with pytest.raises(ValueError, match=r"cache is GRUStepCache, expected the LSTMStepCache"):
        lstm.step_backward((h, c), gru_cache)


def test_a_wrong_dh_names_its_expected_shape(step):
    """Kills `"N, H"` -> `"N, 4H"` in dh's check: the message says what dh should be."""
    _, _, h, c, cache = step
    with pytest.raises(ValueError) as e:
        lstm.step_backward((h[:, :4], c), cache)
    assert "dh has shape (4, 4), expected (N, H) = (4, 5)" in str(e.value)


def test_lstm_forward_refuses_an_initial_state_of_three(step):
    """Kills `len(pair) != 2` -> `< 2` and `type(pair).__name__` -> `pair` in state_pair."""
    p, _, h, c, _ = step
    xs = np.zeros((4, 2, 3))
    with pytest.raises(ValueError) as e:
        lstm.forward(xs, (h, c, c), p)
    assert str(e.value).endswith(
        "h0c0 must be None or a tuple (h, c) of two (N, H) arrays; got tuple"
    )
    with pytest.raises(ValueError, match=r"; got ndarray$"):
        lstm.forward(xs, h, p)


# --- config_error.py ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, typed",
    [
        (2.5, "2.5"),  # not int(2.5): kills `is_integer() and` -> `or`
        (1e17, "1e+17"),  # not 100000000000000000: kills dropping `abs(value) < 1e16`
        (-1e17, "-1e+17"),  # kills `abs(value) < 1e16` -> `value < 1e16`
        (0.123456789, "0.123456789"),  # not g's 0.123457: kills `else repr(value)` -> `else short`
        ("", "''"),  # an empty word quoted: kills dropping (or changing) `value == "" or`
    ],
)
def test_as_typed_writes_a_value_as_a_user_types_it(value, typed):
    from minis2s.config_error import as_typed

    assert as_typed(value) == typed


def test_a_config_error_quotes_its_value_bare_by_default():
    """Kills the default layout `got {value}` -> `got {value_r}`: the Python message reads as
    the docstring's `TrainConfig: lr must be ...; got ...`, a word unquoted."""
    from minis2s.config_error import ConfigError

    e = ConfigError("ModelConfig", "cell", "lstmx", "must be one of rnn, gru, lstm")
    assert str(e) == "ModelConfig: cell must be one of rnn, gru, lstm; got lstmx"


@pytest.mark.parametrize(
    "value, typed",
    [(1e-323, "1e-323"), (np.float64(0.123456789), "0.123456789"), (float("nan"), "nan")],
)
def test_as_typed_writes_tiny_and_numpy_floats_as_typed(value, typed):
    """The bug this pass found: `f"{value:g}"`, kept when it read back as the value, wrote a
    subnormal 1e-323 as 9.88131e-324 (six digits read back at that precision), and the repr
    fallback wrote a NumPy float64 as np.float64(0.123456789). Both failed before the fix."""
    from minis2s.config_error import as_typed

    assert as_typed(value) == typed


# --- checks.py ------------------------------------------------------------------------------------


def test_gradcheck_tables_of_two_only_runs_line_up(capsys):
    """Kills `max(36, ...)` -> `max(1, ...)` in run_all: the layer column keeps its width
    whatever --only picks, so the tables of `--only linear` and `--only dropout` line up."""
    from minis2s import checks

    columns = []
    for only in ("linear", "dropout"):
        assert checks.run_all(only=only, model=False)
        lines = capsys.readouterr().out.splitlines()
        header = next(line for line in lines if line.startswith("layer"))
        columns.append(header.index("input/param"))
    assert columns[0] == columns[1], columns

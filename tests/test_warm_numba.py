"""conftest.py's Numba warm-up (tests/warm_numba.py): started at collection on a cold cache,
ahead of the other background runs, for a session of more than one test; stopped at its end."""

import types

from tests import conftest
from tests.test_mutation_gaps_6 import _Item, _Spy


def _session(monkeypatch, cold: bool, n_items: int):
    """A collected session of `n_items` tests, one module's BACKGROUND among them; the calls
    made to it and to the warm-up, in order, are recorded in one list."""
    calls: list[str] = []
    warm, background = _Spy(), _Spy()
    warm.start = lambda: calls.append("warm start")
    warm.stop = lambda: calls.append("warm stop")
    background.start = lambda: calls.append("background start")
    background.stop = lambda: calls.append("background stop")
    monkeypatch.setattr(conftest, "WARM_NUMBA", warm)
    monkeypatch.setattr(conftest, "_numba_is_cold", lambda: cold)
    marked = types.ModuleType("marked")
    marked.BACKGROUND = background
    session = types.SimpleNamespace(items=[_Item(marked, True)] * n_items)
    return session, calls


def test_a_cold_cache_is_warmed_first_and_the_warm_up_stopped_at_the_end(monkeypatch):
    session, calls = _session(monkeypatch, cold=True, n_items=2)
    conftest.pytest_collection_finish(session)
    assert calls == ["warm start", "background start"]
    conftest.pytest_sessionfinish(session)
    assert calls[2:] == ["warm stop", "background stop"]


def test_a_warm_cache_or_a_single_test_starts_no_warm_up(monkeypatch):
    for cold, n_items in ((False, 2), (True, 1)):
        session, calls = _session(monkeypatch, cold, n_items)
        conftest.pytest_collection_finish(session)
        assert calls == ["background start"], (cold, n_items)


def test_the_warm_up_yields_to_the_suite_but_not_to_the_other_background_runs():
    """nice 5: behind the suite's own process (0), ahead of the gradcheck and stand-in runs (10),
    which compile nothing the suite's process waits on."""
    assert conftest.WARM_NUMBA.niceness == 5
    assert conftest.WARM_NUMBA.command[-2:] == ["-m", "tests.warm_numba"]

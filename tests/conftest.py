"""Shared test settings: a hypothesis profile that keeps CI fast and deterministic, and the
background runs (tests/background.py: the GPU tests on the stand-in, `minis2s gradcheck`, and on
a fresh checkout the Numba warm-up, tests/warm_numba.py) started as soon as the suite is
collected."""

import importlib.util
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from tests.background import Run

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(  # benchmarks/gpu_check.sh: a GPU run's first calls compile kernels
    "gpu",
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE in ("ci", "dev", "gpu"):  # another is refused by pytest_configure, in one line
    settings.load_profile(PROFILE)


@pytest.fixture(autouse=True)
def _reset_backend():
    """Every test starts on the reference NumPy backend."""
    from minis2s import backend

    backend.use("numpy")
    yield
    backend.use("numpy")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_configure(config):
    if PROFILE not in ("ci", "dev", "gpu"):  # hypothesis's refusal was a traceback in conftest
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={PROFILE!r} is not a profile of this suite: give ci (the "
            "default), dev or gpu (README, Tests), or unset it"
        )
    config.addinivalue_line(
        "markers", "background: reads its module's BACKGROUND run (tests/background.py); runs last"
    )


def _background_runs(session):
    """The BACKGROUND run of each module with a marked test among those to run."""
    modules = {
        item.module
        for item in getattr(session, "items", [])
        if item.get_closest_marker("background")
    }
    return [module.BACKGROUND for module in sorted(modules, key=lambda m: m.__name__)]


def pytest_collection_modifyitems(items):
    """The tests that wait for a background run go last (a stable sort: the rest keep their
    order), so each run has the whole suite's time to finish beside it."""
    items.sort(key=lambda item: item.get_closest_marker("background") is not None)


# compiles the numba twins into Numba's cache beside the suite (tests/warm_numba.py); ahead of
# the other background runs (nice 5, theirs 10): the suite's main process waits on its twins
WARM_NUMBA = Run([sys.executable, "-m", "tests.warm_numba"], timeout_s=900, niceness=5)


def _numba_is_cold() -> bool:
    """Whether Numba is installed and has compiled none of the twins yet (a fresh checkout)."""
    if importlib.util.find_spec("numba") is None:
        return False
    from minis2s.kernels import numba_cache_is_cold

    return numba_cache_is_cold()


def pytest_collection_finish(session):
    """Start the background runs now, so that they overlap the rest of the suite on another
    core (their tests wait for them); on a cold Numba cache, the warm-up first."""
    if len(getattr(session, "items", [])) > 1 and _numba_is_cold():
        WARM_NUMBA.start()
    for run in _background_runs(session):
        run.start()


def pytest_sessionfinish(session):
    """Never leave a background run behind (an interrupted or failed-early session)."""
    WARM_NUMBA.stop()
    for run in _background_runs(session):
        run.stop()

"""Shared test settings: a hypothesis profile that keeps CI fast and deterministic, and the
background runs (tests/background.py: the GPU tests on the stand-in, `minis2s gradcheck`) started
as soon as the suite is collected."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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


def pytest_collection_finish(session):
    """Start the background runs now, so that they overlap the rest of the suite on another
    core (their tests wait for them)."""
    for run in _background_runs(session):
        run.start()


def pytest_sessionfinish(session):
    """Never leave a background run behind (an interrupted or failed-early session)."""
    for run in _background_runs(session):
        run.stop()

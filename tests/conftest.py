"""Shared test settings: a hypothesis profile that keeps CI fast and deterministic, and the
stand-in run of the GPU tests started early (tests/test_gpu_tests_on_the_stand_in.py)."""

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


STAND_IN = "test_gpu_tests_on_the_stand_in.py"


def _stand_in(session):
    """The stand-in test's module if that test is among those to run, else None."""
    return next((item.module for item in session.items if item.path.name == STAND_IN), None)


def pytest_collection_finish(session):
    """Start the stand-in run of the GPU tests now, if it is among the tests to run, so that it
    overlaps the rest of the suite on another core (its test waits for it)."""
    if (module := _stand_in(session)) is not None:
        module.start()


def pytest_sessionfinish(session):
    """Never leave the stand-in run behind (an interrupted or failed-early session)."""
    if (module := _stand_in(session)) is not None:
        module.stop()

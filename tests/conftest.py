"""Shared test settings: a hypothesis profile that keeps CI fast and deterministic."""

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

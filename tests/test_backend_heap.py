"""backend.use keeps freed array memory in the process (minis2s/backend_heap.py): a training
step's arrays are not given back to the system and faulted in again at the next step."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A step's pattern: a few megabytes of 0.2-0.7 MB arrays, written, then all freed; the faults of
# the rounds after the first (which maps the memory once, whatever the settings).
STEPS = """
import resource, sys
import numpy as np
from minis2s import backend
if sys.argv[1] == "use":
    backend.use("numpy")
def step():
    arrays = [np.ones(k * 50_000, dtype=np.float32) for k in (1, 2, 3, 2, 3, 1, 2, 3, 2, 1)]
    return sum(a.nbytes for a in arrays)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(*args: str, env: dict[str, str] | None = None) -> int:
    """The page faults of ten steps after the first, in a fresh process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop("GLIBC_TUNABLES", None)
    done = subprocess.run(
        [sys.executable, "-c", STEPS, *args],
        env=clean | {"PYTHONPATH": str(ROOT)} | (env or {}),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout)


needs_glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's malloc settings: Linux with glibc only",
)


@needs_glibc
def test_use_keeps_freed_memory_between_steps():
    # ten steps move 10 x 4 MB: 10,000 pages were they given back and faulted in at each step
    assert faults("use") < 100 < faults("no")  # the second: glibc left as it is, pages refaulted


@needs_glibc
def test_the_users_own_malloc_settings_are_left_alone():
    from minis2s import backend_heap

    # here: ours, unless the environment running the tests sets its own
    assert backend_heap.keep_freed_memory() == (not backend_heap.user_settings())
    # a variable of the user's: backend.use leaves glibc as they set it (here: trim at 128 KB)
    assert faults("use", env={"MALLOC_TRIM_THRESHOLD_": str(128 * 1024)}) > 100


def test_user_settings_names_the_variables(monkeypatch):
    from minis2s import backend_heap

    for k in [k for k in os.environ if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"]:
        monkeypatch.delenv(k)
    assert backend_heap.user_settings() == []
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert backend_heap.user_settings() == ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX"]

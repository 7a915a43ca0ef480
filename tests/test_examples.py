"""Every example script runs end to end (at smoke-test size: MINIS2S_QUICK=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("[0-9]*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = os.environ | {"MINIS2S_QUICK": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(script)], cwd=script.parent, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reference" in done.stdout


def test_there_is_one_example_per_seed_scenario():
    assert [p.name[:3] for p in EXAMPLES] == [f"{k:03d}" for k in range(10)]

"""benchmarks/compare_checkouts.py: two checkouts' workers timed call by call. Run here with this
checkout on both sides (so the ratio is about 1), and its refusals of what is not a checkout or
not a job."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "compare_checkouts.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_one_checkout_against_itself_prints_each_job_with_its_ratios():
    r = run(str(ROOT), str(ROOT), "--pairs", "3", "--jobs", "greedy,train", "--clock", "wall")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "numpy backend, small workload, 1 BLAS thread(s), 3 alternating pairs a " \
        "job, wall time"  # fmt: skip
    number = r" +([\d.]+)"
    line = re.compile(
        rf"  (\w+) +median base{number} new{number} ms \(([\d.]+)\)   fastest base{number} "
        rf"new{number} \(([\d.]+)\)   median pair ratio ([\d.]+)$"
    )
    assert re.fullmatch(
        r"  same results to the bit on both sides \(sha256 [0-9a-f]{16}\)", lines[1]
    )
    rows = [line.match(s) for s in lines[2:]]
    assert [m.group(1) for m in rows] == ["greedy", "train"]
    for m in rows:
        base, new, ratio = float(m.group(2)), float(m.group(3)), float(m.group(4))
        assert base > 0 and new > 0 and ratio == pytest.approx(new / base, abs=1e-3)
        assert float(m.group(5)) <= base and float(m.group(6)) <= new  # fastest <= median


@pytest.mark.parametrize(
    "args, message",
    [
        (("--jobs", "greedy,beam3"), "--jobs: unknown ['beam3']; choose from train, greedy, beam5"),
        (("--pairs", "0"), "--pairs and --threads must be at least 1"),
    ],
)
def test_bad_options_are_named(args, message):
    r = run(str(ROOT), str(ROOT), *args)
    assert r.returncode == 2 and message in r.stderr


def test_a_directory_that_is_not_a_checkout_is_named(tmp_path):
    r = run(str(tmp_path), str(ROOT))
    assert r.returncode == 2
    assert (
        f"{tmp_path} is not a minis2s checkout (minis2s/ and benchmarks/bench_seq2seq.py)"
        in r.stderr
    )


def test_a_worker_that_cannot_start_is_named(tmp_path):
    (tmp_path / "minis2s").mkdir()  # looks like a checkout, but imports nothing
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_seq2seq.py").write_text("raise ImportError('broken')\n")
    r = run(str(tmp_path), str(ROOT), "--jobs", "greedy")
    assert r.returncode == 1
    assert f"compare_checkouts: the worker in {tmp_path} did not start" in r.stderr
    assert "ImportError: broken" in r.stderr


def test_checkouts_that_decode_differently_are_not_timed(tmp_path):
    """A copy of this checkout whose hypotheses score 1 less: its results differ, so the two are
    not compared."""
    for part in ("minis2s", "benchmarks"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    common = tmp_path / "minis2s" / "decode" / "common.py"
    source = common.read_text()
    assert source.count("float(score)") == 1
    common.write_text(source.replace("float(score)", "float(score) - 1.0"))
    r = run(str(ROOT), str(tmp_path), "--pairs", "1", "--jobs", "greedy")
    assert r.returncode == 1
    assert "compare_checkouts: the two checkouts compute different results" in r.stderr
    assert "median" not in r.stdout

"""`kill -9` (SIGKILL: no handler runs, nothing is cleaned up) in the middle of a run's writes: a
checkpoint's files, the renames that put it in place, a log line, an atomic file. The next
`--resume` goes on as the uninterrupted run would have (the unfinished step is done again), and
the temporary files left behind are never taken for checkpoints."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from minis2s.cli import main
from minis2s.train import average, checkpoint, keep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["train", "--task", "reverse-digits", "--train-size", "32", "--dev-size", "8",
        "--hidden", "4", "--emb", "4", "--eval-every", "1", "--keep-checkpoints", "2",
        "--quiet", "--show", "0"]  # fmt: skip

# the command line's train, paused (for the kill) at the second write of one kind into last/
PAUSED_TRAIN = """
import os, sys, time
from minis2s import cli
from minis2s.train import checkpoint, runlog
point, argv, seen = sys.argv[1], sys.argv[2:], []

def pause_at_second(is_it, real):
    def paused(*a):
        if is_it(*a):
            seen.append(1)
            if len(seen) == 2:
                if point == "log":  # half a line written, as a full disk or a kill cuts it
                    with open(os.path.join(a[0], runlog.NAME), "a") as f:
                        f.write('{"epoch": 1, "st')
                print("paused", flush=True)
                time.sleep(60)
        return real(*a)
    return paused

if point == "files":  # last/'s parameters written into .last.tmp, its state not yet
    checkpoint._write_json = pause_at_second(
        lambda f, t: f.parent.name == ".last.tmp" and f.name == "state.json",
        checkpoint._write_json)
elif point == "renames":  # last/ moved to .last.old, the new one not yet in its place
    os.replace = pause_at_second(
        lambda s, d: os.path.basename(d) == "last", os.replace)
else:
    runlog.append = pause_at_second(lambda d, r: True, runlog.append)
cli.main(argv)
"""


def _killed_mid_write(point: str, argv: list) -> None:
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-c", PAUSED_TRAIN, point, *argv]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "paused\n"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def log_figures(run) -> list:
    """Each line of the run's log.jsonl: its epoch, step, train loss and dev loss."""
    lines = (run / "log.jsonl").read_text().splitlines()
    return [{k: json.loads(x)[k] for k in ("epoch", "step", "train_loss", "loss")} for x in lines]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The run that no kill interrupted."""
    run = tmp_path_factory.mktemp("kill9") / "straight"
    assert main([*TINY, "--epochs", "3", "--out", str(run)]) == 0
    return run


@pytest.mark.parametrize("point", ["files", "renames", "log"])
def test_a_run_killed_mid_write_resumes_as_if_never_killed(tmp_path, straight, point):
    run = tmp_path / "run"
    _killed_mid_write(point, [*TINY, "--epochs", "3", "--out", str(run)])
    left = {"files": [".last.tmp"], "renames": [".last.old", ".last.tmp"], "log": []}[point]
    assert sorted(n for n in os.listdir(run) if n.startswith(".")) == left
    # killed at the second evaluation (update 2), whose log line comes after its kept step
    assert [s for s, _ in keep.kept(run)] == ([1, 2] if point == "log" else [1])
    assert main([*TINY, "--epochs", "3", "--out", str(run), "--resume"]) == 0
    assert sorted(n for n in os.listdir(run) if n.startswith(".")) == []
    assert log_figures(run) == log_figures(straight)
    for which in ("last", "best", keep.step_name(log_figures(run)[-1]["step"])):
        got, want = checkpoint.load(run / which), checkpoint.load(straight / which)
        for name, p in want.params.items():
            np.testing.assert_array_equal(got.params[name], p, err_msg=f"{which} {name}")


def test_average_ignores_what_a_killed_save_left_in_steps(tmp_path):
    run = tmp_path / "run"
    assert main([*TINY, "--epochs", "1", "--batch-size", "8", "--out", str(run)]) == 0
    (run / "steps" / ".step-0000009.tmp").mkdir()  # a save of step 9 cut short
    (run / "steps" / ".step-0000001.deleting").mkdir()  # a trim cut short
    assert [s for s, _ in keep.kept(run)] == [3, 4]
    assert [os.path.basename(p) for p in average.last_kept(run, 2)] == [
        "step-0000003",
        "step-0000004",
    ]


def test_a_killed_atomic_write_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text("old")
    script = (
        "import sys, time\nfrom minis2s.atomic import atomic_text_file\n"
        "with atomic_text_file(sys.argv[1]) as f:\n"
        "    f.write('ne'); f.flush(); print('paused', flush=True); time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-c", script, str(path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "paused\n"
        proc.kill()
    finally:
        proc.wait()
        proc.stdout.close()
    assert path.read_text() == "old"
    (leftover,) = [n for n in os.listdir(tmp_path) if n != "vocab.json"]
    assert leftover.startswith(f".vocab.json.{proc.pid}.") and leftover.endswith(".tmp")

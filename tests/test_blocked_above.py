"""Every path minis2s writes a run, an average or a file at is refused, before any work, where a
folder above it is a file or a run's checkpoint (which the run's next save replaces whole, what
was written inside with it): one refusal, `checkpoint.refuse_blocked_above`, for train's --out,
average's --out and the files of plot, vectors and bench, with one pair of exception types."""

import sys
from pathlib import Path

import pytest

from minis2s import viz
from minis2s.bench.report import check_writable
from minis2s.run_checks import check_out_dir
from minis2s.train._average_checks import check_paths
from minis2s.train.checkpoint import refuse_blocked_above

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def fake_checkpoint(folder: Path) -> Path:
    """A folder that `checkpoint.blocked_above` takes for a checkpoint (its two files)."""
    folder.mkdir(parents=True)
    (folder / "state.json").write_text("{}", encoding="utf-8")
    (folder / "params.npz").write_bytes(b"")
    return folder


def average_out(out):
    """average's checks of its --out (the two checkpoints averaged are checked first)."""
    a = fake_checkpoint(Path(out).parents[3] / "a")
    b = fake_checkpoint(Path(out).parents[3] / "b")
    check_paths([a, b], out)


# (what writes there, the words it is refused with, what would be lost)
WRITERS = [
    (lambda out: check_out_dir(str(out)), "--out", "this run"),
    (average_out, "--out", "the average"),
    (lambda out: check_writable("--json", str(out)), "--json", "this file"),
    (lambda out: viz.check_image_path("--out", f"{out}.png"), "--out", "this file"),
]
IDS = ["train", "average", "bench", "plot"]


@pytest.mark.parametrize(("write", "option", "lost"), WRITERS, ids=IDS)
def test_a_folder_above_that_is_a_file_is_refused_alike(tmp_path, write, option, lost):
    """NotADirectoryError for each (bench and plot raised ValueError, train's message ended
    with a colon, average's named no option to change), naming the file and the option."""
    (tmp_path / "notes").write_text("mine\n", encoding="utf-8")
    out = tmp_path / "notes" / "x" / "y" / "z"
    with pytest.raises(NotADirectoryError) as e:
        write(out)
    assert f"{tmp_path / 'notes'} is a file, not a directory; choose another {option}" in str(e)
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine\n"


@pytest.mark.parametrize(("write", "option", "lost"), WRITERS, ids=IDS)
@pytest.mark.parametrize("kept", [False, True], ids=["best", "steps"])
def test_a_path_inside_a_checkpoint_is_refused_alike(tmp_path, write, option, lost, kept):
    """ValueError for each (train raised FileExistsError), naming the checkpoint, what its
    run's next save would take with it, and the fix; a kept step is also replaced by the
    run's trim of steps/, which only that one's refusal says."""
    inside = fake_checkpoint(tmp_path / "runs" / "x" / ("steps/step-0000004" if kept else "best"))
    out = inside / "mine" / "a" / "b"
    with pytest.raises(ValueError) as e:
        write(out)
    said = str(e.value)
    assert f"is inside the checkpoint {inside}, which its run's next save" in said, said
    assert ("(or trim of steps/)" in said) == kept, said
    assert f"replaces whole, {lost} with it; choose another {option}, outside it" in said, said
    assert not (inside / "mine").exists()


def test_a_python_argument_is_not_quoted_as_an_option(tmp_path):
    """plot_attention(out=...) from Python names its argument and asks for another path, not
    for "another plot_attention: out"."""
    inside = fake_checkpoint(tmp_path / "best")
    with pytest.raises(ValueError, match=r"^plot_attention: out \S+ is inside .*another path,"):
        refuse_blocked_above(inside / "a.png", "plot_attention: out", "this file")
    (tmp_path / "notes").write_text("", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match=r"not a directory; choose another path$"):
        refuse_blocked_above(tmp_path / "notes" / "a.png", "plot_attention: out", "this file")


def test_a_benchmark_scripts_json_below_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    """`bench_layers.py --json notes/b.json`, notes a file: one line, before any timing. The
    refusal is a NotADirectoryError now, which the script, catching ValueError alone, let out as
    a traceback."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    import common

    monkeypatch.setattr(common, "measure_peaks", lambda bes: pytest.fail("peaks measured"))
    (tmp_path / "notes").write_text("", encoding="utf-8")
    out = tmp_path / "notes" / "b.json"
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--json", str(out)])
    with pytest.raises(SystemExit, match=r"--json \S+: \S+notes is a file, not a directory"):
        common.main("x", lambda *a: pytest.fail("timed"))

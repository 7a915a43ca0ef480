"""Every warning minis2s gives a Python caller points at the caller's own line (minis2s/_warn.py):
the line of this file that called into minis2s, whatever path inside the package warned, so that
`python -W error` and `warnings.filterwarnings(module=...)` act on the caller's module. Each
test calls one public entry point and checks each warning's file and line: that line must be
the one here that made the call."""

import contextlib
import errno
import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from minis2s import _warn, backend, pipeline, viz
from minis2s.api import Translator
from minis2s.long_sources import LongSourceWarning
from minis2s.train import run_lock
from minis2s.train.average import average
from minis2s.train.config import TrainConfig

PAIRS = "12\t21\n345\t543\n6789\t9876\n21\t12\n543\t345\n98\t89\n111\t111\n2468\t8642\n"
LONG = "123456789\t987654321\n"  # longer than --max-len 5: dropped from training, kept in dev
SMALL = {"emb": 4, "hidden": 4}


def warned_here(records: list, call: str, *fragments: str) -> None:
    """One warning in `records` holds each of `fragments`, and each warning that holds one is at
    a line of this file that holds `call(` (the call into minis2s that warned). Others are
    another library's (matplotlib 3.6 imports pyparsing names that warn as plot_log draws)."""
    ours = [r for r in records if any(f in str(r.message) for f in fragments)]
    assert ours, ("no warning of", fragments, [str(r.message) for r in records])
    for r in ours:
        assert r.filename == __file__, (r.filename, r.lineno, str(r.message))
        assert call + "(" in linecache.getline(__file__, r.lineno), (r.lineno, str(r.message))
    texts = [str(r.message) for r in records]
    for fragment in fragments:
        assert any(fragment in t for t in texts), (fragment, texts)


@contextlib.contextmanager
def caught() -> Iterator[list]:
    """Record every warning, each time it comes (not once a place)."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield records


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "c.tsv"
    path.write_text(PAIRS)
    return path


@pytest.fixture(scope="module")
def data(corpus):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dev_data is the training corpus: warned of below
        return pipeline.load_data(data=str(corpus), dev_data=str(corpus))


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "seed0"
    pipeline.train(data, SMALL, TrainConfig(epochs=1, batch_size=4), str(out), progress=False)
    return out


def test_load_data_warns_at_the_callers_line(corpus, tmp_path):
    with caught() as w:
        pipeline.load_data(data=str(corpus), dev_data=str(corpus), train_size=1000)
    warned_here(w, "load_data", "asks for more than", "also in the training pairs")
    tabbed, plain = tmp_path / "src.txt", tmp_path / "tgt.txt"
    tabbed.write_text("a\tb\ncc\td\ne\tf\ng\th\n")
    plain.write_text("x\ny\nz\nw\n")
    with caught() as w:
        pipeline.load_data(data=(str(tabbed), str(plain)), dev_data=(str(tabbed), str(plain)))
    warned_here(w, "load_data", "holds one TAB")


def test_train_warns_at_the_callers_line_dev_evaluation_included(tmp_path):
    """The dev evaluation's LongSourceWarning comes from inside the trainer's loop; the options
    that work against each other are warned of before it starts."""
    path = tmp_path / "c.tsv"
    path.write_text(PAIRS + LONG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dev_data is the training corpus
        short = pipeline.load_data(data=str(path), dev_data=str(path), max_len=5)
    tcfg = TrainConfig(epochs=1, batch_size=4, eval_every=1000)
    options = SMALL | {"reverse_source": True}
    with caught() as w:
        pipeline.train(short, options, tcfg, str(tmp_path / "r"), progress=False)
    warned_here(w, "train", "dev pair 9 has 9 tokens", "--eval-every 1000 never comes",
                "reverse_source with a bidirectional encoder")  # fmt: skip
    assert any(isinstance(r.message, LongSourceWarning) for r in w)


def test_a_run_directory_without_locks_is_warned_of_at_the_callers_line(
    data, tmp_path, monkeypatch
):
    """run_lock.hold is a context manager: its warning passes through contextlib's frames."""

    def flock(fd, kind):
        raise OSError(errno.ENOLCK, "No locks available")  # a file system without locks

    fcntl = types.SimpleNamespace(LOCK_EX=2, LOCK_SH=1, LOCK_NB=4, flock=flock)
    monkeypatch.setattr(run_lock, "fcntl", fcntl)
    with caught() as w:
        pipeline.train(data, SMALL, TrainConfig(epochs=1), str(tmp_path / "r"), progress=False)
    warned_here(w, "train", "could not lock")


def test_resuming_a_finished_run_warns_at_the_callers_line(data, run, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(run, again)
    with caught() as w:
        pipeline.train(data, SMALL, TrainConfig(epochs=1, batch_size=4), str(again), resume=True)
    warned_here(w, "train", "nothing to train")


def test_resuming_on_another_backend_warns_at_the_callers_line(data, run, tmp_path):
    """The warning comes from train/resume.py, three calls below Trainer.resume."""
    again = tmp_path / "again"
    shutil.copytree(run, again)
    state = again / "last" / "state.json"
    saved = json.loads(state.read_text())
    saved["config"]["backend"] = "numba"  # as if trained there: the numpy backend resumes it
    state.write_text(json.dumps(saved))
    with caught() as w:
        pipeline.train(data, SMALL, TrainConfig(epochs=2, batch_size=4), str(again), resume=True,
                       progress=False)  # fmt: skip
    warned_here(w, "train", "resuming a run trained on the numba backend")


def test_fine_tuning_on_unknown_tokens_warns_at_the_callers_line(run, tmp_path):
    path = tmp_path / "new.tsv"
    path.write_text("ab\tba\ncd\tdc\nabc\tcba\n")
    new = pipeline.load_data(data=str(path), dev_data=str(path), max_len=None)
    tcfg = TrainConfig(epochs=1)
    with caught() as w:
        pipeline.train(new, {}, tcfg, str(tmp_path / "ft"), init_from=str(run), progress=False)
    warned_here(w, "train", "are not in its vocabularies")


def test_translate_warns_of_a_long_source_at_the_callers_line(run):
    tr = Translator.load(run)
    with caught() as w:
        tr.translate(["12", "1234567890123"])
    warned_here(w, "translate", "sources[1] has 13 tokens")


def test_a_filter_on_the_callers_module_acts_on_its_warnings(run):
    """`warnings.filterwarnings(module=...)` matches the caller's module, not minis2s.api."""
    tr = Translator.load(run)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=LongSourceWarning, module=re.escape(__name__))
        with pytest.raises(LongSourceWarning, match="sources.0. has 13 tokens"):
            tr.translate(["1234567890123"])
        warnings.filterwarnings("ignore", category=LongSourceWarning, module="minis2s")
        with pytest.raises(LongSourceWarning):  # minis2s's modules are not where it is
            tr.translate(["1234567890123"])


def test_loading_a_run_without_best_warns_at_the_callers_line(data, tmp_path):
    out = tmp_path / "early"
    pipeline.train(
        data, SMALL, TrainConfig(epochs=1, batch_size=2, max_steps=1), str(out), progress=False
    )
    assert not (out / "best").exists()
    with caught() as w:
        Translator.load(out)
    warned_here(w, "load", "has no best checkpoint yet")


def test_an_ensemble_of_one_run_twice_warns_at_the_callers_line(run):
    with caught() as w:
        Translator.load_ensemble([run, run])
    warned_here(w, "load_ensemble", "the same checkpoint twice")


def test_averaging_two_runs_warns_at_the_callers_line(data, run, tmp_path):
    other = tmp_path / "seed1"
    tcfg = TrainConfig(epochs=1, batch_size=4, seed=1)
    pipeline.train(data, SMALL, tcfg, str(other), progress=False)
    with caught() as w:
        average([run / "best", other / "best"], tmp_path / "avg")
    warned_here(w, "average", "come from different runs")


def test_plot_log_warns_of_a_partial_line_at_the_callers_line(run, tmp_path):
    pytest.importorskip("matplotlib")
    log = tmp_path / "log.jsonl"
    log.write_text((run / "log.jsonl").read_text() + '{"epoch": 2, "lo')
    with caught() as w:
        viz.plot_log(str(log))
    warned_here(w, "plot_log", "skipped a partial last line")


def test_the_numba_backends_first_use_warns_at_the_callers_line(monkeypatch):
    from minis2s import kernels

    monkeypatch.setattr(kernels, "numba_cache_is_cold", lambda: True)
    monkeypatch.setattr(backend, "_told_cold", False)
    with caught() as w:
        backend.use("numba")
    warned_here(w, "use", "compiles its kernels")


def test_the_layer_bench_warns_of_a_forced_core_at_the_callers_line(monkeypatch, capsys):
    from minis2s import bench

    monkeypatch.setattr(bench.layers, "forced_core_note", lambda: "OPENBLAS_CORETYPE=X holds")
    monkeypatch.setattr(bench.layers, "measure_peaks", lambda bes: {"cpu": 1.0})
    monkeypatch.setattr(bench.layers, "layer_rows", lambda *a, **k: [])
    with caught() as w:
        bench.layers.run(quick=True)
    warned_here(w, "run", "OPENBLAS_CORETYPE=X holds")


def test_the_command_line_prints_its_notes_as_before(data, tmp_path):
    """Under `python -m minis2s` the first frame outside the package is runpy's; the command line
    prints the note alone, with no place, as it did when the package's line was the place."""
    out = tmp_path / "early"
    pipeline.train(
        data, SMALL, TrainConfig(epochs=1, batch_size=2, max_steps=1), str(out), progress=False
    )
    done = subprocess.run(
        [sys.executable, "-m", "minis2s", "translate", "--checkpoint", str(out), "12"],
        capture_output=True, text=True, timeout=120,
        env=os.environ | {"PYTHONPATH": os.path.dirname(os.path.dirname(__file__))},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    note = (f"minis2s translate: note: {out} has no best checkpoint yet (one is written after a "
            "dev evaluation: an epoch's end, or --eval-every's); using "
            f"{os.path.join(out, 'last')}\n")  # fmt: skip
    assert note in done.stderr.splitlines(keepends=True)  # the whole line, as it was
    assert "runpy" not in done.stderr and ".py:" not in done.stderr  # no place shown


def test_a_frame_outside_the_package_is_its_own_caller():
    here = sys._getframe()
    assert _warn.caller_frame(here) is here


def test_a_stack_all_inside_the_package_warns_at_its_outermost_frame(monkeypatch):
    """A thread that minis2s started has no caller's frame: its outermost one stands in."""
    monkeypatch.setattr(_warn, "_PASSED_THROUGH", ("",))  # every file counts as minis2s's
    outermost = sys._getframe()
    while outermost.f_back is not None:
        outermost = outermost.f_back
    assert _warn.caller_frame(sys._getframe()) is outermost
    with caught() as w:
        _warn.warn("x", LongSourceWarning)
    assert (w[0].filename, w[0].lineno) == (outermost.f_code.co_filename, outermost.f_lineno)
    assert w[0].category is LongSourceWarning


def test_the_package_warns_only_through_its_warn():
    """A `warnings.warn` with a hand-counted stacklevel points inside minis2s as soon as a
    function is split or reached another way: the package's warnings go through _warn.warn."""
    package = Path(_warn.__file__).parent
    found = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "_warn.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"warnings\.warn\(|stacklevel=", line)
    ]
    assert found == []

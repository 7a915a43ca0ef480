"""The README's "Gradient checks", "Backends", "Performance" and "Tests" sections walked as a new
user would, with the bad input such a user gives: `minis2s gradcheck` and `bench`, the scripts
under benchmarks/, and the environment variables the text names. Each refusal is one line that
names the problem and its fix, never a traceback, a crash or a silently ignored setting."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minis2s import threads
from minis2s.cli import main
from tests import times_w
from tests.refusals import refusal

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def common(monkeypatch):
    """benchmarks/common.py (not a package), its GEMM peaks not measured."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    import common

    monkeypatch.setattr(common, "measure_peaks", lambda bes: {"cpu": 1.0})
    return common


@pytest.fixture
def avx2_cpu_forced_to_skylakex(monkeypatch):
    """OPENBLAS_CORETYPE=SkylakeX on a CPU without AVX-512 (an AVX2 one), as a user sets it who
    read in the README that the fast tables ran `OpenBLAS kernels SkylakeX`: OpenBLAS loads those
    kernels all the same, and the first matrix product stops the process with SIGILL."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")
    monkeypatch.setattr(threads, "cpu_flags", lambda: {"sse2", "avx", "avx2", "fma"})
    monkeypatch.setattr(threads, "blas_core", lambda: "SkylakeX")


def test_a_forced_openblas_core_the_cpu_cannot_run_is_refused_before_any_gemm(
    avx2_cpu_forced_to_skylakex, capsys
):
    """`OPENBLAS_CORETYPE=SkylakeX minis2s gradcheck` on an AVX2 machine died with "Illegal
    instruction" (exit 132) after the table's header, with no word of why: refused, naming the
    variable and the fix, before any matrix product."""
    line = refusal(capsys, ["gradcheck", "--only", "linear"])
    assert "OPENBLAS_CORETYPE=SkylakeX" in line and "avx512f" in line, line
    assert "env -u OPENBLAS_CORETYPE" in line, line


def test_the_benchmark_scripts_refuse_a_forced_core_the_cpu_cannot_run(
    avx2_cpu_forced_to_skylakex, common, monkeypatch
):
    """The same for `python benchmarks/bench_layers.py` and its siblings, before any timing."""
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy"])
    with pytest.raises(SystemExit, match=r"OPENBLAS_CORETYPE=SkylakeX .*env -u OPENBLAS_CORETYPE"):
        common.main("x", lambda *a: pytest.fail("timed"))


@pytest.mark.parametrize("value", ["junk", "0", "-2", ""])
def test_a_numba_thread_count_that_is_no_count_is_refused_naming_it(monkeypatch, capsys, value):
    """`NUMBA_NUM_THREADS=junk minis2s --backend numba ...` printed Numba's warning with a
    traceback in it; `=0` stopped with "Number of threads specified must be > 0.", naming no
    variable. Refused, naming the variable and the fix, before Numba reads it."""
    monkeypatch.setenv("NUMBA_NUM_THREADS", value)
    line = refusal(capsys, ["--backend", "numba", "gradcheck", "--only", "linear"])
    assert f"NUMBA_NUM_THREADS={value!r}" in line and "env -u NUMBA_NUM_THREADS" in line, line


@pytest.mark.parametrize("value", ["junk", "SciPy", "numpy"])
def test_minis2s_blas_takes_scipy_alone_and_refuses_the_rest(monkeypatch, capsys, value):
    """README: `MINIS2S_BLAS=scipy` forces the numba twins' GEMMs through SciPy's BLAS. Any other
    value was ignored without a word (the twins kept NumPy's OpenBLAS): refused, naming the one
    value it takes."""
    monkeypatch.setenv("MINIS2S_BLAS", value)
    line = refusal(capsys, ["--backend", "numba", "gradcheck", "--only", "linear"])
    assert f"MINIS2S_BLAS={value!r}" in line and "MINIS2S_BLAS=scipy" in line, line


@pytest.mark.parametrize("typed", ["", ",", " , "])
def test_the_scripts_refuse_backends_that_name_none(common, monkeypatch, typed):
    """`bench_layers.py --backends ""` (an unset shell variable) or `--backends ,` stopped with
    an IndexError traceback after the peaks were measured: refused, with what is available."""
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", typed])
    with pytest.raises(SystemExit, match=r"--backends .*names no backend.*available here: numpy"):
        common.main("x", lambda *a: pytest.fail("timed"))


def test_the_scripts_read_a_backend_as_backend_use_does(common, monkeypatch):
    """`--backends Numba` ran the numba backend (backend.use takes any case) but labelled its
    rows "Numba", and picked each row's peak and the PyTorch peer's device by the typed name
    ("CUPY" rated against the CPU's peak, its peer on the CPU): the name is read in lower case."""
    seen = []
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "Numba,NumPy"])
    common.main("x", lambda args, backends, peaks: seen.append(backends) or [])
    assert seen == [["numba", "numpy"]]


def test_the_scripts_refuse_a_backend_given_twice(common, monkeypatch):
    """`--backends numpy,numba,numpy` timed numpy twice, as two rows of one name in the table."""
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy,numba,NumPy"])
    with pytest.raises(SystemExit, match=r"--backends numpy,numba,NumPy names numpy twice"):
        common.main("x", lambda *a: pytest.fail("timed"))


@pytest.mark.parametrize("budget", ["0", "-1", "nan", "inf"])
def test_the_scripts_refuse_a_budget_that_is_no_time(common, monkeypatch, budget):
    """--budget is seconds of timed calls per row: -1 and 0 ran 3 calls a row without a word,
    nan and inf stopped at the first row with a ValueError / OverflowError traceback."""
    monkeypatch.setattr(sys, "argv", ["bench", "--backends", "numpy", "--budget", budget])
    with pytest.raises(SystemExit, match=rf"--budget {budget}: .*e\.g\. --budget 0\.5"):
        common.main("x", lambda *a: pytest.fail("timed"))


def test_the_cupy_backend_without_cupy_names_the_package_to_install(monkeypatch, capsys):
    """`minis2s --backend cupy ...` without CuPy said `pip install 'minis2s[gpu]'`, which asks
    the package index for minis2s (the README installs it from its source tree): it names CuPy's
    own packages, as "The cupy backend (GPU)" installs them."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` fails, as where it is missing
    line = refusal(capsys, ["--backend", "cupy", "gradcheck", "--only", "linear"])
    assert "pip install cupy-cuda12x" in line and "cupy-cuda13x" in line, line
    assert "minis2s[gpu]" not in line and "available here: numpy" in line, line


def test_the_cupy_backend_without_a_gpu_is_one_line_naming_the_fix(monkeypatch, capsys):
    """CuPy installed on a machine without a usable GPU: CUDA's reason (which may run over
    lines) and what to do, a GPU machine or a backend available here, on one line."""
    import importlib.machinery
    import types

    def no_device():
        raise RuntimeError("cudaErrorNoDevice:\nno CUDA-capable device is detected")

    cupy = types.ModuleType("cupy")
    cupy.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    assert main(["--backend", "cupy", "gradcheck", "--only", "linear"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "cudaErrorNoDevice: no CUDA-capable device is detected" in err, err
    assert "a machine with an NVIDIA GPU" in err and "available here: numpy" in err, err


def test_an_unknown_hypothesis_profile_is_refused_naming_the_profiles():
    """`HYPOTHESIS_PROFILE=Dev python -m pytest` (the README says dev) stopped with an
    ImportError while loading conftest.py and hypothesis's traceback, naming no profile there
    is: pytest refuses it in one line that names them."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "Dev"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q", __file__],
        cwd=BENCH_DIR.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "Traceback" not in out and "conftest" not in out, out
    assert "HYPOTHESIS_PROFILE='Dev'" in out and "ci (the default), dev or gpu" in out, out


def test_the_gpu_check_without_cupy_says_what_to_install_without_a_traceback(tmp_path):
    """`bash benchmarks/gpu_check.sh` where CuPy is missing printed a ModuleNotFoundError
    traceback before its summary: one line now names what is missing and what to install."""
    fake = tmp_path / "python"  # `python -c CODE` with `import cupy` failing, CuPy there or not
    run_code = "import sys; sys.modules['cupy'] = None; exec(sys.argv[2])"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{run_code}" "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": str(fake)}
    run = subprocess.run(["bash", str(BENCH_DIR / "gpu_check.sh"), "tests"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 1 and "Traceback" not in out, out
    assert "CuPy does not import" in out and "pip install cupy-cuda13x" in out, out


def test_compare_checkouts_names_how_to_make_a_missing_checkout(monkeypatch, capsys, tmp_path):
    """The README's `compare_checkouts.py ../before . ...` where ../before is not there yet said
    "../before is not a minis2s checkout": it says the path is missing and how to make one."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    import compare_checkouts

    missing = str(tmp_path / "before")
    with pytest.raises(SystemExit):
        compare_checkouts.parse([missing, str(BENCH_DIR.parent)])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{missing} does not exist" in line and "git worktree add" in line, line


def test_gradcheck_refuses_only_given_twice(capsys):
    """`minis2s gradcheck --only lstm --only gru` ran the GRU cases alone (argparse keeps the
    last), and its table said nothing of the LSTM ones asked for."""
    line = refusal(capsys, ["gradcheck", "--no-model", "--only", "linear", "--only", "dropout"])
    assert "--only given twice (--only linear, then --only dropout)" in line, line
    assert "give it once" in line, line


@pytest.mark.parametrize("option", [["--only", "gru", "--only", "lstm"],
                                    ["--backends", "numpy", "--backends", "numba"],
                                    ["--json", "a.json", "--json", "b.json"]])  # fmt: skip
def test_the_scripts_refuse_an_option_given_twice(common, monkeypatch, capsys, tmp_path, option):
    """`bench_layers.py --only gru --only lstm` timed the LSTM rows alone, `--json a --json b`
    wrote b alone, without a word: refused, as `minis2s` refuses them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["bench", *option])
    with pytest.raises(SystemExit):
        common.main("x", lambda *a: pytest.fail("timed"))
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{option[0]} given twice" in line and "give it once" in line, line


def _times_w():
    """The README's first layer of your own, y = x * w (tests/times_w.py), and its arguments."""
    return (times_w.forward, times_w.backward, *times_w.arguments(0))


def test_check_layer_given_one_array_for_inputs_names_the_list_it_takes():
    """check_layer(forward, backward, x, p), without the README's [x]: it unpacked x's 4 rows as
    4 arguments, and the user read "forward() takes 2 positional arguments but 5 were given"."""
    from minis2s.gradcheck import check_layer

    forward, backward, x, w = _times_w()
    with pytest.raises(ValueError, match=r"inputs is one array of shape \(4, 3\).*\[x\]"):
        check_layer(forward, backward, x, {"w": w})


def test_check_layer_names_a_forward_that_returns_no_cache():
    """A forward returning y alone (its cache forgotten): check_layer took y's rows for outputs
    and a cache, and the user read "backward() takes 2 positional arguments but 4 were given"."""
    from minis2s.gradcheck import check_layer

    _, backward, x, w = _times_w()
    with pytest.raises(ValueError, match=r"forward returned one array.*\(\*outputs, cache\)"):
        check_layer(lambda x, p: x * p["w"], backward, [x], {"w": w})


def test_check_layer_refuses_a_parameter_that_is_no_array():
    """params={"w": [0.1, 0.2, 0.3]} failed inside the check with "AttributeError: 'list' object
    has no attribute 'dtype'": refused, naming the parameter and what to give."""
    from minis2s.gradcheck import check_layer

    forward, backward, x, w = _times_w()
    with pytest.raises(ValueError, match=r"params\['w'\] is a list.*np\.asarray"):
        check_layer(forward, backward, [x], {"w": list(w)})


def test_check_layer_given_integers_names_the_input_not_backward():
    """x = np.arange(12).reshape(4, 3), meant as floats, is int64: the refusal blamed an array of
    another dtype in backward, where nothing is wrong; it names the integer input and the fix."""
    import numpy as np

    from minis2s.gradcheck import check_layer

    forward, backward, _, w = _times_w()
    with pytest.raises(ValueError, match=r"x is int64.*np\.asarray\(x, dtype=np\.float64\)"):
        check_layer(forward, backward, [np.arange(12).reshape(4, 3)], {"w": w})


def test_the_benchmarks_say_when_openblas_took_other_kernels_than_the_forced_ones(monkeypatch):
    """`OPENBLAS_CORETYPE=Skylake-X python benchmarks/bench_layers.py` (a misspelt family):
    OpenBLAS ignores a name it does not know and picks its own kernels, and the run said nothing
    of it. The note the benchmarks print where the variable holds OpenBLAS back says so too."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Skylake-X")
    monkeypatch.setattr(threads, "cpu_flags", lambda: {"sse2", "avx", "avx2", "fma"})
    monkeypatch.setattr(threads, "blas_core", lambda: "Haswell")
    note = threads.forced_core_note()
    assert note is not None and "OPENBLAS_CORETYPE=Skylake-X" in note, note
    assert "runs its Haswell kernels" in note and "unset it" in note, note

"""Behaviours of the newest code (_warn, the token ids load_data reads a corpus into, the option
types and size checks of the command line, checkpoints read whole) that a mutation test found
untested: each test here failed on a one-line mutant of the library (named in its comment) that
every other test passed."""

import os
import subprocess
import sys
import warnings

from minis2s import _warn
from minis2s.data import loading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- _warn: where a warning is placed, and how often it is shown ------------------------------


def _too_few_pairs() -> None:
    """A warning from inside minis2s (load_data's: a --train-size above the pairs there are)."""
    loading._warn_of_train_size(5, 3, 0, False)


def test_warn_called_directly_is_placed_at_its_callers_line():
    """warn starts at the frame that called it: called from outside the package, that frame is
    the caller's own. Mutant: caller_frame(sys._getframe(2)), which placed it a frame further out
    (pytest's)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        _warn.warn("x")
        line = sys._getframe().f_lineno - 1
    assert (w[0].filename, w[0].lineno) == (__file__, line)


def test_a_warning_under_the_default_filter_is_shown_once_at_its_line():
    """Python's "default" action shows a warning once a place, as warnings.warn does, by the
    caller module's __warningregistry__: a loop over translate must not repeat it each time.
    Mutant: warn_explicit(registry=None), which showed it at every call."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("default")
        for _ in range(3):
            _too_few_pairs()
    assert len(w) == 1, [str(r.message) for r in w]


def test_a_file_beside_the_package_whose_name_starts_like_it_is_the_callers():
    """A script next to the package directory, `minis2s_demo.py`, is not minis2s's file: the
    warning is placed in it. Mutant: PACKAGE_DIR without its trailing separator, which took
    every path that starts with '.../minis2s' for the package's."""
    package = os.path.dirname(os.path.abspath(_warn.__file__))
    script = package + "_demo.py"
    source = (
        "import sys\n\nwarn_of_train_size(5, 3, 0, False)\nline = sys._getframe().f_lineno - 1\n"
    )
    names = {"warn_of_train_size": loading._warn_of_train_size}  # a function of minis2s
    code = compile(source, script, "exec")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        exec(code, names)
    assert (w[0].filename, w[0].lineno) == (script, names["line"])


def test_a_warning_under_python_c_is_shown_not_raised():
    """`python -c` and the interactive interpreter run __main__ with the built-in importer as its
    loader, whose get_source raises ImportError: warn_explicit(module_globals=__main__'s) raised
    that in place of each minis2s warning, on every Python from 3.10 (warnings.warn reads no
    source line there)."""
    code = "from minis2s.data import loading; loading._warn_of_train_size(5, 3, 0, False)"
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "<string>:1: UserWarning: --train-size 5 (train_size) asks for more" in done.stderr

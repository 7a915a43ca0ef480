"""`warn`: a warning at the line of the caller's code that called into minis2s.

`warnings.warn(..., stacklevel=K)` names the frame K calls up, so K must be counted by hand, and
the count goes wrong whenever a function is split or reached by another path (the dev
evaluation's LongSourceWarning pointed at minis2s/dev_figures.py when the trainer called it).
`warn` walks the stack instead: out of this package's files to the first frame of the caller's
(a script's line, a notebook cell, a test; runpy's under `python -m minis2s`, whose notes the
command line prints without a place). That frame's file, line, module and warning registry go to
`warnings.warn_explicit`, as `warnings.warn` passes them, so `python -W error` and
`warnings.filterwarnings(module=...)` see the caller's module, and one code path serves every
Python from 3.10 (3.12's `skip_file_prefixes` would not). Every warning the package gives goes
through `warn` (tests/test_warning_locations.py checks each one's place, and that no
warnings.warn is left in minis2s).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from types import FrameType

PACKAGE_DIR = os.path.join(os.path.dirname(__file__), "")  # as the package's code names its files
# contextlib runs a @contextmanager's body (run_lock.hold's) from its own __enter__ and __exit__:
# a frame between two of the package's, not the caller's
_PASSED_THROUGH = (PACKAGE_DIR, contextlib.__file__)


def warn(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """`warnings.warn(message, category)` at the caller's line (`caller_frame`); a Warning
    instance as `message` is its own category, as with `warnings.warn`."""
    frame = caller_frame(sys._getframe(1))
    where = frame.f_globals
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=where.get("__name__", "<string>"),  # what warnings.warn takes a module's name to be
        registry=where.setdefault("__warningregistry__", {}),
    )  # no module_globals: warn_explicit then asks __main__'s loader for its source, which under
    # `python -c` and the interactive interpreter (the built-in importer) raises ImportError


def caller_frame(frame: FrameType) -> FrameType:
    """The first frame from `frame` outwards that is not in this package (nor contextlib's, which
    runs the package's context managers); the outermost frame when every one is (a thread that
    minis2s started)."""
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PASSED_THROUGH):
        frame = frame.f_back
    return frame

"""Where a run's data came from and which pairs it held, as the run records them (run_config.py)
so that `--resume` reads the same files and checks that it goes on with the same pairs: the
corpus files' absolute paths (`source_of`), the run's default name (`run_name`), and a fingerprint
of the pairs (`fingerprint`). load_data (data/loading.py) names a run and records its source with
these; run_config.py, evaluate_commands.py and pipeline.py fingerprint its pairs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.data.load_checks import Corpus, as_list


def source_of(
    task: str | None, data: Corpus | None, dev_data: Corpus | None, test_data: Corpus | None
) -> dict[str, Any]:
    """Where the data comes from, as a run records it so that `--resume` finds it again:
    {"task": name}, or a corpus's {"data", "dev_data", "test_data"}, each a list of absolute
    paths (one TSV file, or source and target files) or None (not given), so a resume from
    another working directory reads the same files."""
    if task is not None:
        return {"task": task}
    corpora = {"data": data, "dev_data": dev_data, "test_data": test_data}
    return {flag: None if corpus is None else [os.path.abspath(p) for p in as_list(corpus)]
            for flag, corpus in corpora.items()}  # fmt: skip


def run_name(task: str | None, data: Corpus | None) -> str:
    """A run's name: the task's, or the corpus (source) file's without its extension."""
    if task is not None:
        return task
    path = data if isinstance(data, (str, os.PathLike)) or data is None else data[0]
    return os.path.splitext(os.path.basename(str(path)))[0]


def fingerprint(pairs: Sequence[tuple[Any, str]]) -> str:
    """'<n> pairs, sha256 <first 12 hex digits>' of (source, target) pairs, a source being text
    or an (S, F) array: a resumed run checks that it goes on with the data it started with."""
    h = hashlib.sha256()
    for src, tgt in pairs:
        if isinstance(src, str):
            h.update(repr((src, tgt)).encode())
        else:
            a = np.ascontiguousarray(src)
            h.update(repr((a.shape, a.dtype.str, tgt)).encode() + a.tobytes())
    return f"{len(pairs)} pairs, sha256 {h.hexdigest()[:12]}"

"""Input checks that fail early with a message naming the argument, what it got and what it wants.

Each check is cheap (shape and dtype inspection only, except `token_ids` and `mask`, which look
at values once per call) and raises `ValueError` so that a caller sees
`lstm.forward: h0 has shape (3, 5), expected (N, H) = (4, 5)` instead of a broadcasting error
from deep inside NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.backend import get_array_module


def shape(where: str, name: str, a: Any, want: Sequence[int | None], letters: str) -> None:
    """Check `a.shape` against `want` (None = any size); `letters` names the axes ("N, T, D")."""
    got = getattr(a, "shape", None)
    if got is None:
        raise ValueError(f"{where}: {name} must be an array of shape ({letters}); got {type(a)!r}")
    ok = len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want, strict=False))
    if not ok:
        sizes = ", ".join("?" if w is None else str(w) for w in want)
        raise ValueError(
            f"{where}: {name} has shape {tuple(got)}, expected ({letters}) = ({sizes})"
        )


def floating(where: str, name: str, a: Any, dtype: Any = None) -> None:
    """Check that `a` is floating point and, if `dtype` is given, of that dtype."""
    dt = np.dtype(a.dtype)
    if dt.kind != "f":
        raise ValueError(f"{where}: {name} must be a float array; got dtype {dt}")
    if dtype is not None and dt != np.dtype(dtype):
        raise ValueError(
            f"{where}: {name} has dtype {dt} but the parameters are {np.dtype(dtype)}; "
            f"cast one of them (e.g. {name}.astype({np.dtype(dtype).name}))"
        )


def mask(where: str, m: Any, N: int, T: int, dtype: Any, like: Any = None) -> Any:
    """Check a (N, T) 0/1 mask and return it as a float array of `dtype` (all ones if None,
    on the array module of `like`, so a CuPy batch gets a CuPy mask)."""
    xp = get_array_module(m if m is not None else like)
    if m is None:
        return xp.ones((N, T), dtype=dtype)
    shape(where, "mask", m, (N, T), "N, T")
    mf = xp.asarray(m).astype(dtype)
    if not bool(xp.all((mf == 0) | (mf == 1))):
        raise ValueError(f"{where}: mask must hold only 0 and 1 (1 = real token, 0 = padding)")
    return mf


def token_ids(where: str, name: str, ids: Any, V: int) -> None:
    """Check that `ids` are integers in [0, V): one look at the values (on CuPy, one wait for the
    device), two more only to word the error."""
    dt = np.dtype(ids.dtype)
    if dt.kind not in "iu":
        raise ValueError(f"{where}: {name} must hold integer token ids; got dtype {dt}")
    if ids.size and bool(((ids < 0) | (ids >= V)).any()):
        raise ValueError(
            f"{where}: {name} holds ids in [{int(ids.min())}, {int(ids.max())}] "
            f"but the vocabulary has V = {V} entries (valid ids 0..{V - 1})"
        )

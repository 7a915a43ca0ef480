"""Input checks that fail early with a message naming the argument, what it got and what it wants.

Each check is cheap (shape and dtype inspection only, except `token_ids` and `mask`, which look
at values once per call) and raises `ValueError` so that a caller sees
`lstm.forward: h0 has shape (3, 5), expected (N, H) = (4, 5)` instead of a broadcasting error
from deep inside NumPy. A list or a number where an array belongs gets such a message too
(`array`), not an AttributeError. The layers' backward passes that reach a compiled loop or a
product that could broadcast check their upstream gradients (`gradient`) before anything uses
them: a compiled (numba) loop reads past the end of a short array unchecked.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from minis2s.backend import get_array_module


def array(where: str, name: str, a: Any, letters: str | None = None) -> None:
    """Check that `a` is an array (NumPy or CuPy: it has a shape and a dtype), not a list or a
    number; `letters` names the axes wanted, for the message."""
    if not (hasattr(a, "shape") and hasattr(a, "dtype")):
        want = "" if letters is None else f" of shape ({letters})"
        raise ValueError(
            f"{where}: {name} must be an array (numpy/cupy){want}; got {type(a).__name__}"
        )


def integer(where: str, name: str, value: Any, minimum: int | None) -> None:
    """ValueError unless `value` is an integer (not a bool, not a float) >= `minimum` (None:
    any integer, the caller checks the range)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        at_least = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{where}: {name} must be an integer{at_least}; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}; got {value}")


def path(where: str, name: str, value: Any, want: str) -> str:
    """`value` as a str: a str or os.PathLike naming a file, else ValueError `{where}: {name} is
    ...; give {want}`. open() takes an int (True too) for a file descriptor, which it reads and
    then closes (True: standard output); pathlib's TypeError of anything else, its
    "PosixPath('.') has an empty name" of '' and open()'s "embedded null byte" named neither the
    call nor the argument."""
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str):  # None, 3, True, bytes, a PathLike of bytes
        shown = "None" if value is None else f"{type(value).__name__} {value!r:.40}"
        raise ValueError(f"{where}: {name} is {shown}; give {want}, as a str or pathlib.Path")
    if not text.strip():
        raise ValueError(f"{where}: {name} is {text!r}; give {want}")  # blank
    if "\0" in text:
        raise ValueError(
            f"{where}: {name} is {text!r:.40}, which holds a NUL character (\\0) that no file "
            f"name has; give {want}"
        )
    return text


def boolean(where: str, name: str, value: Any) -> None:
    """ValueError unless `value` is True or False (a NumPy bool too): a flag taken by truthiness
    would read "no" (a non-empty string) as True, and 0 or None as False without a word."""
    if not isinstance(value, bool | np.bool_):
        hint = ", not a string: any non-empty one, 'no' too, reads as True" * isinstance(value, str)
        raise ValueError(f"{where}: {name}={value!r:.40}; give True or False{hint}")


def size(where: str, name: str, value: Any) -> None:
    """ValueError unless `value` is an integer >= 1: a layer's size (D, H, V, E ...) for `init`,
    so that H = -1 is named here rather than in the random generator's "high - low range"."""
    integer(where, name, value, 1)


def cache(where: str, c: Any, want: type, forward: str) -> None:
    """ValueError unless `c` is the cache a `forward` pass returned (a NamedTuple of class
    `want`): another layer's cache would be unpacked into wrong fields ("too many values to
    unpack") or read as if it were this layer's."""
    if not isinstance(c, want):
        raise ValueError(
            f"{where}: cache is {type(c).__name__}, expected the {want.__name__} that {forward} "
            "returned; pass each layer's own cache to its backward"
        )


def params(where: str, p: Any, names: Sequence[str], init: str) -> None:
    """ValueError unless `p` is a dict holding every name of `names` (the parameters `init`
    makes), so a missing one is named instead of a bare KeyError."""
    missing = [n for n in names if n not in p] if isinstance(p, dict) else list(names)
    if missing:
        got = "" if isinstance(p, dict) else f" (p is {type(p).__name__}, not a dict)"
        raise ValueError(
            f"{where}: p has no {', '.join(missing)}{got}; this layer needs "
            f"{', '.join(names)} (its `{init}` makes them)"
        )


def unused(where: str, p: dict, names: Sequence[str], user: str, init: str) -> None:
    """ValueError if `p` holds a key besides `names`, the parameters `user` reads (as `init` makes
    them): a key the layer never reads (another score kind's weights, PyTorch's W_hr) would be
    ignored without a word, the answer computed from the others whatever the caller meant."""
    extra = [str(k) for k in p if k not in names]
    if extra:
        takes = ", ".join(names) if names else "no parameters"
        raise ValueError(
            f"{where}: p has {', '.join(extra)}, which {user} does not use (it takes {takes}, "
            f"as `{init}` makes them); pass only those, or call the layer the others are for"
        )


def finite(where: str, name: str, value: Any) -> None:
    """ValueError unless `value` is a finite real number (NaN or inf would decode nothing)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number; got {value!r}")


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes, or None where it does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


class TooLarge(MemoryError):
    """A size refused before anything is allocated, naming the argument: a MemoryError still, as
    NumPy's own refusal of the allocation was (the command line says "out of memory")."""


def fits(where: str, what: str, nbytes: float) -> None:
    """TooLarge when `what` needs `nbytes` (a lower bound), more than this machine's memory: an
    allocation NumPy would refuse deep inside with a MemoryError naming no argument, or a loop
    that would allocate for ever (10**12 layers, one small matrix at a time)."""
    memory = memory_bytes()
    if memory is not None and nbytes > memory:
        raise TooLarge(
            f"{where}: {what} need at least {nbytes / 2**30:.3g} GiB, more than this machine's "
            f"{memory / 2**30:.3g} GiB of memory; lower them"
        )


def weights(
    where: str, rng: Any, dtype: Any, shapes: Sequence[tuple[int, ...]], sizes: dict[str, Any]
) -> None:
    """An `init`'s arguments besides its sizes (checked first, with `size`): `rng` a NumPy
    Generator (None was an AttributeError from rng.uniform), `dtype` float32 or float64 (int32
    drew U(-k, k) weights cast to 0s, 'x' was NumPy's TypeError), and `shapes` within memory
    (TooLarge, naming `sizes`: each float64 draw and its cast)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{where}: rng must be a numpy Generator (np.random.default_rng(seed)); got "
            f"{type(rng).__name__}"
        )
    if dtype not in ("float32", "float64", np.float32, np.float64):
        name = dtype.__name__ if isinstance(dtype, type) else dtype
        raise ValueError(f"{where}: dtype {name!r:.40} is not supported; use float32 or float64")
    n = sum(math.prod(s) for s in shapes)
    named = ", ".join(f"{k} {v}" for k, v in sizes.items())
    fits(where, f"weights of {named}", n * (8 + np.dtype(dtype).itemsize))


def model(where: str, m: Any) -> None:
    """ValueError unless `m` is a model that decodes (a Seq2Seq or an Ensemble: `encode` and
    `step`), not None or its config."""
    if not (callable(getattr(m, "encode", None)) and callable(getattr(m, "step", None))):
        raise ValueError(
            f"{where}: model is {type(m).__name__}; give a Seq2Seq (Seq2Seq(ModelConfig(...))) "
            "or an Ensemble, such as Translator.model"
        )


def shape(where: str, name: str, a: Any, want: Sequence[int | None], letters: str) -> None:
    """Check `a.shape` against `want` (None = any size); `letters` names the axes ("N, T, D")."""
    got = getattr(a, "shape", None)
    if got is None:
        array(where, name, a, letters)
    ok = len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want, strict=False))
    if not ok:
        sizes = ", ".join("?" if w is None else str(w) for w in want)
        one = "," * (len(want) == 1)  # a 1-D shape as Python writes it: (4,), not (4)
        axes, *note = letters.split(";", 1)  # "G*H; G = 4": the axes, then what a letter is
        axes = ";".join([axes + one, *note])
        raise ValueError(
            f"{where}: {name} has shape {tuple(got)}, expected ({axes}) = ({sizes}{one})"
        )


def floating(where: str, name: str, a: Any, dtype: Any = None) -> None:
    """Check that `a` is floating point and, if `dtype` is given, of that dtype."""
    if not hasattr(a, "dtype"):
        array(where, name, a)
    dt = np.dtype(a.dtype)
    if dt.kind != "f":
        raise ValueError(f"{where}: {name} must be a float array; got dtype {dt}")
    if dtype is not None and dt != np.dtype(dtype):
        raise ValueError(
            f"{where}: {name} has dtype {dt} but the parameters are {np.dtype(dtype)}; "
            f"cast one of them (e.g. {name}.astype({np.dtype(dtype).name}))"
        )


def gradient(
    where: str, name: str, g: Any, want: Sequence[int | None], letters: str, dtype: Any
) -> None:
    """Check an upstream gradient `g` against the shape (`want`, named by `letters`) and the dtype
    its backward pass was built for, before any product broadcasts it into a wrong result or a
    compiled loop (which checks no bounds) reads past its end."""
    if getattr(g, "shape", None) == tuple(want) and getattr(g, "dtype", None) == dtype:
        return  # the usual case, at every step of a decoder's loop: ~0.1 us instead of ~1 us
    shape(where, name, g, want, letters)
    if not hasattr(g, "dtype"):
        array(where, name, g)
    got, dtype = np.dtype(g.dtype), np.dtype(dtype)
    if got != dtype:
        raise ValueError(
            f"{where}: {name} has dtype {got} but the forward pass ran in {dtype}; "
            f"cast it with .astype(np.{dtype.name})"
        )


def mask(where: str, m: Any, N: int, T: int, dtype: Any, like: Any = None) -> Any:
    """Check a (N, T) 0/1 mask and return it as a float array of `dtype` (all ones if None) on
    the array module of `like` (the data it masks) where given, else on its own: a NumPy mask
    beside CuPy data is copied to the GPU once, here, as CuPy's operations would refuse it."""
    xp = get_array_module(like if like is not None else m)
    if m is None:
        return xp.ones((N, T), dtype=dtype)
    shape(where, "mask", m, (N, T), "N, T")
    real(where, m)
    if xp is np and get_array_module(m) is not np:
        raise TypeError(
            f"{where}: mask is a CuPy (GPU) array but the data it masks are NumPy arrays; pass "
            "minis2s.backend.to_numpy(mask), or put the data on the GPU too"
        )
    mf = xp.asarray(m).astype(dtype)
    if not bool(xp.all((mf == 0) | (mf == 1))):
        raise ValueError(f"{where}: mask must hold only 0 and 1 (1 = real token, 0 = padding)")
    return mf


def real(where: str, m: Any) -> None:
    """ValueError unless the mask `m` is of bool, integer or float dtype: a complex one was cast
    to float with a ComplexWarning, its imaginary part dropped, and used."""
    dt = np.dtype(m.dtype)
    if dt.kind not in "biuf":
        raise ValueError(
            f"{where}: mask has dtype {dt}; give a 0/1 mask of bool, int or float "
            "(1 = real token, 0 = padding)"
        )


def token_ids(where: str, name: str, ids: Any, V: int) -> None:
    """Check that `ids` are integers in [0, V): one look at the values (on CuPy, one wait for the
    device), two more only to word the error."""
    if not hasattr(ids, "dtype"):
        array(where, name, ids)
    dt = np.dtype(ids.dtype)
    if dt.kind not in "iu":
        raise ValueError(f"{where}: {name} must hold integer token ids; got dtype {dt}")
    if ids.size and bool(((ids < 0) | (ids >= V)).any()):
        raise ValueError(
            f"{where}: {name} holds ids in [{int(ids.min())}, {int(ids.max())}] "
            f"but the vocabulary has V = {V} entries (valid ids 0..{V - 1})"
        )

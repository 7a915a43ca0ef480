"""NumPy dressed as a GPU array module, counting every host round trip and every copy to the
device that the code under test makes.

On CuPy, turning a device array into a Python value (`bool`, `float`, `int`, use as an index,
`.item()`, `.tolist()`, `.get()`) copies it to the host and waits for the GPU to finish. A
training step that does this at every decoder step stalls the GPU T times per batch. This module
lets a CPU test see those round trips without a GPU:

- `Device` is an ndarray subclass whose class says it comes from "cupy", so
  `minis2s.backend.get_array_module` takes its arrays for CuPy's and hands out `fake_cupy`, and
  the code runs its CuPy path (the reference code, no Numba twins).
- `fake_cupy` is NumPy whose functions return `Device` arrays, as CuPy's return device arrays.
- `Device` counts each conversion to a Python value under the line of minis2s code that made it,
  and, as CuPy does, gives a 0-d array rather than a Python scalar when indexed to one element.
- `TO_DEVICE` counts, likewise, each copy of host data to the device (`asarray` of a host array,
  `Device.set` from a pinned buffer). CuPy's `asarray` stages a host array through a pinned
  buffer of its own and copies it asynchronously (cupy/_core/core.pyx `_send_object_to_gpu`),
  so it does not wait for the device, but each costs host work, a buffer and a DMA launch: one
  inside a step loop is one per step. `Device.set` without a stream counts as a round trip too:
  CuPy 14 copies on the current stream either way, but older CuPy made it a blocking cudaMemcpy,
  so minis2s names the stream.
- `fake_cupy.ElementwiseKernel` (and `ReductionKernel`, for sums) runs a fused kernel's C as
  Python (it is written in the part of C that is also Python, `minis2s.kernels.elementwise`), so
  the cupy backend's twins run here too.
- `LAUNCHES` counts, likewise, the kernels the code would launch on CuPy: each ufunc call
  (arithmetic, `matmul`, a reduction such as `sum` or `max`), each function of the array module
  that computes or fills an array (`zeros`, `where`, `concatenate`, ...), each assignment into an
  array, each gather by an index array, `astype` / `copy`, and each fused kernel, counted once
  and not for the NumPy it runs on here. Views (slices, `reshape`, `.T`) and `empty` launch
  nothing. At a decoder step's sizes each launch costs CuPy's Python and a CUDA launch, more than
  its arithmetic, so the count is what the twins reduce. It follows CuPy's API, not its
  internals: where CuPy launches two kernels for one call (a reduction over a long row), it
  counts one.
- It refuses what CuPy refuses (tests/test_cupy_stand_in.py names the CuPy source of each rule):
  a NumPy array in a ufunc, `where`, `concatenate` or `stack`, or in a fused kernel; a fused
  kernel's arrays of two dtypes; a ufunc keyword other than `out`, `dtype` and `casting`; the
  ufunc methods CuPy has not got (`maximum.reduce`, `multiply.at`) and their NumPy-only
  keywords (`add.reduce(initial=...)`); array-method arguments
  CuPy's methods do not take (`max(initial=...)`, `sum(where=...)`, `take(mode=...)`). NumPy's
  own calls, which the stand-in runs on, are exempt.

Use `on_fake_device()` as a context manager: inside it the current backend is "cupy" on
`fake_cupy` with the cupy twins (`twins=False`: the reference alone), and `ROUND_TRIPS`,
`TO_DEVICE` and `LAUNCHES` count.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

import minis2s
from minis2s import backend
from minis2s.kernels import cupy_kernels
from minis2s.kernels.elementwise import Elementwise

ROUND_TRIPS: collections.Counter = collections.Counter()  # "file.py:line" -> conversions
TO_DEVICE: collections.Counter = collections.Counter()  # "file.py:line" -> host-to-device copies
LAUNCHES: collections.Counter = collections.Counter()  # "file.py:line" -> kernel launches


def _count(counter: collections.Counter = ROUND_TRIPS) -> None:
    """Count one under the innermost minis2s line on the stack (not this file's)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = _minis2s_file(frame.f_code)
        if name:
            counter[f"{name}:{frame.f_lineno}"] += 1
            return
        frame = frame.f_back
    counter["(outside minis2s)"] += 1


# minis2s's own files, found by the package's directory (not by "/minis2s/" in a path: a checkout
# in a folder named minis2s has that in its tests' paths too)
_PACKAGE = os.path.dirname(os.path.abspath(minis2s.__file__)) + os.sep


@functools.cache
def _minis2s_file(code: types.CodeType) -> str:
    """The file name of `code` if it is minis2s code, else "" (cached: a launch walks the stack
    through the same few functions millions of times in a gradient check)."""
    path = os.path.abspath(code.co_filename)
    return os.path.basename(path) if path.startswith(_PACKAGE) else ""


_inside = 0  # > 0 while a counted launch runs: the NumPy it runs on here is not counted again


@contextlib.contextmanager
def _launch() -> Iterator[None]:
    """One kernel launch (counted unless inside another), around the NumPy that stands for it."""
    global _inside
    if _inside == 0:
        _count(LAUNCHES)
    _inside += 1
    try:
        yield
    finally:
        _inside -= 1


def _gathers(key: Any) -> bool:
    """An index with an array or a list in it: a gather (or scatter) kernel on CuPy."""
    return any(
        isinstance(k, np.ndarray | list) for k in (key if isinstance(key, tuple) else (key,))
    )


def _as_device(value: Any) -> Any:
    """A result as CuPy gives it: arrays (0-d for one element) on the device."""
    if isinstance(value, np.generic):
        return np.asarray(value).view(Device)
    if isinstance(value, tuple):
        return tuple(_as_device(v) for v in value)
    return _on_device(value)


class Device(np.ndarray):
    """A NumPy array that counts its conversions to host values, like a CuPy array would pay."""

    __module__ = "cupy._fake"  # what get_array_module looks at

    def __getitem__(self, key: Any) -> Any:
        if _gathers(key):
            with _launch():
                out = super().__getitem__(key)
        else:
            out = super().__getitem__(key)
        return out if isinstance(out, np.ndarray) else np.asarray(out).view(Device)

    def __setitem__(self, key: Any, value: Any) -> None:
        with _launch():  # a copy, fill or scatter kernel
            super().__setitem__(key, value)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """A ufunc call, or its reduce / accumulate / at: one kernel."""
        plain = lambda a: np.asarray(a) if isinstance(a, Device) else a  # noqa: E731
        _refuse_host_arrays(ufunc.__name__, inputs)
        if not _from_numpy(sys._getframe(1)):
            _check_ufunc_call(ufunc.__name__, method, kwargs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(plain(o) for o in out)
        with _launch():
            result = getattr(ufunc, method)(*(plain(a) for a in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _as_device(result)

    def astype(self, dtype: Any, *args: Any, copy: bool = True, **kwargs: Any) -> Any:
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        with _launch():
            return super().astype(dtype, *args, copy=copy, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        with _launch():
            return super().copy(*args, **kwargs)

    def reshape(self, *shape: Any, order: str = "C", copy: bool | None = None) -> Any:
        """CuPy 14.2's `reshape(*shape, order='C', copy=None)`, on every NumPy (its own takes
        `copy` from 2.1 on): True copies (one kernel), False refuses where a view cannot do."""
        out = super().reshape(*shape, order=order)
        if copy:
            return out.copy()
        if copy is False and not np.shares_memory(out, self):
            raise ValueError("Unable to avoid creating a copy while reshaping.")
        return out

    def fill(self, value: Any) -> None:
        with _launch():
            super().fill(value)

    def __bool__(self) -> bool:
        _count()
        return bool(np.asarray(self))

    def __float__(self) -> float:
        _count()
        return float(np.asarray(self))

    def __int__(self) -> int:
        _count()
        return int(np.asarray(self))

    def __index__(self) -> int:
        _count()
        return np.asarray(self).__index__()

    def item(self, *args: Any) -> Any:
        _count()
        return np.asarray(self).item(*args)

    def tolist(self) -> Any:
        _count()
        return np.asarray(self).tolist()

    def get(self) -> np.ndarray:
        """CuPy's device-to-host copy."""
        _count()
        return np.array(self)

    def set(self, host: np.ndarray, stream: Any = None) -> None:
        """CuPy's host-to-device copy into this array (same shape and dtype). CuPy 14's `set`
        copies asynchronously on the given stream, else on the current one (cupy/_core/core.pyx
        `set`: `copy_from_host_async`); older CuPy's, without a stream and on the null stream,
        was a cudaMemcpy that returns only when the device has finished everything queued
        before it. So a stream-less call counts as a round trip here: naming the stream keeps
        the copy asynchronous on every CuPy."""
        if not isinstance(host, np.ndarray) or host.dtype != self.dtype:
            raise TypeError(f"set: {type(host).__name__} {host.dtype} into {self.dtype}")
        if host.shape != self.shape:
            raise ValueError(f"set: shape {host.shape} into {self.shape}")
        _count(TO_DEVICE)
        if stream is None:
            _count(ROUND_TRIPS)
        np.copyto(self, host)


_NUMPY = os.path.dirname(os.path.abspath(np.__file__)) + os.sep


def _from_numpy(frame: types.FrameType) -> bool:
    """Whether `frame` is NumPy's own Python: the NumPy the stand-in runs on calls its ufuncs and
    methods with keywords CuPy's never see (`.max()` passes `initial` and `where` to
    `maximum.reduce`), so only the calls from outside NumPy are held to CuPy's signatures."""
    return os.path.abspath(frame.f_code.co_filename).startswith(_NUMPY)


UFUNC_KEYWORDS = frozenset({"out", "dtype", "casting"})  # cupy/_core/_kernel.pyx ufunc.__call__
# cupy/_core/_kernel.pyx: ufunc.reduce / accumulate / reduceat exist for these only
UFUNC_METHODS = {"reduce": {"add", "multiply"}, "accumulate": {"add", "multiply"},
                 "reduceat": {"add"}}  # fmt: skip
# the keywords of those methods (NumPy passes positional axis, dtype, out as keywords too)
METHOD_KEYWORDS = {"reduce": {"axis", "dtype", "out", "keepdims"},
                   "accumulate": {"axis", "dtype", "out"},
                   "reduceat": {"axis", "dtype", "out"}}  # fmt: skip
# ufunc.at needs a scatter kernel (`_scatter_op`, cupy/_core/_kernel.pyx `ufunc.at`); CuPy 14.2
# has one for these only, every other ufunc's `at` is NotImplementedError
AT = frozenset("add subtract maximum minimum bitwise_and bitwise_or bitwise_xor".split())


def _check_ufunc_call(name: str, method: str, kwargs: dict) -> None:
    """What CuPy's ufunc refuses of a call: a keyword other than out, dtype and casting (NumPy's
    `where=` among them), and the methods it has not got."""
    extra = set(kwargs) - UFUNC_KEYWORDS
    if method == "__call__" and extra:
        raise TypeError(f"{name}: Wrong arguments {sorted(extra)} (CuPy's ufuncs take "
                        "out, dtype and casting: cupy/_core/_kernel.pyx)")  # fmt: skip
    if method in UFUNC_METHODS and name not in UFUNC_METHODS[method]:
        raise NotImplementedError(f"`{name}.{method}` is not supported yet (CuPy's message)")
    if method in METHOD_KEYWORDS and set(kwargs) - METHOD_KEYWORDS[method]:
        raise TypeError(f"{name}.{method}() got an unexpected keyword argument "
                        f"{sorted(set(kwargs) - METHOD_KEYWORDS[method])} on CuPy")  # fmt: skip
    if method == "at" and name not in AT:
        raise NotImplementedError(f"`{name}.at` is not supported yet (CuPy's message)")


# Array methods whose arguments differ from NumPy's, as CuPy declares them (cupy/_core/core.pyi,
# cupy/_core/core.pyx): the parameters in order; "*" first: any number of positionals.
CUPY_METHODS = {
    "sum": "axis dtype out keepdims", "prod": "axis dtype out keepdims",
    "mean": "axis dtype out keepdims", "var": "axis dtype out ddof keepdims",
    "std": "axis dtype out ddof keepdims", "max": "axis out keepdims", "min": "axis out keepdims",
    "argmax": "axis out dtype keepdims",
    "argmin": "axis out dtype keepdims", "all": "axis out keepdims", "any": "axis out keepdims",
    "cumsum": "axis dtype out", "cumprod": "axis dtype out", "clip": "min max out",
    "round": "decimals out", "take": "indices axis out", "repeat": "repeats axis", "item": "",
    "astype": "dtype order casting subok copy", "copy": "order", "sort": "axis kind",
    "argsort": "axis kind", "partition": "kth axis", "argpartition": "kth axis",
    "searchsorted": "v side sorter", "nonzero": "", "squeeze": "axis", "flatten": "order",
    "put": "indices values mode", "reshape": "* order copy", "transpose": "*",
}  # fmt: skip


def _cupy_method(name: str, params: str, base: Any) -> Any:
    """`base` (ndarray's or Device's method), refusing what CuPy's `name` does not take."""
    names = params.split()
    varargs = names[:1] == ["*"]
    names = names[1:] if varargs else names

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _from_numpy(sys._getframe(1)):
            if not varargs and len(args) > len(names):
                raise TypeError(f"{name}() takes {len(names)} positional arguments on CuPy "
                                f"({params or 'none'}); got {len(args)}")  # fmt: skip
            taken = set(names[: 0 if varargs else len(args)])
            for k in kwargs:
                if k not in names or k in taken:
                    raise TypeError(f"{name}() got an unexpected keyword argument {k!r} on "
                                    f"CuPy, which takes {params or 'none'}")  # fmt: skip
        return base(self, *args, **kwargs)

    method.__name__ = name
    return method


def _refuse_host_arrays(name: str, inputs: tuple) -> None:
    """CuPy's ufuncs refuse a NumPy array among their arguments (no copy to the device behind
    the caller's back): TypeError, as CuPy raises it. NumPy scalars and Python numbers pass."""
    for a in inputs:
        if isinstance(a, np.ndarray) and not isinstance(a, Device) and a.ndim > 0:
            raise TypeError(f"{name}: Unsupported type {type(a)} (a host array in a device ufunc)")


for _name, _params in CUPY_METHODS.items():
    setattr(Device, _name, _cupy_method(_name, _params, getattr(Device, _name)))


def _on_device(value: Any) -> Any:
    if isinstance(value, np.ndarray) and not isinstance(value, Device):
        return value.view(Device)
    if isinstance(value, tuple):
        return tuple(_on_device(v) for v in value)
    return value


# Functions of the array module that allocate without writing, make views or read shapes: no
# kernel. Every other function of it computes or fills an array: one kernel.
NO_KERNEL = frozenset("""
    empty empty_like reshape ravel transpose swapaxes moveaxis expand_dims squeeze broadcast_to
    broadcast_arrays atleast_1d atleast_2d atleast_3d split array_split result_type promote_types
    can_cast broadcast_shapes shape ndim size shares_memory may_share_memory isscalar finfo iinfo
    """.split())  # fmt: skip


# Functions that CuPy runs only on device arrays: a NumPy array among their arguments is a
# TypeError there (their ufuncs' refusal, or a check of their own), never a silent copy.
DEVICE_ONLY = frozenset({"where", "concatenate", "stack"})


def _wrap(func: Any) -> Any:
    name = getattr(func, "__name__", "function")

    def on_device(*args: Any, **kwargs: Any) -> Any:
        if name in DEVICE_ONLY:
            flat = [a for arg in args for a in (arg if isinstance(arg, list | tuple) else (arg,))]
            _refuse_host_arrays(name, tuple(flat))
        if name in NO_KERNEL:
            return _on_device(func(*args, **kwargs))
        if name == "ascontiguousarray" and args and args[0].flags.c_contiguous:
            return _on_device(func(*args, **kwargs))  # the array itself: no copy
        with _launch():
            return _on_device(func(*args, **kwargs))

    on_device.__name__ = name
    return on_device


class _Event:
    """A CUDA event on a device that has always finished: recorded, then done."""

    done = False

    def record(self) -> None:
        self.done = True


class _Stream:
    """A CUDA stream (CuPy's current one is the null stream, pointer 0, unless one is entered)."""

    ptr = 0


_NULL_STREAM = _Stream()


def _to_device(func: Any) -> Any:
    """`asarray` / `array`: a host array argument is a copy to the device."""

    def copy(a: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(a, Device):
            _count(TO_DEVICE)
        return _on_device(np.asarray(func(a, *args, **kwargs)))  # no copy (NumPy 1.x: no copy=None)

    return copy


def _elementwise_kernel(in_params: str, out_params: str, operation: str, name: str,
                        preamble: str = "") -> Any:  # fmt: skip
    """A kernel from its C, run as Python: the C of `Elementwise.c_source` read back."""
    names = lambda params: " ".join(p.split()[-1] for p in params.split(","))  # noqa: E731
    body = "\n".join(line.removeprefix("const T ").removesuffix(";")
                     for line in operation.splitlines())  # fmt: skip
    kernel = Elementwise(name.removeprefix("minis2s_"), names(in_params), names(out_params), body)

    def launch(*arrays: Any) -> None:
        _check_kernel_args(name, arrays, len(kernel.inputs))
        with _launch():
            kernel.evaluate(*_plain(arrays))  # one launch: the NumPy inside is not counted

    return launch


def _check_kernel_args(name: str, arrays: tuple, n_in: int) -> None:
    """What CuPy's ElementwiseKernel / ReductionKernel check of their arguments (all typed `T`;
    cupy/_core/_kernel.pyx): a NumPy array is "Unsupported type" (`_preprocess_arg`), an output
    must be a device array, and every array has the one dtype of T (`_decide_params_type_core`).
    Scalars, Python's and NumPy's, take T's dtype."""
    for a in arrays:
        if isinstance(a, np.ndarray) and not isinstance(a, Device):
            raise TypeError(f"{name}: Unsupported type {type(a)} (a host array in a CuPy kernel)")
    for a in arrays[n_in:]:
        if not isinstance(a, Device):
            raise TypeError(f"{name}: Output arguments must be cupy.ndarray; got {type(a)}")
    dtypes = [a.dtype for a in arrays if isinstance(a, Device)]
    if any(dt != dtypes[0] for dt in dtypes):
        raise TypeError(f"{name}: Type is mismatched: T is {dtypes[0]} and {dtypes}")


def _plain(arrays: tuple) -> list:
    """Device arrays as plain NumPy views of the same memory (writes reach the device array):
    inside one counted launch, the NumPy that stands for it runs without the wrapper's cost."""
    return [a.view(np.ndarray) if isinstance(a, Device) else a for a in arrays]


def _reduction_kernel(
    in_params: str, out_params: str, map_expr: str, reduce_expr: str, post_map_expr: str,
    identity: str, name: str, **options: Any,
) -> Any:  # fmt: skip
    """A sum over an axis of a map expression (`RowSum`'s kernel), run as Python."""
    if (reduce_expr, identity) != ("a + b", "0"):
        raise NotImplementedError(f"the stand-in sums only; got {reduce_expr!r} from {identity}")
    names = " ".join(p.split()[-1] for p in in_params.split(","))
    terms = Elementwise(name.removeprefix("minis2s_"), names, "term", f"term = {map_expr}")

    def reduce(*inputs: Any, axis: int, keepdims: bool) -> Any:
        _check_kernel_args(name, inputs, len(inputs))
        with _launch():
            shape = np.broadcast_shapes(*(a.shape for a in inputs))
            out = np.empty(shape, dtype=np.result_type(*inputs))
            terms.evaluate(*_plain(inputs), out)
            return _on_device(out.sum(axis=axis, keepdims=keepdims))

    return reduce


class _FakeCupy(types.ModuleType):
    """NumPy's namespace; its functions return Device arrays. Ufuncs pass as they are (they return
    Device arrays for Device inputs, and keep `.at` and `.reduce`), as do types and constants."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        if callable(value) and not isinstance(value, type | np.ufunc | types.ModuleType):
            value = _wrap(value)
        setattr(self, name, value)
        return value

    @staticmethod
    def asnumpy(a: Any) -> np.ndarray:
        _count()
        return np.array(a)

    asarray = staticmethod(_to_device(np.asarray))
    array = staticmethod(_to_device(np.array))
    ElementwiseKernel = staticmethod(_elementwise_kernel)
    ReductionKernel = staticmethod(_reduction_kernel)
    cuda = types.SimpleNamespace(
        alloc_pinned_memory=bytearray,
        Event=lambda **kw: _Event(),
        get_current_stream=lambda: _NULL_STREAM,
    )


fake_cupy = _FakeCupy("cupy")


@contextlib.contextmanager
def on_fake_device(twins: bool = True) -> Iterator[types.ModuleType]:
    """Run the block on a "cupy" backend over `fake_cupy` with the cupy twins (or without them),
    counting from zero."""
    saved_backend, saved_module = backend._current, sys.modules.get("cupy")
    sys.modules["cupy"] = fake_cupy  # get_array_module imports "cupy" for a Device array
    backend._current = backend.Backend("cupy", fake_cupy, cupy_kernels() if twins else {})
    ROUND_TRIPS.clear()
    TO_DEVICE.clear()
    LAUNCHES.clear()
    try:
        yield fake_cupy
    finally:
        backend._current = saved_backend
        if saved_module is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved_module

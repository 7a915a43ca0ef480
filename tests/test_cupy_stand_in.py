"""The CPU stand-in for CuPy (tests/fake_device.py) refuses what CuPy refuses, so a call that
would fail on the first GPU run fails here first. Each rule names the CuPy source it follows.

The rules apply to calls that come from outside NumPy (minis2s, or a test): NumPy's own Python,
which the stand-in runs on, calls its ufuncs and methods with keywords CuPy never sees (`.max()`
passes `initial` and `where` down to `maximum.reduce`). Stricter than CuPy would be a defect too,
so each test also shows what CuPy does accept.
"""

import numpy as np
import pytest

from minis2s.kernels.elementwise import Elementwise, RowSum
from tests.fake_device import on_fake_device

SCALE = Elementwise("stand_in_scale", inputs="x m", outputs="y", body="y = where(m, x, 0)")
ROW_SUM = RowSum("stand_in_row_sum", "x m", "x * m")


def test_a_fused_kernel_takes_device_arrays_of_one_dtype_as_cupy_does():
    """cupy/_core/_kernel.pyx: `_decide_params_type_core` binds every array of type `T` to one
    dtype ("Type is mismatched"), and `_preprocess_arg` refuses a NumPy array, input or output
    ("Unsupported type"); Python and NumPy scalars take T's dtype."""
    with on_fake_device() as xp:
        x, y = xp.ones((2, 3), dtype=np.float32), xp.empty((2, 3), dtype=np.float32)
        SCALE(x, 1.0, y)  # a Python float: T
        SCALE(x, np.float64(1.0), y)  # a NumPy scalar too (only arrays fix T)
        SCALE(x, xp.ones((2, 1), dtype=np.float32), y)  # a broadcast column
        with pytest.raises(TypeError, match="Type is mismatched"):
            SCALE(x, xp.ones((2, 1)), y)  # a float64 mask beside float32 data
        with pytest.raises(TypeError, match="Unsupported type"):
            SCALE(x, np.ones((2, 1), dtype=np.float32), y)  # a host mask
        with pytest.raises(TypeError, match="Unsupported type"):
            SCALE(x, 1.0, np.empty((2, 3), dtype=np.float32))  # a host output
        assert ROW_SUM(x, xp.ones((2, 1), dtype=np.float32)).shape == (2, 1)
        with pytest.raises(TypeError, match="Type is mismatched"):
            ROW_SUM(x, xp.ones((2, 1)))
        with pytest.raises(TypeError, match="Unsupported type"):
            ROW_SUM(x, np.ones((2, 1), dtype=np.float32))


def test_a_ufunc_takes_the_keywords_cupys_ufuncs_take():
    """cupy/_core/_kernel.pyx `ufunc.__call__` takes `out`, `dtype` and `casting`; any other
    keyword is "Wrong arguments", NumPy's `where=` among them (CuPy's is the private `_where`).
    A NumPy ufunc called on a device array reaches it with the same keywords
    (cupy/_core/core.pyx `ndarray.__array_ufunc__`)."""
    with on_fake_device() as xp:
        a = xp.ones((2, 3))
        xp.add(a, a, out=a)
        xp.square(a, dtype="float64")
        np.multiply(a, 2.0, casting="same_kind")
        for call in (lambda: xp.add(a, a, where=a > 1), lambda: np.multiply(a, 2.0, where=a > 1),
                     lambda: np.exp(a, order="C")):  # fmt: skip
            with pytest.raises(TypeError, match="Wrong arguments"):
                call()


def test_a_ufunc_has_the_methods_cupys_ufuncs_have():
    """cupy/_core/_kernel.pyx: `reduce` and `accumulate` exist for add and multiply only,
    `reduceat` for add, `at` for the ufuncs with a scatter kernel (add, subtract, maximum,
    minimum and the bitwise ones, as CuPy 14.2 answers; not multiply, power, exp or logaddexp,
    cupy/_core/_routines_math.pyx); the others raise
    NotImplementedError."""
    with on_fake_device() as xp:
        a, rows = xp.ones((2, 3)), xp.asarray(np.array([0, 0, 1]))
        assert float(xp.add.reduce(a, axis=0).sum()) == 6.0
        assert float(np.multiply.accumulate(a, axis=1)[0, 2]) == 1.0
        xp.add.at(a, rows, xp.ones((3, 3)))
        assert a[:, 0].tolist() == [3.0, 2.0]
        xp.maximum.at(a, rows, xp.ones((3, 3)))  # CuPy 14.2: scatter_max
        xp.subtract.at(a, rows, xp.ones((3, 3)))
        for call in (lambda: xp.maximum.reduce(a, axis=0), lambda: np.minimum.accumulate(a),
                     lambda: xp.multiply.at(a, rows, 2.0), lambda: np.power.at(a, rows, 2.0),
                     lambda: xp.logaddexp.at(a, rows, xp.ones((3, 3))),
                     lambda: np.exp.at(a, rows)):  # fmt: skip
            with pytest.raises(NotImplementedError, match="not supported"):
                call()


def test_array_methods_take_the_arguments_cupys_methods_take():
    """cupy/_core/core.pyx (signatures in cupy/_core/core.pyi): `max`/`min` take axis, out and
    keepdims (no `initial`, no `where`), `sum` axis, dtype, out and keepdims, `take` no `mode`,
    `item` no index."""
    with on_fake_device() as xp:
        a = xp.arange(6.0).reshape(2, 3)
        a.sum(axis=1, dtype=np.float64, keepdims=True)
        a.max(0, None, True)
        a.astype(np.float32, copy=False)
        a.argsort(axis=1, kind="stable")
        a.reshape(3, 2, order="C")
        a.reshape(3, 2, copy=None)  # CuPy 14.2: reshape(self, *shape, order='C', copy=None)
        a.clip(0.0, 1.0)
        a.take(xp.asarray(np.array([0, 1])), axis=1)
        a[0, 0].item()
        for call, word in ((lambda: a.max(initial=0.0), "initial"),
                           (lambda: a.min(axis=0, where=a > 0, initial=9.0), "initial|where"),
                           (lambda: a.sum(where=a > 0), "where"),
                           (lambda: a.sum(0, None, None, False, 0.0), "positional"),
                           (lambda: a.take(xp.asarray(np.array([0])), mode="clip"), "mode"),
                           (lambda: a.item(0), "positional")):  # fmt: skip
            with pytest.raises(TypeError, match=word):
                call()


def test_ufunc_methods_take_the_keywords_cupys_take():
    """cupy/_core/_kernel.pyx: `reduce(array, axis=0, dtype=None, out=None, keepdims=False)`,
    `accumulate(array, axis=0, dtype=None, out=None)`; NumPy's `initial` and `where` are not
    there (a TypeError on CuPy)."""
    with on_fake_device() as xp:
        a = xp.ones((2, 3))
        xp.add.reduce(a, axis=0, dtype=np.float64, keepdims=True)
        np.multiply.accumulate(a, axis=1, dtype=np.float64)
        for call in (lambda: xp.add.reduce(a, axis=0, initial=1.0),
                     lambda: np.add.reduce(a, where=a > 0),
                     lambda: xp.add.accumulate(a, axis=0, keepdims=True)):  # fmt: skip
            with pytest.raises(TypeError, match="unexpected keyword"):
                call()

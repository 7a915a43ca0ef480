"""The CPU stand-in for CuPy (tests/fake_device.py) refuses what CuPy refuses, so a call that
would fail on the first GPU run fails here first. Each rule names the CuPy source it follows.

Stricter than CuPy would be a defect too, so each test also shows what CuPy does accept.
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

"""What the fast twins' parity tests share: DESIGN.md's tolerances and one comparison."""

import numpy as np
import pytest

from minis2s.gradcheck import rel_error

TOL = {np.float64: 1e-10, np.float32: 1e-5}  # twin against reference, relative to the scale
DTYPES = pytest.mark.parametrize("dtype", list(TOL), ids=["float64", "float32"])


def assert_same(got, want, dtype, what):
    """`got` has `want`'s dtype (`dtype`) and shape, is finite, and is within TOL[dtype] of it
    relative to the larger of the two's largest entry (`rel_error`)."""
    assert got.dtype == want.dtype == dtype and got.shape == want.shape, what
    assert np.all(np.isfinite(got)), f"{what}: not finite"
    err = rel_error(got, want)
    assert err < TOL[dtype], f"{what}: rel_error {err:.3g} >= {TOL[dtype]:g}"

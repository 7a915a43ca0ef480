"""With the real CuPy installed on a machine without a GPU (a laptop that installed
`minis2s[gpu]`, or `.ci/run`'s NVRTC step): the cupy backend is refused with the reason and what
is available, the rest of minis2s works, and CuPy accepts every fused kernel's definition (its
parameter lists and names are checked when the kernel is made, before any device is asked).
Skipped where CuPy is not installed, or where a GPU is usable (tests/test_cupy.py runs there)."""

import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed")

from minis2s import backend  # noqa: E402
from minis2s.cli import main  # noqa: E402
from tests.test_elementwise import KERNELS  # noqa: E402
from tests.test_nvrtc import ROW_SUMS  # noqa: E402

try:
    GPUS = cupy.cuda.runtime.getDeviceCount()
except Exception:  # noqa: BLE001 (CUDARuntimeError without a driver)
    GPUS = 0
pytestmark = pytest.mark.skipif(GPUS > 0, reason="a GPU is usable here: tests/test_cupy.py runs")


def test_the_cupy_backend_is_refused_with_the_reason():
    with pytest.raises(RuntimeError, match=r"CuPy is installed but no GPU is usable \(.+\)"):
        backend.use("cupy")
    assert backend.available() == ["numpy", "numba"]


def test_the_command_line_says_so_and_exits_2(capsys, tmp_path):
    argv = ["--backend", "cupy", "train", "--task", "copy", "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no GPU is usable" in err and "available here: numpy, numba" in err
    assert not (tmp_path / "run").exists()


def test_cupy_accepts_every_kernel_definition():
    """`cuda_kernel()` makes the real cupy.ElementwiseKernel / ReductionKernel (compiled on first
    call; tests/test_nvrtc.py compiles their source)."""
    for k in [k for k in KERNELS if k.outputs != ["term"]]:
        made = k.cuda_kernel()
        assert isinstance(made, cupy.ElementwiseKernel)
        assert made.nin == len(k.inputs) and made.nout == len(k.outputs)
    for k in ROW_SUMS:
        assert isinstance(k.cuda_kernel(), cupy.ReductionKernel)

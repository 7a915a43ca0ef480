"""Every fused kernel of the cupy backend compiles under NVRTC, CUDA's runtime compiler, inside
the source CuPy generates around it (tests/cupy_sources.py), for float32 and float64, on arrays
of one (contiguous) and two (strided) dimensions, to PTX for the H100's architecture and the
oldest one CUDA 13 supports. NVRTC needs no GPU, so this runs wherever CuPy and NVRTC are
installed: `.ci/run` installs `cupy-cuda13x` and `nvidia-cuda-nvrtc` (no GPU needed) and runs
this file; elsewhere it is skipped. tests/test_elementwise.py checks through g++ that the same C
computes what the Python does."""

import pytest

pytest.importorskip("cupy", reason="CuPy is not installed")
try:
    from cupy.cuda import nvrtc

    nvrtc.getVersion()  # loads libnvrtc
except Exception as e:  # noqa: BLE001 (CuPy raises several kinds where NVRTC is missing)
    pytest.skip(f"NVRTC is not installed: {e}", allow_module_level=True)

from minis2s.kernels.elementwise import Elementwise, RowSum  # noqa: E402
from tests.cupy_sources import (  # noqa: E402
    compile_options,
    elementwise_source,
    nvrtc_compile,
    reduction_source,
)
from tests.test_elementwise import KERNELS, MODULES  # noqa: E402

ELEMENTWISE = [k for k in KERNELS if k.outputs != ["term"]]  # a RowSum's terms: its own kernel
ROW_SUMS = [k for m in MODULES for k in vars(m).values() if isinstance(k, RowSum)]
ARCHS = ("compute_90", "compute_75")  # H100 / H200; Turing, the oldest CUDA 13 builds for
CTYPES = ("float", "double")


@pytest.fixture(scope="module", params=ARCHS)
def options(request):
    return compile_options(request.param)


def assert_compiles(source: str, options: list[str], name: str) -> None:
    ok, log = nvrtc_compile(source, options)
    assert ok, f"NVRTC refused {name}:\n{log}"
    assert "warning" not in log.lower(), f"NVRTC warned on {name}:\n{log}"


@pytest.mark.parametrize("ctype", CTYPES)
@pytest.mark.parametrize("ndim, c_contiguous", [(1, True), (2, False)])
@pytest.mark.parametrize("k", ELEMENTWISE, ids=lambda k: k.name)
def test_every_elementwise_kernel_compiles(options, k, ctype, ndim, c_contiguous):
    assert_compiles(elementwise_source(k, ctype, ndim, c_contiguous), options, k.name)


@pytest.mark.parametrize("ctype", CTYPES)
@pytest.mark.parametrize("k", ROW_SUMS, ids=lambda k: k.name)
def test_every_row_sum_compiles(options, k, ctype):
    assert_compiles(reduction_source(k, ctype, ndim=2), options, k.name)


def test_every_kernel_is_compiled_here():
    """The lists above hold every kernel the cupy backend defines (as tests/test_elementwise.py
    counts them), so a new kernel is compiled too."""
    assert len(ELEMENTWISE) + len(ROW_SUMS) == len(KERNELS) and ROW_SUMS


def test_the_check_can_fail(options):
    """A body that would not compile on the GPU is refused here, with NVRTC's message."""
    k = Elementwise("bad", inputs="x", outputs="y", body="y = tanh(x)")
    k.body = [("y", "tanhh(x)")]  # past Elementwise's own checks, which refuse such a body
    ok, log = nvrtc_compile(elementwise_source(k, "float", 1, True), options)
    assert not ok and "tanhh" in log

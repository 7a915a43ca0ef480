"""With the real CuPy installed on a machine without a GPU (a laptop that installed
`minis2s[gpu]`, or `.ci/run`'s NVRTC step): the cupy backend is refused with the reason and what
is available, the rest of minis2s works, and CuPy accepts every fused kernel's definition (its
parameter lists and names are checked when the kernel is made, before any device is asked).
Skipped where CuPy is not installed, or where a GPU is usable (tests/test_cupy.py runs there)."""

import ast
from pathlib import Path

import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed")

import minis2s  # noqa: E402
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


def array_module_calls() -> set[str]:
    """Every `xp.name` (and `xp.name.attr`) in minis2s's source, `xp` being the array module of
    the arrays at hand: the functions the reference code calls on CuPy arrays."""
    names = set()
    for path in Path(minis2s.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == "xp" and chain:
                names.add(".".join(reversed(chain[-2:])))
    return names


def test_every_array_module_function_minis2s_calls_is_in_cupy():
    """The CPU stand-in for CuPy forwards `cupy.<name>` to NumPy, so a function CuPy lacks would
    pass there and fail on the first GPU run; here it is looked up in the real CuPy."""
    calls = array_module_calls()
    assert {"where", "empty_like", "concatenate", "tanh"} <= {c.split(".")[0] for c in calls}
    missing = [c for c in sorted(calls) if not _has(cupy, c)]
    assert not missing, f"minis2s calls xp.{missing} on arrays, which CuPy {cupy.__version__} lacks"


def _has(module, dotted: str) -> bool:
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True

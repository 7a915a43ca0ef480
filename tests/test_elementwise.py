"""`minis2s.kernels.elementwise`: kernels written once as equations in the part of C that is
also Python. Its checks on the body, its Python evaluation, and, through g++, that the C it
generates computes what the Python does (the same C that CuPy compiles for the GPU, inside a
loop shaped like CuPy's: inputs as const references, outputs as references, `i` the index)."""

import ctypes
import pkgutil
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import kernels
from minis2s.kernels import cupy_gru, cupy_loss, cupy_lstm, cupy_optim, cupy_rnn, cupy_softmax
from minis2s.kernels.elementwise import C_PREAMBLE, Elementwise, RowSum, blocks
from tests.parity import DTYPES, assert_same, assert_same_results

MODULES = (cupy_rnn, cupy_lstm, cupy_gru, cupy_loss, cupy_softmax, cupy_optim)
KERNELS = [k for m in MODULES for k in vars(m).values() if isinstance(k, Elementwise)] + [
    k.terms for m in MODULES for k in vars(m).values() if isinstance(k, RowSum)
]  # every fused kernel of the cupy backend (a RowSum's terms; its sum is a + b)
CTYPE = {np.float32: "float", np.float64: "double"}


@pytest.mark.parametrize(
    "body, problem",
    [
        ("y = x / 2", "not `name = expression`"),  # '/' of integers differs between C and Python
        ("y = x ** 2", "not `name = expression`"),
        ("y = x, x", "not `name = expression`"),  # a tuple in Python, the comma operator in C
        ("y = 0.5 * x", "not `name = expression`"),  # a double literal would promote float math
        ("y = cosh(x)", "before assigning"),  # only the functions in FUNCTIONS
        ("y = x + z", "before assigning"),
        ("t = x\nt = t + x\ny = t", "a second time"),
        ("x = x + 1\ny = x", "a second time"),
        ("t = x", "never assigned"),
        ("i = x\ny = i", "taken by CuPy"),
        ("_t = x\ny = _t", "taken by CuPy"),
    ],
)
def test_bodies_outside_the_common_subset_are_refused(body, problem):
    with pytest.raises(ValueError, match=problem):
        Elementwise("k", "x", "y", body)


def test_reserved_argument_names_are_refused():
    with pytest.raises(ValueError, match="taken by CuPy"):
        Elementwise("k", "i", "y", "y = i")


def test_c_source_declares_temporaries_and_assigns_outputs():
    k = Elementwise("k", "a b", "y", "t = a * b\ny = tanh(t) + (1 - a)")
    assert k.c_source() == "const T t = a * b;\ny = tanh(t) + (1 - a);"


def test_evaluate_broadcasts_and_writes_the_outputs_in_place():
    k = Elementwise("k", "a m", "y z", "y = m * a + (1 - m) * 2\nz = sigmoid(y) * 0 + y")
    a, m = np.arange(6.0).reshape(2, 3), np.array([[1.0], [0.0]])
    y, z = np.empty((2, 3)), np.empty((2, 3))
    k(a, m, y, z)
    np.testing.assert_array_equal(y, [[0.0, 1.0, 2.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(z, y)


def test_an_output_that_overlaps_an_input_is_refused():
    """CuPy binds inputs as const references: an output aliasing one would change it mid-kernel."""
    k = Elementwise("k", "a", "y", "y = a + 1")
    a = np.zeros((2, 4))
    with pytest.raises(ValueError, match="output y overlaps input a"):
        k(a, a)
    k(a[:, :2], a[:, 2:])  # neighbouring blocks of one array are fine


def test_wrong_argument_count_names_the_parameters():
    k = Elementwise("k", "a b", "y", "y = a + b")
    with pytest.raises(TypeError, match=r"2 inputs \(a b\) and 1 outputs \(y\); got 2"):
        k(np.zeros(2), np.zeros(2))


def test_every_kernel_of_the_cupy_backend_is_checked():
    """Every cupy_*.py module of minis2s.kernels is in MODULES, and each kernel has its own name."""
    found = {m.name for m in pkgutil.iter_modules(kernels.__path__) if m.name.startswith("cupy_")}
    assert found == {m.__name__.rsplit(".", 1)[-1] for m in MODULES}
    assert len({k.name for k in KERNELS}) == len(KERNELS) >= 4 * 3 + 3 + 4 + 1


def test_an_output_read_before_its_assignment_is_updated_in_place():
    """Its value on entry, then the new one after its assignment (the C of such a kernel,
    Adam's, is checked through g++ below)."""
    k = Elementwise("k", "a", "x y", "y = x + a\nx = x * 2\nx_twice_plus = x + y\ny2 = y")
    assert k.updated == ["x"]
    x, y = np.array([1.0, 2.0]), np.zeros(2)
    k(np.array([10.0, 20.0]), x, y)
    np.testing.assert_array_equal(x, [2.0, 4.0])
    np.testing.assert_array_equal(y, [11.0, 22.0])


def test_divide_and_sqrt():
    k = Elementwise("k", "a b", "y", "y = divide(sqrt(a), b) + divide(1, b)")
    y = np.empty(2)
    k(np.array([4.0, 9.0]), np.array([2.0, 4.0]), y)
    np.testing.assert_array_equal(y, [1.5, 1.0])


def test_a_scalar_input_broadcasts_like_an_array():
    k = Elementwise("k", "a s", "y", "y = a * s")
    y = np.empty(3)
    k(np.arange(3.0), 0.5, y)
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_where_takes_a_where_c_is_not_zero_and_computes_both_sides():
    k = Elementwise("k", "c a", "y", "y = where(c, a, 0)")
    y = np.empty(3)
    k(np.array([1.0, 0.0, 2.0]), np.array([5.0, np.inf, 7.0]), y)
    np.testing.assert_array_equal(y, [5.0, 0.0, 7.0])


def test_row_sum_sums_the_expression_over_the_last_axis():
    z, top = np.arange(6.0).reshape(2, 3), np.array([[2.0], [5.0]])
    got = RowSum("k", "z top", "exp(z - top)")(z, top)
    np.testing.assert_allclose(got, np.exp(z - top).sum(axis=-1, keepdims=True), rtol=1e-15)
    assert got.shape == (2, 1)
    with pytest.raises(ValueError, match="before assigning"):
        RowSum("k", "z", "exp(z - top)")


def test_blocks_are_views_of_equal_width():
    a = np.arange(12.0).reshape(1, 12)
    parts = blocks(a, 4)
    assert [p.shape for p in parts] == [(1, 3)] * 4
    parts[2][...] = -1
    assert (a[0, 6:9] == -1).all()


def c_harness(k: Elementwise) -> str:
    """The kernel's C inside a CPU loop shaped like CuPy's elementwise loop, in a namespace of
    its own, with entry points `NAME_run_float` and `NAME_run_double`."""
    ins = "\n".join(f"const T &{n} = in[{j}][i];" for j, n in enumerate(k.inputs))
    outs = "\n".join(f"T &{n} = out[{j}][i];" for j, n in enumerate(k.outputs))
    entry = "\n".join(
        f'extern "C" void {k.name}_run_{c}(long n, {c} **in, {c} **out) '
        f"{{ {k.name}::run<{c}>(n, in, out); }}"
        for c in CTYPE.values()
    )
    return f"""namespace {k.name} {{
typedef double T;  // CuPy's typedef of the arguments' type comes first; the kernel shadows it
{C_PREAMBLE}
template <typename T> void run(long n, T **in, T **out) {{
  for (long i = 0; i < n; ++i) {{
{ins}
{outs}
{k.c_source()}
  }}
}}
}}  // namespace {k.name}
{entry}
"""


C_HEADER = """#include <cmath>
#define __device__
using std::exp;
using std::log;
using std::sqrt;
using std::tanh;
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The g++-built library of every kernel's C: one file, each kernel in its own namespace as
    if alone (one g++ run rather than one per kernel, each parsing <cmath>: 5 s)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: the C of the kernels is checked on the GPU run only")
    src = tmp_path_factory.mktemp("kernels") / "kernels.cpp"
    src.write_text(C_HEADER + "\n".join(c_harness(k) for k in KERNELS))
    so = src.with_suffix(".so")
    subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-Werror", "-o", str(so), str(src)],
                   check=True, capture_output=True)  # fmt: skip
    return ctypes.CDLL(str(so))


def pointers(arrays, dtype):
    ptr = ctypes.POINTER(ctypes.c_float if dtype == np.float32 else ctypes.c_double)
    return (ptr * len(arrays))(*[a.ctypes.data_as(ptr) for a in arrays])


@DTYPES
@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
def test_the_c_computes_what_the_python_does(compiled, k, dtype):
    """Random inputs in [-3, 3] ([0.1, 3] where the body takes a square root), a 0/1 mask m,
    outputs read in place from [0, 3], over 257 elements; the C and the Python give the same
    outputs to the parity tolerance."""
    r = np.random.default_rng(7)
    n = 257
    low = 0.1 if any("sqrt(" in expr for _, expr in k.body) else -3
    ins = [
        (r.integers(0, 2, n) if name == "m" else r.uniform(low, 3, n)).astype(dtype)
        for name in k.inputs
    ]
    entry = {name: r.uniform(0, 3, n).astype(dtype) for name in k.updated}  # read in place
    want = [entry[name].copy() if name in entry else np.empty(n, dtype) for name in k.outputs]
    k.evaluate(*ins, *want)
    got = [entry[name].copy() if name in entry else np.full(n, np.nan, dtype) for name in k.outputs]
    run = getattr(compiled, f"{k.name}_run_{CTYPE[dtype]}")
    run(ctypes.c_long(n), pointers(ins, dtype), pointers(got, dtype))
    for name, g, w in zip(k.outputs, got, want, strict=True):
        assert_same(g, w, dtype, f"{k.name}: {name}")


@DTYPES
@pytest.mark.parametrize("k", KERNELS, ids=lambda k: k.name)
@given(
    n=st.integers(1, 300),
    scale=st.sampled_from([1.0, 10.0]),
    mask=st.sampled_from(["random", "all real", "all padding"]),
    seed=st.integers(0, 2**16),
)
def test_the_c_computes_what_the_python_does_on_drawn_inputs(compiled, k, dtype, n, scale, mask,
                                                              seed):  # fmt: skip
    """As above, on hypothesis-drawn sizes (1 element included), value ranges (up to +-10, where
    the gates saturate and exp reaches e^20) and masks (random, no padding, all padding)."""
    r = np.random.default_rng(seed)
    low = 0.1 if any("sqrt(" in expr for _, expr in k.body) else -scale
    m = {"random": r.integers(0, 2, n), "all real": np.ones(n), "all padding": np.zeros(n)}[mask]
    ins = [(m if name == "m" else r.uniform(low, scale, n)).astype(dtype) for name in k.inputs]
    entry = {name: r.uniform(0, scale, n).astype(dtype) for name in k.updated}
    want = [entry[name].copy() if name in entry else np.empty(n, dtype) for name in k.outputs]
    k.evaluate(*ins, *want)
    got = [entry[name].copy() if name in entry else np.full(n, np.nan, dtype) for name in k.outputs]
    run = getattr(compiled, f"{k.name}_run_{CTYPE[dtype]}")
    run(ctypes.c_long(n), pointers(ins, dtype), pointers(got, dtype))
    # on the parity tests' scale (the largest output entry): with n = 1 a saturated gate alone,
    # sigmoid(-18) = 1.5e-8 as (1 + tanh(-9)) / 2, differs between glibc's and NumPy's tanh by one
    # ulp of 1, 4e-9 of itself
    assert_same_results(got, want, dtype, k.name)

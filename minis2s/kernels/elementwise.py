"""Fused elementwise kernels, written once as equations that read the same in C and in Python.

A recurrent step's gate math is a dozen elementwise operations. On a GPU each one is a kernel
launch that reads and writes whole (N, H) arrays, so the reference's step costs a dozen launches
and a dozen round trips through memory. `Elementwise` fuses such a block into one CUDA kernel
(`cupy.ElementwiseKernel`) from a body of assignments like

    i_t = sigmoid(xw_i + hW_i)
    c_new = f_t * c_prev + i_t * g_t
    c = where(m, c_new, c_prev)

written in the part of C that is also Python: names, integer literals, `+ - *`, parentheses and
the functions `tanh`, `sigmoid`, `exp`, `log`, `sqrt`, `where` and `divide` (`/` is refused: it
divides integers differently in C and Python). CuPy's kernel loop owns the name `i` (the element
index) and names that start with `_`, so no argument or temporary may take them. On CuPy
arrays the body runs as that kernel, one thread per element; on NumPy arrays it runs line by line
as Python, which is how the tests check the equations against the reference layers on a machine
without a GPU (and a g++ test checks that the C computes the same, tests/test_elementwise.py).

Call a kernel with its inputs, then its outputs: `K(*inputs, *outputs)`. Inputs broadcast
against the outputs' shape (a mask column (N, 1), a bias row (H,)); outputs are written in place
and may be strided views (one gate block of a (N, 4H) array); they must not overlap an input.
An output read before its assignment holds its value on entry, so a kernel can update an array in
place (Adam's p, m and v); after its assignment it holds the new value, in C and in Python.
Every array has the same floating dtype; an input may also be a Python float (a scalar of that
dtype). In float16 the C computes each operator in float (CuPy's float16, cupy/float16.cuh, is a
class with no arithmetic of its own: an operand converts to float) and rounds to half only where
it stores a value, a temporary or an output; NumPy would round after every operator (300 * 300
is inf in half, 90 000 in float), so `evaluate` computes float16 as the C does. `RowSum` is the
same for a sum over the last axis of one such expression (`cupy.ReductionKernel`), which needs no
full-size array for the terms.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minis2s.backend import get_array_module
from minis2s.layers._recurrent import sigmoid

FUNCTIONS = ("tanh", "sigmoid", "exp", "log", "sqrt", "where", "divide")

# sigmoid as the reference computes it (_recurrent.sigmoid): no exp to overflow. (CuPy defines
# T, the arguments' type, before this preamble; the template's own parameter is F.) where(c, a, b)
# is a when c != 0, else b, as np.where(c != 0, a, b); its overloads (not a template) let an
# integer literal stand for a or b. Like NumPy, C computes both a and b: exp(where(m, x, 0)),
# never where(m, exp(x), 0), keeps exp away from padding's values. divide(a, b) is a / b in the
# arguments' floating type (its overloads make an integer literal a float, as Python's / does).
C_PREAMBLE = """
template <typename F> __device__ F sigmoid(F a) { return F(0.5) * (F(1) + tanh(F(0.5) * a)); }
__device__ float where(float c, float a, float b) { return c != 0.0f ? a : b; }
__device__ double where(double c, double a, double b) { return c != 0.0 ? a : b; }
__device__ float divide(float a, float b) { return a / b; }
__device__ double divide(double a, double b) { return a / b; }
"""

# What C makes of a + b for two T: T for float and double, float for CuPy's float16 (a class with
# no arithmetic of its own: each operand converts to float). A RowSum adds its terms in this type.
SUM_TYPE = "decltype(T() + T())"

_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*) = ([\w\s+\-*(),]+)$")  # no / . **: they differ in C
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")
_NUMBER = re.compile(r"\b\d+\b")


class Elementwise:
    """One fused elementwise kernel: `inputs` and `outputs` (names separated by spaces) and a
    `body` of assignments `name = expression`, one per line, each name assigned once."""

    def __init__(self, name: str, inputs: str, outputs: str, body: str) -> None:
        self.name, self.inputs, self.outputs = name, inputs.split(), outputs.split()
        for arg in self.inputs + self.outputs:
            _check_name(name, arg)
        self.body: list[tuple[str, str]] = []
        known, assigned = set(self.inputs) | set(self.outputs), set(self.inputs)
        self.updated: list[str] = []  # outputs read before their assignment: updated in place
        for line in filter(None, (s.strip() for s in body.strip().splitlines())):
            match = _ASSIGNMENT.match(line)
            if not match or "**" in line or _top_level_comma(match.group(2)):
                raise ValueError(f"{name}: {line!r} is not `name = expression` in C and Python")
            target, expr = match.groups()
            _check_name(name, target)
            used = set(_NAME.findall(_NUMBER.sub("", expr))) - set(FUNCTIONS)
            if used - known:
                raise ValueError(
                    f"{name}: {line!r} uses {sorted(used - known)} before assigning them"
                )
            if target in assigned:
                raise ValueError(f"{name}: {line!r} assigns {target!r} a second time")
            self.updated += sorted((used & set(self.outputs)) - assigned - set(self.updated))
            known.add(target)
            assigned.add(target)
            self.body.append((target, expr.strip()))
        missing = set(self.outputs) - {target for target, _ in self.body}
        if missing:
            raise ValueError(f"{name}: outputs {sorted(missing)} are never assigned")
        self._code = {target: compile(expr, name, "eval") for target, expr in self.body}
        self._cuda: dict[Any, Any] = {}  # cupy module -> its kernel

    def c_source(self) -> str:
        """The CUDA C operation: temporaries are `const T`, outputs are assigned in place."""
        return "\n".join(
            f"{target} = {expr};" if target in self.outputs else f"const T {target} = {expr};"
            for target, expr in self.body
        )

    def __call__(self, *arrays: Any) -> None:
        """Run the kernel on `arrays` = inputs then outputs (see the module docstring)."""
        if len(arrays) != len(self.inputs) + len(self.outputs):
            raise TypeError(
                f"{self.name} takes {len(self.inputs)} inputs ({' '.join(self.inputs)}) and "
                f"{len(self.outputs)} outputs ({' '.join(self.outputs)}); got {len(arrays)} arrays"
            )
        if get_array_module(*arrays).__name__ == "numpy":
            self.evaluate(*arrays)
        else:
            self.cuda_kernel()(*arrays)

    def evaluate(self, *arrays: Any) -> None:
        """The body as Python, line by line, on NumPy arrays: what the CUDA kernel computes."""
        xp = get_array_module(*arrays)
        ins, outs = arrays[: len(self.inputs)], arrays[len(self.inputs) :]
        for out_name, out in zip(self.outputs, outs, strict=True):
            for in_name, a in zip(self.inputs, ins, strict=True):
                if hasattr(a, "shape") and xp.shares_memory(out, a):
                    raise ValueError(f"{self.name}: output {out_name} overlaps input {in_name}")
        values: dict[str, Any] = {
            "tanh": xp.tanh, "sigmoid": sigmoid, "exp": xp.exp, "log": xp.log, "sqrt": xp.sqrt,
            "where": lambda c, a, b: xp.where(c != 0, a, b), "divide": xp.divide,
        }  # fmt: skip
        half = np.result_type(*(a for a in arrays if hasattr(a, "dtype"))) == np.float16

        def stored(a: Any) -> Any:
            """A value as a T holds it: in float16, rounded to half and computed on in float
            (a Python float input too: CuPy passes it as a T)."""
            return xp.asarray(a).astype(np.float16).astype(np.float32) if half else a

        values.update((n, stored(a)) for n, a in zip(self.inputs, ins, strict=True))
        values.update((n, stored(outs[self.outputs.index(n)])) for n in self.updated)  # on entry
        for target, _ in self.body:
            value = eval(self._code[target], {"__builtins__": {}}, values)  # noqa: S307
            values[target] = stored(value)  # a `const T` temporary or an output: a T
        for out_name, out in zip(self.outputs, outs, strict=True):  # at the end, as the kernel
            out[...] = values[out_name]

    def cuda_kernel(self) -> Any:
        """The `cupy.ElementwiseKernel`, built on first use (CuPy compiles it on first call)."""
        import cupy  # (the tests' CPU stand-in for CuPy, tests/fake_device.py, builds its own)

        if cupy not in self._cuda:
            self._cuda[cupy] = cupy.ElementwiseKernel(
                ", ".join(f"T {n}" for n in self.inputs),
                ", ".join(f"T {n}" for n in self.outputs),
                self.c_source(),
                f"minis2s_{self.name}",
                preamble=C_PREAMBLE,
            )
        return self._cuda[cupy]


class RowSum:
    """sum over the last axis of `expr`, an expression of the `inputs` in the same part of C and
    Python: (..., V) inputs (broadcasting) -> (..., 1). On CuPy arrays one `cupy.ReductionKernel`
    that sums the terms as it makes them; on NumPy arrays the terms, then their sum. The sum runs
    in `SUM_TYPE`: float16 rows are summed in float32, as NumPy and CuPy sum them (a float16 sum
    would stop growing at 2048 for terms of 1, and overflow past 65504). (Here each float16 term
    is rounded to half before the sum; the C adds it as the float it computed: half an ulp.)"""

    def __init__(self, name: str, inputs: str, expr: str) -> None:
        self.name, self.expr = name, expr
        self.terms = Elementwise(name, inputs, "term", f"term = {expr}")  # checks the expression
        self._cuda: dict[Any, Any] = {}

    def __call__(self, *inputs: Any) -> Any:
        """The (..., 1) row sums of the expression over `inputs` (see the class docstring)."""
        xp = get_array_module(*inputs)
        if xp.__name__ == "numpy":
            shape = np.broadcast_shapes(*(a.shape for a in inputs if hasattr(a, "shape")))
            terms = np.empty(shape, dtype=np.result_type(*inputs))
            self.terms.evaluate(*inputs, terms)
            total = terms.sum(axis=-1, keepdims=True, dtype=np.promote_types(terms.dtype, "f4"))
            return total.astype(terms.dtype, copy=False)
        return self.cuda_kernel()(*inputs, axis=-1, keepdims=True)

    def cuda_kernel(self) -> Any:
        """The `cupy.ReductionKernel`, built on first use."""
        import cupy

        if cupy not in self._cuda:
            self._cuda[cupy] = cupy.ReductionKernel(
                ", ".join(f"T {n}" for n in self.terms.inputs),
                "T total",
                self.expr,  # map: one term
                "a + b",  # reduce
                "total = a",  # post-map
                "0",  # identity
                f"minis2s_{self.name}",
                reduce_type=SUM_TYPE,
                preamble=C_PREAMBLE,
            )
        return self._cuda[cupy]


def _top_level_comma(expr: str) -> bool:
    """A comma outside a call's parentheses: a tuple in Python, the comma operator in C."""
    depth = 0
    for ch in expr:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            return True
    return False


def _check_name(kernel: str, name: str) -> None:
    if name == "i" or name.startswith("_"):
        raise ValueError(f"{kernel}: {name!r} is taken by CuPy's kernel loop; choose another name")


def blocks(a: Any, k: int) -> list[Any]:
    """The k equal blocks of `a`'s last axis, as views: a gate array (..., 4H) -> 4 x (..., H)."""
    H = a.shape[-1] // k
    return [a[..., j * H : (j + 1) * H] for j in range(k)]

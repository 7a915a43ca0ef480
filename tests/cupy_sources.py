"""The CUDA source that CuPy builds around minis2s's fused kernels, and NVRTC to compile it, with
no GPU: `cupy.ElementwiseKernel` and `cupy.ReductionKernel` generate that source only when
called on device arrays, so a machine without a GPU never sees it. This module writes it as CuPy
14 does (`cupy/_core/_kernel.pyx`: `_get_elementwise_kernel_code`,
`_get_simple_elementwise_kernel_code`, `_ArgInfo.get_c_type`; `cupy/_core/_reduction.pyx`:
`_ReductionKernel_get_cached_function`, `_create_reduction_function`), takes the headers and
compiler options from the installed CuPy itself (`cupy._core.core._cupy_header_list`,
`assemble_cupy_compiler_options`) and compiles with NVRTC's own library (`cupy.cuda.nvrtc`),
which needs no device. Used by tests/test_nvrtc.py.

Where CuPy's templates change, this copy goes stale; the GPU run (benchmarks/gpu_check.sh) is
the check of record, this one finds before it what would not compile.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from minis2s.kernels.elementwise import C_PREAMBLE, Elementwise, RowSum


def c_array(ctype: str, ndim: int, c_contiguous: bool) -> str:
    """CuPy's C type of an ndarray argument (32-bit indices, as for any array under 2^31)."""
    return f"CArray<{ctype}, {ndim}, {int(c_contiguous)}, 1>"


def elementwise_source(k: Elementwise, ctype: str, ndim: int, c_contiguous: bool) -> str:
    """The .cu source CuPy compiles for `k.cuda_kernel()` called on arrays of `ctype` with
    `ndim` dimensions after broadcasting (inputs and outputs all arrays)."""
    arr = c_array(ctype, ndim, c_contiguous)
    params = [f"const {arr} _raw_{n}" for n in k.inputs]  # in_params are const
    params += [f"{arr} _raw_{n}" for n in k.outputs]
    params.append(f"CIndexer<{ndim}, 1> _ind")
    binds = [f"const T &{n} = _raw_{n}[_ind.get()];" for n in k.inputs]
    binds += [f"T &{n} = _raw_{n}[_ind.get()];" for n in k.outputs]
    operation = "\n".join([*binds, k.c_source()])
    return f"""{_header()}
    typedef {ctype} T;

    {C_PREAMBLE}
    extern "C" __global__ void minis2s_{k.name}({", ".join(params)}) {{
      ;
      #pragma unroll 1
      CUPY_FOR(i, _ind.size()) {{
        _ind.set(i);
        {operation};
      }}
      ;
    }}
    """


def reduction_source(k: RowSum, ctype: str, ndim: int, block_size: int = 512) -> str:
    """The .cu source CuPy compiles for `k.cuda_kernel()` (`cupy.ReductionKernel`, its plain
    kernel: CUB's is only for one input) on arrays of `ctype` with `ndim` dimensions."""
    ins, arr = k.terms.inputs, c_array(ctype, ndim, False)
    params = [f"const {arr} _raw_{n}" for n in ins] + [f"{arr} _raw_total"]
    params += [f"CIndexer<{ndim}, 1> _in_ind", f"CIndexer<{ndim}, 1> _out_ind"]
    params.append("const int _block_stride")
    input_expr = "\n".join(f"const T {n} = _raw_{n}[_in_ind.get()];" for n in ins)
    output_expr = "T &total = _raw_total[_out_ind.get()];"
    return f"""{_header()}
typedef {ctype} T;

{C_PREAMBLE}
#define REDUCE(a, b) (a + b)
#define POST_MAP(a) (total = a)
#define _REDUCE(_offset) if (_tid < _offset) {{ \\
  _type_reduce _a = _sdata[_tid], _b = _sdata[(_tid + _offset)]; \\
  _sdata[_tid] = REDUCE(_a, _b); \\
}}

typedef T _type_reduce;
extern "C" __global__ void minis2s_{k.name}({", ".join(params)}) {{
  __shared__ char _sdata_raw[{block_size} * sizeof(_type_reduce)];
  _type_reduce *_sdata = reinterpret_cast<_type_reduce*>(_sdata_raw);
  unsigned int _tid = threadIdx.x;

  int _J_offset = _tid >> __popc(_block_stride - 1);
  ptrdiff_t _j_offset = (ptrdiff_t)_J_offset * _out_ind.size();
  int _J_stride = {block_size} >> __popc(_block_stride - 1);
  ptrdiff_t _j_stride = (ptrdiff_t)_J_stride * _out_ind.size();

  for (ptrdiff_t _i_base = (ptrdiff_t)blockIdx.x * _block_stride;
       _i_base < _out_ind.size();
       _i_base += (ptrdiff_t)gridDim.x * _block_stride) {{
    _type_reduce _s = _type_reduce(0);
    ptrdiff_t _i = _i_base + (_tid & (_block_stride - 1));
    int _J = _J_offset;
    for (ptrdiff_t _j = _i + _j_offset; _j < _in_ind.size();
         _j += _j_stride, _J += _J_stride) {{
      _in_ind.set(_j);
      {input_expr}
      _type_reduce _a = static_cast<_type_reduce>({k.expr});
      _s = REDUCE(_s, _a);
    }}
    _sdata[_tid] = _s;
    __syncthreads();
    for (unsigned int _block = {block_size} / 2;
         _block >= _block_stride; _block >>= 1) {{
      if (_tid < _block) {{
        _REDUCE(_block);
      }}
      __syncthreads();
    }}
    if (_tid < _block_stride) {{
      _s = _sdata[_tid];
    }}
    if (_tid < _block_stride && _i < _out_ind.size()) {{
      _out_ind.set(static_cast<ptrdiff_t>(_i));
      {output_expr}
      POST_MAP(_s);
    }}
  }}
}}"""


def _header() -> str:
    """The includes CuPy puts before every kernel's source (`compile_with_cache`)."""
    from cupy._core import core

    return "".join(f"#include <{h}>\n" for h in core._cupy_header_list)


def compile_options(arch: str) -> list[str]:
    """CuPy's options for NVRTC (its headers, CCCL's, the C++ standard), the CUDA headers of
    the NVIDIA wheels where no CUDA toolkit is installed, flush-to-zero as CuPy adds it, and
    `-arch=compute_XX` (PTX: no device is asked)."""
    import cupy
    from cupy._core import core

    options = list(core.assemble_cupy_compiler_options(()))
    site = os.path.dirname(os.path.dirname(cupy.__file__))
    options += [f"-I{d}" for d in sorted(glob.glob(os.path.join(site, "nvidia", "*", "include")))]
    return [*options, "-ftz=true", f"-arch={arch}"]


def nvrtc_compile(source: str, options: list[str]) -> tuple[bool, str]:
    """(compiled, NVRTC's log) for `source`."""
    from cupy.cuda import nvrtc

    program: Any = nvrtc.createProgram(source, "kernel.cu", [], [])
    try:
        nvrtc.compileProgram(program, options)
        return True, nvrtc.getProgramLog(program)
    except nvrtc.NVRTCError:
        return False, nvrtc.getProgramLog(program)
    finally:
        nvrtc.destroyProgram(program)

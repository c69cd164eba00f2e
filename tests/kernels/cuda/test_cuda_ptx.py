"""Every CUDA kernel specialisation compiles to PTX for compute capability 9.0 (H100/H200).

The simulator runs kernels as Python, so it accepts code the real compiler rejects; this
compiles each one with NVVM, which needs no GPU and no driver. It also checks that a
float32 kernel does no float64 arithmetic (a stray double constant would slow it down).
"""

import re

import pytest
from cuda_support import HAVE_NUMBA_CUDA, NO_NUMBA_CUDA

if not HAVE_NUMBA_CUDA:
    pytest.skip(NO_NUMBA_CUDA, allow_module_level=True)

from numba import cuda, types

from kernels.cuda import attention as att
from kernels.cuda import conv as cv
from kernels.cuda import elementwise as ew
from kernels.cuda import index as ix
from kernels.cuda import interpolate as itp
from kernels.cuda import linalg as lin
from kernels.cuda import loss as ce
from kernels.cuda import matmul as mm
from kernels.cuda import norm as nrm
from kernels.cuda import optim as opt
from kernels.cuda import pool as pl
from kernels.cuda import qr as qr
from kernels.cuda import random as rnd
from kernels.cuda import ranges as rng
from kernels.cuda import reduce as red
from kernels.cuda import rnn as rnn
from kernels.cuda import sampling as smp
from kernels.cuda import sort as srt
from kernels.cuda import sparse as spa
from kernels.cuda import special as spc
from kernels.cuda import triangle as tri

CC = (9, 0)
# libdevice's sinf/cosf reduce arguments beyond |x| >= 105615 (Payne-Hanek) through one
# double multiply; only that branch has it, the common path is float32.
LIBDEVICE_F64 = {"sin", "cos"}
F64_OP = re.compile(r"^\s*[a-z][\w.]*\.f64\b", re.MULTILINE)  # an instruction on a .f64 operand


@pytest.mark.parametrize("name", list(ew.SCALAR_OPS))
def test_elementwise_kernels_compile_to_ptx(name):
    for _, dtype, mask, kernel in (s for s in ew.specialisations() if s[0] == name):
        fn = getattr(ew.module(name, dtype, mask), kernel).py_func
        ptx, _ = cuda.compile_ptx(fn, ew.signature(name, dtype, mask, kernel), cc=CC)
        assert ".target sm_90" in ptx
        if dtype == "float32" and name not in LIBDEVICE_F64:
            assert not F64_OP.search(ptx), f"{name} {mask} {kernel}: float64 math in a float32 kernel"


@pytest.mark.parametrize("name", [*red.REDUCTIONS, *red.ARG_OPS, *red.ROW_OPS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reduction_kernels_compile_to_ptx(name, dtype):
    x = getattr(types, dtype)
    fn = red.kernel(name, "int32" if name in red.BOOL_OPS else dtype).py_func
    out = types.Array(types.boolean if name in red.BOOL_OPS else x, 3 if name in ("softmax", "log_softmax") else 2,
                      "C")
    idx = (types.Array(types.int64, 2, "C"),) if name in red.ARG_OPS else ()
    ptx, _ = cuda.compile_ptx(fn, (types.Array(x, 3, "C"), out, *idx), cc=CC)
    assert ".target sm_90" in ptx
    assert "shfl.sync.down" in ptx  # the last 32 partials are combined by warp shuffles
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(lin.KERNELS))
def test_linalg_kernels_compile_to_ptx(name, dtype):
    a3, flag = types.Array(getattr(types, dtype), 3, "C"), types.boolean
    sig = {"cholesky": (a3, a3, types.Array(types.int64, 1, "C")),
           "solve_triangular": (a3, a3, a3, flag, flag, flag)}[name]
    ptx, _ = cuda.compile_ptx(lin.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if name == "cholesky":
        assert "atom.global.min.s64" in ptx  # the first failing matrix
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_qr_kernel_compiles_to_ptx(dtype):
    x = getattr(types, dtype)
    sig = (types.Array(x, 3, "C"), types.Array(x, 3, "C"), types.Array(x, 2, "C"))
    ptx, _ = cuda.compile_ptx(qr.orthonormal_k.py_func, sig, cc=CC)
    assert ".target sm_90" in ptx and "bar.sync" in ptx  # the block's threads share each reflector
    if dtype == "float32":
        assert not F64_OP.search(ptx), "orthonormal_columns: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["spmm", "sddmm"])
def test_sparse_product_kernels_compile_to_ptx(name, dtype):
    i1 = types.Array(types.int64, 1, "C")
    x1, x2 = types.Array(getattr(types, dtype), 1, "C"), types.Array(getattr(types, dtype), 2, "C")
    sig = {"spmm": (i1, i1, x1, x2, x2), "sddmm": (i1, i1, x2, x2, x1)}[name]
    ptx, _ = cuda.compile_ptx(spa.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if name == "spmm":
        assert "atom.global.add.f" in ptx or "red.global.add.f" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("name", ["unravel", "ravel", "run_starts", "runs"])
def test_sparse_index_kernels_compile_to_ptx(name):
    i1, i2, mask = types.Array(types.int64, 1, "C"), types.Array(types.int64, 2, "C"), types.Array(types.boolean, 1, "C")
    sig = {"unravel": (i1, i1, i2), "ravel": (i2, i1, i1), "run_starts": (i1, mask),
           "runs": (i1, i1, mask, types.int64, i1, i1, i1)}[name]
    ptx, _ = cuda.compile_ptx(spa.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx


@pytest.mark.parametrize("out,start", [("int64", "int64"), ("float32", "float64"), ("float64", "float64")])
def test_iota_kernel_compiles_to_ptx(out, start):
    # (arange computes in float64 for every float dtype, as NumPy does: no float32-only check)
    sig = (types.Array(getattr(types, out), 1, "C"), getattr(types, start), getattr(types, start))
    ptx, _ = cuda.compile_ptx(rng.iota_k.py_func, sig, cc=CC)
    assert ".target sm_90" in ptx


def test_triangle_kernel_compiles_to_ptx():
    out = types.Array(types.int64, 2, "C")
    ptx, _ = cuda.compile_ptx(tri.triangle_k.py_func, (types.int64, types.int64, types.int64, types.boolean, out),
                              cc=CC)
    assert ".target sm_90" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_kernel_compiles_to_ptx(dtype):
    arr = types.Array(getattr(types, dtype), 2, "C")
    ptx, _ = cuda.compile_ptx(smp.categorical_k.py_func, (arr, arr, arr, types.Array(types.int64, 2, "C")), cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), "categorical: float64 math in a float32 kernel"


@pytest.mark.parametrize("name", list(red.SCANS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_scan_kernels_compile_to_ptx(name, dtype):
    arr = types.Array(getattr(types, dtype), 3, "C")
    ptx, _ = cuda.compile_ptx(red.scan_kernel(name, dtype).py_func, (arr, arr), cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(rnn.KERNELS))
def test_rnn_kernels_compile_to_ptx(name, dtype):
    x = getattr(types, dtype)
    a1, a2, a3 = (types.Array(x, n, "C") for n in (1, 2, 3))
    i64, flag, lengths = types.int64, types.boolean, types.Array(types.int64, 1, "C")
    step = (lengths, i64, flag)  # lengths, s, reverse
    sig = {"step": (i64, flag, i64, *step, a3, a3, a1, a3, a3, a3, a3, a3),
           "project": (*step, a3, a3),
           "step_grad": (i64, flag, i64, *step, a3, a3, a3, a3, a3, a2, a2, a2, a3, a3),
           "project_grad": (*step, a3, a2, a3)}[name]
    ptx, _ = cuda.compile_ptx(rnn.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"rnn {name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_gemm_kernels_compile_to_ptx(dtype, ta, tb):
    arr = types.Array(getattr(types, dtype), 3, "C")
    ptx, _ = cuda.compile_ptx(mm.kernel(dtype, ta, tb).py_func, (arr, arr, arr, getattr(types, dtype)), cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"gemm ta={ta} tb={tb}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multi_tensor_optimizer_kernel_compiles_to_ptx(dtype):
    x = getattr(types, dtype)
    arrays = types.UniTuple(types.Array(x, 1, "C"), opt.CHUNK)
    ptx, _ = cuda.compile_ptx(opt.update_k.py_func, (types.int64, *[arrays] * 5, types.UniTuple(x, opt.N_SCALARS)),
                              cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), "float64 math in the float32 optimizer kernel"
    entry = re.search(r"\.entry\s+\S+\(([^)]*)\)", ptx).group(1)
    param_bytes = sum(int(bits) // 8 for bits in re.findall(r"\.param \.[a-z](\d+)", entry))
    assert 0 < param_bytes <= 4096, f"{param_bytes} bytes of kernel parameters: more than CUDA's 4 KiB"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_strided_add_and_index_check_kernels_compile_to_ptx(dtype):
    flat = types.Array(getattr(types, dtype), 1, "C")
    i64 = types.Array(types.int64, 1, "C")
    for rank in (1, 3):
        tup = types.UniTuple(types.int64, rank)
        ptx, _ = cuda.compile_ptx(ix.strided_add_k.py_func, (flat, types.int64, tup, tup, flat), cc=CC)
        assert "atom.global.add.f" in ptx or "red.global.add.f" in ptx
    for fn, sig in ((ix.min_max_k, (i64, i64)), (ix.wrap_k, (i64, types.int64, i64))):
        ptx, _ = cuda.compile_ptx(fn.py_func, sig, cc=CC)
        assert ".target sm_90" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(ce.KERNELS))
def test_cross_entropy_kernels_compile_to_ptx(name, dtype):
    # the losses accumulate in float64 by design (as the CPU kernels do), so no float32-only check
    x3 = types.Array(getattr(types, dtype), 3, "C")
    x2 = types.Array(getattr(types, dtype), 2, "C")
    t2 = types.Array(types.int64, 2, "C")
    w = types.Array(types.float64, 1, "C")
    i64, f64 = types.int64, types.float64
    flat = types.Array(types.int64, 1, "C")
    sig = {"indices": (x3, t2, w, i64, f64, x2), "indices_backward": (x3, t2, w, i64, f64, x2, x3),
           "probs": (x3, x3, w, f64, x2), "probs_backward": (x3, x3, w, f64, x2, x3),
           "target_distribution": (t2, w, i64, f64, x3), "first_bad": (flat, i64, i64, flat),
           "weight_sum": (flat, w, i64, w)}[name]
    ptx, _ = cuda.compile_ptx(ce.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(nrm.KERNELS))
def test_layer_norm_kernels_compile_to_ptx(name, dtype):
    # statistics and column sums in float64 by design (as the CPU kernels)
    x2, x1 = types.Array(getattr(types, dtype), 2, "C"), types.Array(getattr(types, dtype), 1, "C")
    f64, flag = types.Array(types.float64, 1, "C"), types.boolean
    sig = {"forward": (x2, x1, x1, flag, flag, types.float64, x2, f64, f64),
           "dx": (x2, x1, flag, f64, f64, x2, x2), "dwdb": (x2, f64, f64, x2, x1, x1)}[name]
    ptx, _ = cuda.compile_ptx(nrm.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(itp.KERNELS))
def test_resampling_kernels_compile_to_ptx(name, dtype):
    x = getattr(types, dtype)
    a3, tab = types.Array(x, 3, "C"), types.Array(x, 2, "C")
    ptx, _ = cuda.compile_ptx(itp.KERNELS[name].py_func, (a3, types.Array(types.int64, 2, "C"), tab, a3), cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["bool", "float32", "int64"])
def test_mask_compaction_kernels_compile_to_ptx(dtype):
    flat = types.Array(types.boolean if dtype == "bool" else getattr(types, dtype), 1, "C")
    mask = types.Array(types.boolean, 1, "C")
    i64 = types.Array(types.int64, 1, "C")
    n = types.int64
    for fn, sig in ((ix.run_counts_k, (mask, n, i64)), (ix.exclusive_scan_k, (i64, i64)),
                    (ix.masked_k, (types.boolean, mask, n, i64, flat, flat)),
                    (ix.nonzero_k, (flat, n, i64, i64, types.Array(types.int64, 2, "C")))):
        ptx, _ = cuda.compile_ptx(fn.py_func, sig, cc=CC)
        assert ".target sm_90" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(spc.KERNELS))
def test_special_function_kernels_compile_to_ptx(name, dtype):
    # float64 by design (as the CPU kernels): the series lose accuracy in float32
    flat = types.Array(getattr(types, dtype), 1, "C")
    sig = {"polygamma": (types.int64, flat, flat), "gamma_sample_grad": (flat, flat, flat)}.get(name, (flat, flat))
    ptx, _ = cuda.compile_ptx(spc.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx and ".f64" in ptx


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("name", list(srt.KERNELS))
def test_sort_kernels_compile_to_ptx(name, dtype):
    x = getattr(types, dtype)
    arr = lambda t, n: types.Array(t, n, "C")  # noqa: E731
    scratch = (arr(x, 2), arr(types.int64, 2), arr(types.int64, 2))
    sig = {"sort": (arr(x, 3), arr(x, 3), arr(types.int64, 3), types.boolean),
           "pick": (arr(x, 3), types.int64, types.boolean, arr(x, 2), arr(types.int64, 2))}[name]
    ptx, _ = cuda.compile_ptx(srt.KERNELS[name].py_func, sig + scratch, cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


def _window_signatures(dtype: str) -> tuple:
    """The argument types the window kernels (conv, pool) get: flat arrays, int64 tuples."""
    flat = types.Array(getattr(types, dtype), 1, "C")
    return flat, types.Array(types.int64, 1, "C"), lambda n: types.UniTuple(types.int64, n)


@pytest.mark.parametrize("name", list(cv.KERNELS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_kernels_compile_to_ptx(name, dtype):
    flat, _, tup = _window_signatures(dtype)
    s4, shape, geo = tup(4), tup(7), tup(9)
    sig = {"forward": (flat, s4, flat, s4, flat, types.boolean, flat, s4, shape, geo),
           "input": (flat, s4, flat, s4, flat, s4, shape, geo),
           "weight": (flat, s4, flat, s4, flat, s4, shape, geo, types.int64)}[name]
    ptx, _ = cuda.compile_ptx(cv.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"conv {name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("name", list(pl.KERNELS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pool_kernels_compile_to_ptx(name, dtype):
    flat, i64, tup = _window_signatures(dtype)
    s4, shape = tup(4), tup(6)
    div = types.Array(getattr(types, dtype), 2, "C")
    sig = {"max": (flat, s4, flat, i64, s4, shape, tup(8)),
           "gather": (flat, s4, i64, flat, s4, tup(3)),
           "scatter_add": (flat, s4, i64, flat, s4, tup(3)),
           "avg": (flat, s4, flat, s4, i64, i64, i64, i64, div, shape),
           "avg_backward": (flat, s4, flat, s4, i64, i64, i64, i64, div, shape)}[name]
    ptx, _ = cuda.compile_ptx(pl.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if name == "scatter_add":
        assert "atom.global.add.f" in ptx or "red.global.add.f" in ptx
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"pool {name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("name", list(ix.KERNELS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_index_kernels_compile_to_ptx(name, dtype):
    data = types.Array(getattr(types, dtype), 3, "C")
    idx = types.Array(types.int64, 1 if name in ("index_select", "index_add", "index_copy") else 3, "C")
    sig = (data, idx, data)
    ptx, _ = cuda.compile_ptx(ix.KERNELS[name].py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    if name in ("index_add", "scatter_add"):
        assert "atom.global.add.f" in ptx or "red.global.add.f" in ptx


def test_device_seeding_kernel_compiles_to_ptx():
    from numba.cuda.np.numpy_support import from_dtype
    from numba.cuda.random import xoroshiro128p_dtype

    states = types.Array(from_dtype(xoroshiro128p_dtype), 1, "C")
    ptx, _ = cuda.compile_ptx(rnd.module().seed_states.py_func, (states, types.uint64), cc=CC)
    assert ".target sm_90" in ptx and not F64_OP.search(ptx)


@pytest.mark.parametrize("name", [k for k in rnd.KERNELS if k != "standard_gamma"])
def test_random_kernels_compile_to_ptx(name):
    from numba.cuda.np.numpy_support import from_dtype
    from numba.cuda.random import xoroshiro128p_dtype

    states = types.Array(from_dtype(xoroshiro128p_dtype), 1, "C")
    out = {"uniform64": types.float64, "normal64": types.float64, "randint": types.int64}.get(name, types.float32)
    scalar = types.int64 if name == "randint" else out
    ptx, _ = cuda.compile_ptx(getattr(rnd.module(), name).py_func,
                              (states, types.Array(out, 1, "C"), scalar, scalar), cc=CC)
    assert ".target sm_90" in ptx
    if out == types.float32 and name != "normal32":  # normal32: cosf's huge-argument branch only
        assert not F64_OP.search(ptx), f"{name}: float64 math in a float32 kernel"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_sampling_kernel_compiles_to_ptx(dtype):
    # float64 by design, as the CPU's sampler: the squeeze's log terms cancel in float32
    from numba.cuda.np.numpy_support import from_dtype
    from numba.cuda.random import xoroshiro128p_dtype

    states, flat = types.Array(from_dtype(xoroshiro128p_dtype), 1, "C"), types.Array(getattr(types, dtype), 1, "C")
    ptx, _ = cuda.compile_ptx(rnd.module().standard_gamma.py_func, (states, flat, flat, types.float64), cc=CC)
    assert ".target sm_90" in ptx and ".f64" in ptx


SHARED = re.compile(r"^\.visible \.shared \.align \d+ \.b8 \w+\[(\d+)\];", re.MULTILINE)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", att.KERNELS)
def test_attention_kernels_compile_to_ptx(name, dtype):
    x = getattr(types, dtype)
    flat, strides, flag = types.Array(x, 1, "C"), types.UniTuple(types.int64, 4), types.boolean
    rows, shape = types.Array(x, 3, "C"), types.UniTuple(types.int64, 6)
    inputs = (flat, strides) * 4 + (flag, flag, x)  # q, k, v, mask, has_mask, causal, scale
    sig = {"forward_k": (*inputs, flat, strides, rows, shape),
           "dq_k": (*inputs, flat, strides, rows, flat, strides, rows, flat, strides, shape),
           "dkv_k": (*inputs, rows, rows, flat, strides, flat, strides, flat, strides, shape)}[name]
    ptx, _ = cuda.compile_ptx(getattr(att.module(dtype), name).py_func, sig, cc=CC)
    assert ".target sm_90" in ptx
    assert sum(map(int, SHARED.findall(ptx))) <= 48 * 1024  # the static shared memory a block may hold
    if dtype == "float32":
        assert not F64_OP.search(ptx), f"attention {name}: float64 math in a float32 kernel"

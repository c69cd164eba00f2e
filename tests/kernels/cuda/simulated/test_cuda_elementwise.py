"""Generated CUDA elementwise kernels vs torch, on shapes that cross block and grid bounds."""

import numpy as np
import pytest
import torch
from cuda_support import strided
from numba import cuda

from kernels.cuda import elementwise as ew
from kernels.cuda import launch
from kernels.scalar_ops import SCALAR_OPS

F = torch.nn.functional
aten = torch.ops.aten
N = 157  # > 2 blocks of 32 threads, odd: the grid-stride loop wraps and ends mid-block

REFERENCE = {
    "square": torch.square, "rsqrt": torch.rsqrt, "relu": torch.relu, "gelu": F.gelu,
    "silu": F.silu, "leaky_relu": F.leaky_relu, "elu": F.elu, "softplus": F.softplus,
    "tanh_backward": aten.tanh_backward, "sigmoid_backward": aten.sigmoid_backward,
    "threshold_backward": lambda g, y: aten.threshold_backward(g, y, 0),
    "gelu_backward": aten.gelu_backward,
    "copy": torch.clone, "maximum": torch.maximum, "minimum": torch.minimum,
    "clamp_min": torch.clamp_min, "clamp_max": torch.clamp_max,
}
POSITIVE = {"log", "log1p", "sqrt", "rsqrt", "pow"}
SCALAR_ARGS = {"leaky_relu": (0.1,), "elu": (0.7,), "softplus": (1.5, 2.0), "clamp": (-0.5, 0.8),
               "clamp_min": (-0.3,), "clamp_max": (0.4,), "nan_to_num": (0.5, 9.0, -9.0)}


@pytest.fixture(autouse=True)
def small_launches():
    launch.configure(threads=32, max_blocks=2)
    yield
    launch.configure(threads=256, max_blocks=4096)


def _reference(name):
    return REFERENCE.get(name) or getattr(torch, name)


def _inputs(name, dtype, shape, rng):
    n_arrays = len(SCALAR_OPS[name][0].split(",")) - len(SCALAR_ARGS.get(name, ()))
    if dtype == "bool":
        arrays = [rng.integers(0, 2, shape).astype(bool) for _ in range(n_arrays)]
    elif dtype == "int64":
        arrays = [rng.integers(-5, 6, shape) for _ in range(n_arrays)]
    else:
        lo = 0.1 if name in POSITIVE else -3.0
        arrays = [rng.uniform(lo, 3.0, shape).astype(dtype) for _ in range(n_arrays)]
    if name == "round":
        arrays[0][:20] = (np.arange(20) - 10.5).astype(dtype)  # halves round to even
    if name == "where":
        arrays[0] = arrays[0] > 0
    if name == "nan_to_num":
        arrays[0][:3] = (np.nan, np.inf, -np.inf)  # the values it replaces
    return arrays


def _check(name, dtype, got, args):
    targs = [torch.from_numpy(np.array(a)) for a in args]
    want = _reference(name)(*targs, *SCALAR_ARGS.get(name, ())).numpy()
    tol = 2e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol * 4, atol=tol)


def _dev(a):
    return cuda.to_device(np.ascontiguousarray(a).reshape(-1))


# every op in its first dtype, and a few in all of theirs
CASES = [(name, dtype) for name in SCALAR_OPS for dtype in ew.dtypes(name)
         if dtype == ew.dtypes(name)[0] or name in ("add", "sub", "abs", "bitwise_xor", "where", "exp")]


@pytest.mark.parametrize("name,dtype", CASES)
def test_flat_kernel_matches_torch(name, dtype):
    rng = np.random.default_rng(0)
    args = _inputs(name, dtype, (N,), rng)
    out_dtype = bool if name in ew.BOOL_RESULT else args[-1].dtype
    out = cuda.device_array(N, out_dtype)
    scalars = [np.dtype(dtype).type(s) for s in SCALAR_ARGS.get(name, ())]
    ew.run(name, dtype, ew.contiguous(out, (N,)), *[ew.contiguous(_dev(a), (N,)) for a in args], *scalars)
    _check(name, dtype, out.copy_to_host(), args)


@pytest.mark.parametrize("name", ["add", "mul", "maximum", "where", "tanh_backward", "lt"])
def test_strided_and_broadcast_operands(name):
    rng = np.random.default_rng(1)
    shape = (3, 5, 11)
    x, xbase = strided(rng, shape)                    # every 2nd element, offset 3
    col = rng.uniform(-2, 2, (5, 1)).astype(np.float32)  # broadcast along the last dim
    row = rng.uniform(-2, 2, (11,)).astype(np.float32)   # broadcast along the first two
    if name == "where":
        args = [x > 0, col, row]
        views = [ew.contiguous(_dev(x > 0), shape), ew.View(_dev(col), (5, 1), (1, 1)),
                 ew.View(_dev(row), (11,), (1,))]
    else:
        args = [x, col]
        st = tuple(s // 4 for s in x.strides)
        views = [ew.View(cuda.to_device(xbase)[3:], shape, st), ew.View(_dev(col), (5, 1), (1, 1))]
    out_dtype = bool if name in ew.BOOL_RESULT else np.float32
    # the output is strided too: the transpose of a C-contiguous (11, 5, 3) buffer
    out = cuda.device_array(x.size, out_dtype)
    ew.run(name, "float32", ew.View(out, shape, (1, 3, 15)), *views)
    got = out.copy_to_host().reshape(11, 5, 3).transpose(2, 1, 0)
    _check(name, "float32", got, [np.broadcast_to(a, shape) for a in args])


def test_scalar_operand_keeps_float32():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, N).astype(np.float32)
    out = cuda.device_array(N, np.float32)
    ew.run("mul", "float32", ew.contiguous(out, (N,)), ew.contiguous(_dev(x), (N,)), np.float32(0.1))
    np.testing.assert_array_equal(out.copy_to_host(), x * np.float32(0.1))


def test_more_dims_than_the_kernel_takes_after_coalescing_run_as_several_launches():
    shape = (2,) * 6
    st = tuple(2 ** (2 * (5 - d)) for d in range(6))  # every dim strided: nothing merges
    host = np.arange(4 ** 6, dtype=np.float32)
    out = cuda.device_array(64, np.float32)
    ew.run("neg", "float32", ew.contiguous(out, shape), ew.View(cuda.to_device(host), shape, st))
    view = np.lib.stride_tricks.as_strided(host, shape, tuple(s * 4 for s in st))
    np.testing.assert_array_equal(out.copy_to_host().reshape(shape), -view)

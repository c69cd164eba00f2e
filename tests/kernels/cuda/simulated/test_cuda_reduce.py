"""CUDA (A, K, B) reductions vs torch: rows longer than a block, several outputs per block."""

import numpy as np
import pytest
import torch
from numba import cuda

from kernels.cuda import launch
from kernels.cuda import reduce as red


@pytest.fixture(autouse=True)
def small_launches():
    launch.configure(tree_threads=32, max_blocks=2)
    yield
    launch.configure(tree_threads=256, max_blocks=4096)


def _torch(name, t):
    return {"sum": lambda: t.sum(1), "mean": lambda: t.mean(1), "prod": lambda: t.prod(1),
            "max": lambda: t.amax(1), "min": lambda: t.amin(1), "all": lambda: t.all(1),
            "any": lambda: t.any(1)}[name]()


@pytest.mark.parametrize("name", [n for n in red.REDUCTIONS if n not in red.BOOL_OPS])
@pytest.mark.parametrize("shape", [(3, 77, 2), (1, 130, 1), (2, 5, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reduction_matches_torch(name, shape, dtype):
    x = np.random.default_rng(0).uniform(-2, 2, shape).astype(dtype)
    if name == "prod":  # factors near 1 keep a product of 130 in range; its rounding grows with K
        x = np.random.default_rng(0).uniform(0.8, 1.25, shape).astype(dtype)
    out = cuda.device_array((shape[0], shape[2]), dtype)
    red.reduce(name, cuda.to_device(x), out)
    tol = (1e-6 if dtype == np.float32 else 1e-13) * (100 if name == "prod" else 1)
    np.testing.assert_allclose(out.copy_to_host(), _torch(name, torch.from_numpy(x)).numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("name", red.BOOL_OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_all_any_match_torch_on_zeros_nan_and_empty_rows(name, dtype):
    x = np.random.default_rng(4).integers(0, 2, (4, 70, 2)).astype(dtype)  # rows of mixed 0/1
    x[0] = 1  # a row of all non-zeros: all is True
    x[1] = 0  # a row of zeros: any is False
    if dtype == np.float32:
        x[1, 33, 1] = np.nan  # NaN counts as true, as in torch
    for rows in (x, x[:, :0]):  # K == 0: all is True, any is False
        out = cuda.device_array((rows.shape[0], rows.shape[2]), np.bool_)
        red.reduce(name, cuda.to_device(np.ascontiguousarray(rows)), out)
        np.testing.assert_array_equal(out.copy_to_host(), _torch(name, torch.from_numpy(rows)).numpy())


@pytest.mark.parametrize("name", list(red.SCANS))
@pytest.mark.parametrize("shape", [(3, 70, 2), (1, 5, 1), (2, 0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_scans_match_torch(name, shape, dtype):
    x = np.random.default_rng(5).uniform(0.8, 1.25, shape)
    x = (x * 3).astype(dtype) if dtype == np.int64 and name == "cumsum" else x.astype(dtype)
    if dtype == np.int64 and name == "cumprod":
        x = np.random.default_rng(5).integers(-1, 2, shape).astype(dtype)  # stays small
    out = cuda.device_array(shape, dtype)
    red.scan(name, cuda.to_device(x), out)
    want = getattr(torch, name)(torch.from_numpy(x), 1).numpy()
    tol = 0 if dtype == np.int64 else (1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(out.copy_to_host(), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["max", "min", "sum"])
def test_nan_propagates(name):
    x = np.random.default_rng(1).uniform(-2, 2, (2, 70, 1)).astype(np.float32)
    x[1, 45, 0] = np.nan
    out = cuda.device_array((2, 1), np.float32)
    red.reduce(name, cuda.to_device(x), out)
    np.testing.assert_array_equal(out.copy_to_host(), _torch(name, torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("name", red.ARG_OPS)
def test_arg_reductions_match_torch_with_ties_and_nan(name):
    x = np.random.default_rng(2).integers(-3, 4, (3, 75, 2)).astype(np.float32)  # many ties
    x[2, 50, 1] = np.nan
    x[2, 60, 1] = np.nan
    out = cuda.device_array((3, 2), np.float32)
    idx = cuda.device_array((3, 2), np.int64)
    red.reduce(name, cuda.to_device(x), out, idx)
    t = torch.from_numpy(x)
    want = (t.max(1) if name == "argmax" else t.min(1))
    np.testing.assert_array_equal(out.copy_to_host(), want.values.numpy())
    np.testing.assert_array_equal(idx.copy_to_host(), want.indices.numpy())


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the simulator's NumPy on inf - inf
@pytest.mark.parametrize("name", red.ROW_OPS)
@pytest.mark.parametrize("shape", [(2, 70, 1), (2, 9, 3)])
def test_softmax_family_matches_torch(name, shape):
    x = np.random.default_rng(3).uniform(-30, 30, shape).astype(np.float32)
    x[0, :, 0] = -np.inf  # a row of -inf: softmax is NaN, logsumexp is -inf, as in torch
    x[1, 1, 0] = np.inf
    t = torch.from_numpy(x)
    want = getattr(torch, name)(t, 1).numpy()
    out = cuda.device_array(want.shape, np.float32)
    red.reduce(name, cuda.to_device(x), out)
    np.testing.assert_allclose(out.copy_to_host(), want, rtol=1e-6, atol=1e-6)

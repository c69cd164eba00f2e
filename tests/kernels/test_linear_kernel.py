"""kernels.cpu.linear on plain arrays: serial and threaded blocks, every layout flag, bias or not."""

import numpy as np
import pytest
import torch

import autodiff as ad
from kernels.cpu import linear as lk


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 7, 3), (96, 80, 64)])  # below / above the threaded size
@pytest.mark.parametrize("x_t,w_t", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("has_bias", [False, True])
def test_linear_matches_numpy(dtype, shape, x_t, w_t, has_bias):
    M, N, K = shape
    rs = np.random.RandomState(0)
    x = rs.randn(K, M).astype(dtype).T if x_t else rs.randn(M, K).astype(dtype)
    w = rs.randn(K, N).astype(dtype).T if w_t else rs.randn(N, K).astype(dtype)
    bias = rs.randn(N).astype(dtype)
    out = np.empty((M, N), dtype)
    lk.linear(x, w, bias, has_bias, out)
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + (bias if has_bias else 0)
    np.testing.assert_allclose(out, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_one_value_bias_broadcasts_as_torch():
    rs = np.random.RandomState(1)
    x, w, b = rs.randn(3, 4), rs.randn(5, 4), rs.randn(1)
    ours = ad.nn.functional.linear(ad.tensor(x), ad.tensor(w), ad.tensor(b))
    theirs = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)

"""The tiled CUDA GEMM vs torch: edges of partial tiles, transposes, shared batch, beta."""

import numpy as np
import pytest
import torch
from numba import cuda

from kernels.cuda import matmul as mm

SMALL = mm.Tiles(ty=4, tx=8, tm=2, tn=2, bk=4)  # 8 x 16 tiles of 32 threads
Z, M, N, K = 2, 19, 37, 13  # several tiles each way, none full at the edge; K not a multiple of bk


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_matches_torch(ta, tb):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((Z, M, K)).astype(np.float32)
    b = rng.standard_normal((1, K, N)).astype(np.float32)  # one b for the whole batch
    a_store = np.ascontiguousarray(a.transpose(0, 2, 1)) if ta else a
    b_store = np.ascontiguousarray(b.transpose(0, 2, 1)) if tb else b
    c = rng.standard_normal((Z, M, N)).astype(np.float32)
    out = cuda.to_device(c)
    mm.gemm(cuda.to_device(a_store), cuda.to_device(b_store), out, ta, tb, beta=0.5, tiles=SMALL)
    want = (torch.from_numpy(a) @ torch.from_numpy(b) + 0.5 * torch.from_numpy(c)).numpy()
    np.testing.assert_allclose(out.copy_to_host(), want, rtol=1e-5, atol=1e-5)


def test_beta_zero_ignores_nan_in_out():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1, 9, 5))
    b = rng.standard_normal((1, 5, 20))
    out = cuda.to_device(np.full((1, 9, 20), np.nan))
    mm.gemm(cuda.to_device(a), cuda.to_device(b), out, tiles=SMALL)
    np.testing.assert_allclose(out.copy_to_host(), a @ b, rtol=1e-12, atol=1e-12)

"""kernels.cpu.pool.max_pool2d against torch: values and indices on each of its paths (the
unrolled 2x2 window, other windows inside the plane, padded/dilated windows with bounds
checks), with ties (first index wins) and a NaN per window (NaN wins)."""

import numpy as np
import pytest
import torch

from kernels.cpu import pool as pk


@pytest.mark.parametrize("k,s,p,d", [(2, 2, 0, 1), (3, 1, 0, 1), (3, 2, 0, 1), (2, 1, 0, 1),
                                     (3, 2, 1, 1), (2, 2, 0, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_matches_torch(k, s, p, d, dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, (6, 9, 10)).astype(dtype)  # few distinct values: many ties
    x[0, 4, 5] = np.nan
    x[3, 0, 0] = np.nan
    ty, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p, d, return_indices=True)
    y = np.empty(ty.shape, dtype)
    idx = np.empty(ty.shape, np.int64)
    pk.max_pool2d(x, y, idx, k, k, s, s, p, p, d, d)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())

"""CUDA index kernels vs torch, with repeated indices (atomics) and more than one block."""

import numpy as np
import pytest
import torch
from numba import cuda

from kernels.cuda import index as ix
from kernels.cuda import launch

A, K, B, N = 2, 7, 5, 9  # N indices into K rows: repeats are certain


@pytest.fixture(autouse=True)
def small_launches():
    launch.configure(threads=32, max_blocks=2)
    yield
    launch.configure(threads=256, max_blocks=4096)


def _rng():
    return np.random.default_rng(0)


def test_index_select_matches_torch():
    rng = _rng()
    src = rng.standard_normal((A, K, B)).astype(np.float32)
    idx = rng.integers(0, K, N)
    out = cuda.device_array((A, N, B), np.float32)
    ix.index_select(cuda.to_device(src), cuda.to_device(idx), out)
    want = torch.index_select(torch.from_numpy(src), 1, torch.from_numpy(idx)).numpy()
    np.testing.assert_array_equal(out.copy_to_host(), want)


def test_index_add_accumulates_repeats_like_embedding_backward():
    rng = _rng()
    weight = torch.randn(K, B, dtype=torch.float64, requires_grad=True)
    tokens = torch.from_numpy(rng.integers(0, K, N))
    g = torch.randn(N, B, dtype=torch.float64)
    torch.nn.functional.embedding(tokens, weight).backward(g)
    grad = cuda.to_device(np.zeros((1, K, B)))
    ix.index_add(grad, cuda.to_device(tokens.numpy()), cuda.to_device(g.numpy()[None]))
    np.testing.assert_allclose(grad.copy_to_host()[0], weight.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_gather_and_scatter_add():
    rng = _rng()
    src = rng.standard_normal((A, K, B)).astype(np.float32)
    idx = rng.integers(0, K, (A, N, B))
    out = cuda.device_array((A, N, B), np.float32)
    ix.gather(cuda.to_device(src), cuda.to_device(idx), out)
    t_src, t_idx = torch.from_numpy(src), torch.from_numpy(idx)
    np.testing.assert_array_equal(out.copy_to_host(), torch.gather(t_src, 1, t_idx).numpy())
    vals = rng.standard_normal((A, N, B)).astype(np.float32)
    acc = cuda.to_device(src)
    ix.scatter_add(acc, cuda.to_device(idx), cuda.to_device(vals))
    want = t_src.scatter_add(1, t_idx, torch.from_numpy(vals)).numpy()
    np.testing.assert_allclose(acc.copy_to_host(), want, rtol=1e-6, atol=1e-6)


def test_scatter_with_distinct_indices():
    rng = _rng()
    idx = np.stack([rng.permutation(K)[:4] for _ in range(A * B)]).reshape(A, B, 4).transpose(0, 2, 1)
    idx = np.ascontiguousarray(idx)
    vals = rng.standard_normal((A, 4, B)).astype(np.float32)
    base = rng.standard_normal((A, K, B)).astype(np.float32)
    out = cuda.to_device(base)
    ix.scatter(out, cuda.to_device(idx), cuda.to_device(vals))
    want = torch.from_numpy(base).scatter(1, torch.from_numpy(idx), torch.from_numpy(vals)).numpy()
    np.testing.assert_array_equal(out.copy_to_host(), want)

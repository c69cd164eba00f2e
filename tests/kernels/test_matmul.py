"""kernels.cpu.matmul against NumPy: batched products with C, transposed (F), strided and
broadcast (stride-0 batch) operands, float32/float64 (BLAS, and the batch-parallel path)
and int64 (the Numba loop)."""

import numpy as np
import pytest

from kernels.cpu import matmul as mk


def operand(rng, shape, dtype, layout):
    """A (Bt, R, C) operand: "C" contiguous, "T" each matrix a transposed (F-contiguous)
    view, "strided" every other row and column, "broadcast" one matrix with batch stride 0."""
    bt, r, c = shape
    def draw(s):
        if np.issubdtype(dtype, np.integer):
            return rng.integers(-4, 5, s).astype(dtype)
        return rng.standard_normal(s).astype(dtype)
    if layout == "C":
        return draw(shape)
    if layout == "T":
        return draw((bt, c, r)).transpose(0, 2, 1)
    if layout == "strided":
        return draw((bt, 2 * r, 2 * c))[:, ::2, ::2]
    assert layout == "broadcast"
    return np.broadcast_to(draw((r, c)), shape)


def check(a, b):
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)
    mk.matmul(a, b, out)
    expect = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if np.issubdtype(a.dtype, np.integer):
        np.testing.assert_array_equal(out, expect.astype(a.dtype))
    else:
        tol = 1e-4 if a.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, expect, rtol=tol, atol=tol * np.sqrt(a.shape[2]))


LAYOUTS = [("C", "C"), ("T", "C"), ("C", "T"), ("T", "T"), ("strided", "C"),
           ("C", "strided"), ("broadcast", "C"), ("C", "broadcast")]


@pytest.mark.parametrize("la,lb", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts(la, lb, dtype):
    rng = np.random.default_rng(0)
    check(operand(rng, (3, 5, 7), dtype, la), operand(rng, (3, 7, 4), dtype, lb))


@pytest.mark.parametrize("la,lb", [("C", "C"), ("T", "broadcast"), ("strided", "T")])
def test_batch_parallel(la, lb):
    """Many small products: the batch-parallel path (one product per thread)."""
    rng = np.random.default_rng(1)
    check(operand(rng, (16, 33, 20), np.float32, la), operand(rng, (16, 20, 17), np.float32, lb))


@pytest.mark.parametrize("la,lb", [("C", "C"), ("T", "broadcast"), ("strided", "C")])
def test_int64(la, lb):
    rng = np.random.default_rng(2)
    check(operand(rng, (4, 6, 5), np.int64, la), operand(rng, (4, 5, 3), np.int64, lb))


@pytest.mark.parametrize("shape", [(1, 70, 60, 80), (1, 90, 60, 50), (3, 40, 50, 60), (2, 1, 9, 1),
                                   (1, 9, 1, 7)])
def test_shapes(shape):
    """Products large enough to be cut into row or column blocks across threads, a batch of
    3 over 2 threads, a row times a column, an outer product."""
    bt, m, k, n = shape
    rng = np.random.default_rng(3)
    check(operand(rng, (bt, m, k), np.float32, "C"), operand(rng, (bt, k, n), np.float32, "T"))


def test_empty():
    a = np.ones((2, 3, 0), np.float32)
    b = np.ones((2, 0, 4), np.float32)
    out = np.full((2, 3, 4), 7, np.float32)
    mk.matmul(a, b, out)
    assert (out == 0).all()
    mk.matmul(np.ones((0, 3, 2), np.float32), np.ones((0, 2, 4), np.float32),
              np.empty((0, 3, 4), np.float32))


"""kernels.cpu.matmul against NumPy: batched products over two batch dims with C,
transposed (F), interleaved-head, strided, flipped and broadcast (stride-0 batch) operands,
float32/float64 (BLAS, and the batch-parallel path) and int64 (the Numba loop)."""

import numpy as np
import pytest

from kernels.cpu import matmul as mk


def operand(rng, shape, dtype, layout):
    """A (B1, B2, R, C) operand: "C" contiguous; "T" each matrix a transposed (F-contiguous)
    view; "heads" the B2 matrices interleaved along the rows of a (B1, R, B2, C) array (the
    heads of attention), "heads T" their transposes; "strided" every other row and column
    (no unit stride: copied); "flipped" rows in reverse (a negative stride: copied);
    "broadcast" one matrix for every batch (batch strides 0)."""
    b1, b2, r, c = shape
    def draw(s):
        if np.issubdtype(dtype, np.integer):
            return rng.integers(-4, 5, s).astype(dtype)
        return rng.standard_normal(s).astype(dtype)
    if layout == "C":
        return draw(shape)
    if layout == "T":
        return draw((b1, b2, c, r)).transpose(0, 1, 3, 2)
    if layout == "heads":
        return draw((b1, r, b2, c)).transpose(0, 2, 1, 3)
    if layout == "heads T":
        return draw((b1, c, b2, r)).transpose(0, 2, 3, 1)
    if layout == "strided":
        return draw((b1, b2, 2 * r, 2 * c))[:, :, ::2, ::2]
    if layout == "flipped":
        return draw(shape)[:, :, ::-1]
    assert layout == "broadcast"
    return np.broadcast_to(draw((r, c)), shape)


def check(a, b):
    out = np.empty(a.shape[:3] + b.shape[3:], a.dtype)
    mk.matmul(a, b, out)
    expect = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if np.issubdtype(a.dtype, np.integer):
        np.testing.assert_array_equal(out, expect.astype(a.dtype))
    else:
        tol = 1e-4 if a.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, expect, rtol=tol, atol=tol * np.sqrt(a.shape[3]))


LAYOUTS = [("C", "C"), ("T", "C"), ("C", "T"), ("T", "T"), ("heads", "heads T"), ("heads T", "heads"),
           ("strided", "C"), ("C", "strided"), ("flipped", "heads"), ("broadcast", "C"), ("C", "broadcast")]


@pytest.mark.parametrize("la,lb", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts(la, lb, dtype):
    rng = np.random.default_rng(0)
    check(operand(rng, (2, 3, 5, 7), dtype, la), operand(rng, (2, 3, 7, 4), dtype, lb))


@pytest.mark.parametrize("la,lb", [("C", "C"), ("T", "broadcast"), ("strided", "T"), ("heads", "heads T")])
def test_batch_parallel(la, lb):
    """Many small products: the batch-parallel path (one product per thread)."""
    rng = np.random.default_rng(1)
    check(operand(rng, (4, 4, 33, 20), np.float32, la), operand(rng, (4, 4, 20, 17), np.float32, lb))


@pytest.mark.parametrize("la,lb", [("C", "C"), ("T", "broadcast"), ("strided", "C")])
def test_int64(la, lb):
    rng = np.random.default_rng(2)
    check(operand(rng, (2, 2, 6, 5), np.int64, la), operand(rng, (2, 2, 5, 3), np.int64, lb))


@pytest.mark.parametrize("shape", [(1, 70, 60, 80), (1, 90, 60, 50), (3, 40, 50, 60), (2, 1, 9, 1),
                                   (1, 9, 1, 7)])
def test_shapes(shape):
    """Products large enough to be cut into row or column blocks across threads, a batch of
    3 over 2 threads, a row times a column, an outer product."""
    bt, m, k, n = shape
    rng = np.random.default_rng(3)
    check(operand(rng, (1, bt, m, k), np.float32, "C"), operand(rng, (1, bt, k, n), np.float32, "T"))


def test_empty():
    a = np.ones((1, 2, 3, 0), np.float32)
    b = np.ones((1, 2, 0, 4), np.float32)
    out = np.full((1, 2, 3, 4), 7, np.float32)
    mk.matmul(a, b, out)
    assert (out == 0).all()
    mk.matmul(np.ones((1, 0, 3, 2), np.float32), np.ones((1, 0, 2, 4), np.float32),
              np.empty((1, 0, 3, 4), np.float32))


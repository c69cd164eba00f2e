"""Strided copies as runs of contiguous rows (``elementwise.copy_runs``) against NumPy."""

import numpy as np
import pytest

from autodiff.backends.cpu_memory import POOL
from kernels.cpu import elementwise as ek


def _cases():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 10, 48)).astype(np.float32)
    yield "slice of the last dim", base[:, :, 5:37], np.empty((6, 10, 32), np.float32)
    yield "into a slice of the last dim", base[:, :, :20].copy(), np.zeros((6, 10, 48), np.float32)[:, :, 20:40]
    yield "outer steps", base[::2, 1::3, 16:], np.empty((3, 3, 32), np.float32)
    yield "4-D coalescing to 3", base.reshape(2, 3, 10, 48)[:, :, :, 8:40], np.empty((2, 3, 10, 32), np.float32)
    yield "2-D", base[0, :, 3:43], np.empty((10, 40), np.float32)
    heads = rng.standard_normal((2, 4, 6, 32)).astype(np.float32)  # (batch, heads, tokens, dim)
    yield "three row dims: heads moved back", heads.transpose(0, 2, 1, 3), np.empty((2, 6, 4, 32), np.float32)
    yield "int64", np.arange(600, dtype=np.int64).reshape(20, 30)[:, 10:], np.empty((20, 20), np.int64)
    yield "pool buffer views", POOL.empty((8, 40), np.float32)[:, :32], POOL.empty((8, 64), np.float32)[:, 16:48]


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("name,src,out", list(_cases()), ids=[c[0] for c in _cases()])
def test_copy_runs_matches_numpy(monkeypatch, threaded, name, src, out):
    if threaded:
        monkeypatch.setattr(ek, "COPY_PARALLEL_THRESHOLD", 1)
    src[...] = np.arange(1, src.size + 1).reshape(src.shape)  # distinct, non-zero: a misplaced row shows
    whole = out if out.base is None else out.base.reshape(-1).view(out.dtype)  # the memory out is part of
    whole[...] = 0
    assert ek.copy_runs(out, src)
    np.testing.assert_array_equal(out, src)
    assert np.count_nonzero(whole) == out.size  # nothing written outside the view


def test_copy_runs_declines_what_it_cannot_do():
    a = np.ones((8, 40), np.float32)
    assert not ek.copy_runs(np.empty((40, 8), np.float32).T, a)  # the destination's rows are not unit-stride
    assert not ek.copy_runs(np.empty((8, 40), np.float64), a)  # a cast
    assert not ek.copy_runs(np.empty((8, 8), np.float32), a[:, :8])  # rows shorter than MIN_RUN
    assert not ek.copy_runs(np.empty((8, 40), np.float32), a[::-1])  # a negative stride
    deep = np.ones((2, 3, 4, 5, 40), np.float32)[:, ::2, ::2, ::2]  # four row dims survive coalescing
    assert not ek.copy_runs(np.empty(deep.shape, np.float32), deep)


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_join_matches_numpy_concatenate(monkeypatch, threaded, dim):
    """cat's copy: contiguous pieces by rows, a transposed, a float64 and an empty piece by
    the strided copy, each into its own run of every row and nowhere else."""
    if threaded:
        monkeypatch.setattr(ek, "COPY_PARALLEL_THRESHOLD", 1)
    rng = np.random.default_rng(dim)

    def piece(k, kind="c"):
        shape = [3, 5, 7]
        shape[dim] = k
        if kind == "t":  # the same shape, reversed memory order
            return np.ascontiguousarray(rng.standard_normal(shape[::-1]).astype(np.float32)).transpose(2, 1, 0)
        return rng.standard_normal(shape).astype(np.float64 if kind == "d" else np.float32)

    pieces = [piece(2), piece(0), piece(3, "t"), piece(1, "d"), piece(4)]
    total = sum(p.shape[dim] for p in pieces)
    shape = [3, 5, 7]
    shape[dim] = total
    out = np.full(shape, np.nan, np.float32)
    assert ek.join(out, pieces, dim) is out
    np.testing.assert_array_equal(out, np.concatenate(pieces, axis=dim).astype(np.float32))

"""Elementwise kernels over rows of contiguous elements (``elementwise._run_rows``) against NumPy."""

import numpy as np
import pytest

from kernels.cpu import elementwise as ek


def _cases():
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    big = r(40, 1200)
    yield "row broadcast over a batch", np.empty((16, 32, 128), np.float32), (r(16, 32, 128), r(32, 128))
    yield "bias", np.empty((300, 200), np.float32), (r(300, 200), r(200))
    yield "scalar and slices", np.empty((40, 1000), np.float32), (big[:, 100:1100], np.float32(3))
    yield "into a slice of out", np.zeros((40, 1200), np.float32)[:, 100:1100], (big[:, :1000], big[:, 200:])
    yield "two row dims", np.empty((6, 20, 400), np.float32), (r(6, 1, 400), r(20, 400))


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("name,out,operands", list(_cases()), ids=[c[0] for c in _cases()])
def test_rows_match_numpy(monkeypatch, threaded, name, out, operands):
    monkeypatch.setattr(ek, "PARALLEL_THRESHOLD", 1 if threaded else 1 << 40)
    taken = []
    real = ek._run_rows

    def spy(*args):
        taken.append(real(*args))
        return taken[-1]

    monkeypatch.setattr(ek, "_run_rows", spy)
    whole = out if out.base is None else out.base
    before = whole.copy()
    ek.run("mul" if name == "scalar and slices" else "add", out.dtype, out, *operands)
    a, b = operands
    np.testing.assert_array_equal(out, a * b if name == "scalar and slices" else a + b)
    assert taken == [True]  # the rows kernel did it
    outside = np.ones(whole.shape, bool)
    if out.base is not None:
        outside[:, 100:1100] = False
        np.testing.assert_array_equal(whole[outside], before[outside])  # nothing written outside out


def test_rows_decline_what_they_cannot_do():
    a = np.ones((300, 200), np.float32)
    out = np.empty((300, 200), np.float32)
    shape, strides = ek._coalesce(out.shape, [out.strides, a.T.strides])
    assert not ek._run_rows(None, out, [a.T], [a.T], shape, strides, False)  # a column stride
    col = np.ones((300, 1), np.float32)
    shape, strides = ek._coalesce(out.shape, [out.strides, ek._broadcast_strides(col, out.shape)])
    assert strides[1][-1] == 0  # broadcast along rows: the "r" pattern's strided loop does it

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
    for path in ("_run_rows", "_run_suffix_rows"):  # the general rows path and the broadcast fast path
        def spy(*args, real=getattr(ek, path)):
            done = real(*args)
            if done:
                taken.append(True)
            return done

        monkeypatch.setattr(ek, path, spy)
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


@pytest.mark.parametrize("threaded", [False, True])
def test_trailing_broadcasts_take_the_fast_path(monkeypatch, threaded):
    monkeypatch.setattr(ek, "PARALLEL_THRESHOLD", 1 if threaded else 1 << 40)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 64, 128)).astype(np.float32)
    for other in (rng.standard_normal((64, 128)), rng.standard_normal((1, 128)), rng.standard_normal((1, 1, 128))):
        other = other.astype(np.float32)
        out = np.empty_like(x)
        assert ek._run_suffix_rows("sub", out.dtype, out, (other, x))
        np.testing.assert_array_equal(out, other - x)
        scaled = np.empty_like(x)
        assert ek._run_suffix_rows("mul", out.dtype, scaled, (np.float32(2), other))  # a scalar operand too
        np.testing.assert_array_equal(scaled, np.broadcast_to(2 * other, x.shape))


def test_the_fast_path_declines_other_broadcasts():
    out = np.empty((6, 20, 400), np.float32)
    full = np.ones((6, 20, 400), np.float32)
    declined = [
        (np.ones((6, 1, 400), np.float32), full),  # a middle dim broadcast: not a trailing part
        (np.ones((20, 400), np.float32), np.ones(400, np.float32)),  # two different trailing parts
        (np.ones((400, 20), np.float32).T, full),  # not C-contiguous
        (np.ones((20, 8), np.float32)[:, :1], np.ones((6, 20, 1), np.float32)),  # rows shorter than MIN_RUN
    ]
    for a, b in declined:
        target = out if a.ndim < 3 or a.shape[-1] != 1 else np.empty((6, 20, 1), np.float32)
        assert not ek._run_suffix_rows("add", target.dtype, target, (a, b))

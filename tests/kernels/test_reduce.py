"""kernels.cpu.reduce against NumPy on (A, K, B) views.

Every distinct (kernel, dtype, layout) compiles once (seconds each), so the matrix below
tests every kernel on C-contiguous float32 and picks the other dtypes and the strided
("A" layout) views where the kernel does something different with them.
"""

import numpy as np
import pytest
from scipy import special

from kernels.cpu import reduce as R

# (A, K, B): B == 1 (row mode), B > 1 (column mode), A == 1, K == 1, and shapes large
# enough (>= R._SERIAL_MAX elements) for the parallel paths: many tiles, and few tiles
# where K is split into chunks (row and column mode).
SMALL = [(3, 5, 1), (2, 7, 4), (1, 9, 3), (4, 1, 5), (1, 1, 1)]
LARGE = [(1, 140000, 1), (700, 200, 1), (2, 600, 130), (128, 40, 30)]
assert all(np.prod(s) >= R._SERIAL_MAX for s in LARGE)
SHAPES = SMALL + LARGE
EMPTY = [(0, 3, 2), (3, 4, 0), (0, 0, 0)]


def make(shape, dtype, layout="C", seed=0):
    """Random (A, K, B) array; layout "C", or "strided": a non-contiguous view (every
    other K, B reversed through a transpose) with the same values' distribution."""
    rng = np.random.default_rng(seed)
    A, K, B = shape
    if dtype == np.bool_:
        base = rng.random((B, 2 * K, A)) < 0.8
    elif np.issubdtype(dtype, np.integer):
        base = rng.integers(-5, 6, (B, 2 * K, A)).astype(dtype)
    else:
        base = (rng.standard_normal((B, 2 * K, A)) * 3).astype(dtype)
    x = base.transpose(2, 1, 0)[:, ::2, :]
    if layout == "C":
        x = np.ascontiguousarray(x)
    else:
        assert not x.flags.c_contiguous or x.size <= 1
    return x


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


F32 = [(s, np.float32, "C") for s in SHAPES]
STRIDED = [(s, np.float32, "strided") for s in [(2, 7, 4), (1, 9, 1), (2, 600, 130)]]
CASES = [(R.sum_, np.sum, c) for c in F32 + STRIDED + [((2, 7, 4), np.float64, "C"),
                                                        ((1, 140000, 1), np.float64, "C")]]
CASES += [(R.max_, np.max, c) for c in F32 + STRIDED] + [(R.min_, np.min, c) for c in F32]


@pytest.mark.parametrize("kernel,ref,case", CASES)
def test_sum_max_min(kernel, ref, case):
    shape, dtype, layout = case
    x = make(shape, dtype, layout)
    out = np.empty((shape[0], shape[2]), dtype)
    kernel(x, out)
    expect = ref(x.astype(np.float64), axis=1)
    if kernel is R.sum_:  # rounding error relative to the sum of magnitudes
        scale = np.abs(x).astype(np.float64).sum(axis=1)
        assert (np.abs(out - expect) <= 4 * np.finfo(dtype).eps * scale + 1e-30).all()
    else:
        np.testing.assert_array_equal(out, expect.astype(dtype))


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4), (128, 40, 30)])
def test_prod(shape):
    x = make(shape, np.float64)
    x = 1 + x / 50  # keep the products O(1)
    out = np.empty((shape[0], shape[2]), x.dtype)
    R.prod(x, out)
    np.testing.assert_allclose(out, np.prod(x, axis=1), rtol=1e-12)


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4), (1, 140000, 1), (2, 600, 130)])
@pytest.mark.parametrize("kernel,ref", [(R.sum_, np.sum), (R.max_, np.max), (R.prod, np.prod)])
def test_int64(kernel, ref, shape):
    x = make(shape, np.int64)
    if kernel is R.prod:
        x = np.clip(x, -1, 2)
    out = np.empty((shape[0], shape[2]), np.int64)
    kernel(x, out)
    np.testing.assert_array_equal(out, ref(x, axis=1))


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4), (1, 140000, 1), (128, 40, 30)])
@pytest.mark.parametrize("kernel,ref,dtype", [(R.all_, np.all, np.bool_),
                                              (R.any_, np.any, np.bool_),
                                              (R.all_, np.all, np.float32)])
def test_all_any(kernel, ref, dtype, shape):
    x = make(shape, dtype)
    if dtype == np.float32:
        x = np.where(np.abs(x) < 4, x, 0).astype(dtype)  # some zeros
        x[0, 0, 0] = np.nan  # truthy, as in torch
    if kernel is R.any_ and dtype == np.bool_:
        x = ~x  # mostly False, so that any() is not trivially True
    out = np.empty((shape[0], shape[2]), np.bool_)
    kernel(x, out)
    np.testing.assert_array_equal(out, ref(x, axis=1))


ARG_CASES = [(R.max_argmax, np.max, c) for c in F32 + STRIDED + [
    (s, np.int64, "C") for s in [(3, 5, 1), (2, 7, 4), (1, 140000, 1)]]]
ARG_CASES += [(R.min_argmin, np.min, c) for c in F32]


@pytest.mark.parametrize("kernel,ref,case", ARG_CASES)
def test_max_argmax(kernel, ref, case):
    shape, dtype, layout = case
    x = make(shape, dtype, layout)
    if np.issubdtype(dtype, np.floating):
        x = np.round(x)  # ties: the first index must win
    out = np.empty((shape[0], shape[2]), dtype)
    idx = np.empty((shape[0], shape[2]), np.int64)
    kernel(x, out, idx)
    np.testing.assert_array_equal(out, ref(x, axis=1))
    argref = np.argmax if kernel is R.max_argmax else np.argmin
    np.testing.assert_array_equal(idx, argref(x, axis=1))


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4), (1, 140000, 1), (2, 600, 130)])
@pytest.mark.parametrize("kernel,ref", [(R.argmax, np.argmax), (R.argmin, np.argmin)])
def test_argmax_only(kernel, ref, shape):
    x = np.round(make(shape, np.float32))
    idx = np.empty((shape[0], shape[2]), np.int64)
    kernel(x, idx)
    np.testing.assert_array_equal(idx, ref(x, axis=1))


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4), (1, 140000, 1), (2, 600, 130),
                                   (128, 40, 30)])
def test_nan_propagation(shape):
    """Any NaN in a slice: max/min give NaN, argmax/argmin its first NaN (torch)."""
    x = make(shape, np.float32)
    A, K, B = shape
    x[0, K // 2, 0] = np.nan
    x[0, K - 1, 0] = np.nan
    corner = (A - 1, B - 1) != (0, 0)
    if corner:
        x[A - 1, 0, B - 1] = np.nan
    for kernel, argkernel, ref in [(R.max_, R.max_argmax, np.max), (R.min_, R.min_argmin, np.min)]:
        out = np.empty((A, B), np.float32)
        kernel(x, out)
        np.testing.assert_array_equal(out, ref(x, axis=1))  # NaN where NumPy has NaN
        idx = np.empty((A, B), np.int64)
        argkernel(x, out, idx)
        assert idx[0, 0] == K // 2 and np.isnan(out[0, 0])
        assert idx[A - 1, B - 1] == 0 or not corner
        clean = ~np.isnan(x).any(axis=1)
        argref = np.argmax if ref is np.max else np.argmin
        np.testing.assert_array_equal(idx[clean], argref(x, axis=1)[clean])


def test_row_lengths_around_the_vector_width():
    """Rows of 1..70 values (the vector loop's whole iterations and remainders), one NaN
    at a row's end, one NaN among -inf: every row-mode fold and the softmax family as
    NumPy and SciPy; a row of -0.0 sums to 0.0, as in torch."""
    rng = np.random.default_rng(1)
    for K in range(1, 71):
        x = rng.standard_normal((4, K, 1)).astype(np.float32)
        x[1, K - 1, 0] = np.nan
        x[2, :, 0] = -np.inf
        x[2, K // 2, 0] = np.nan  # a NaN among -inf: NaN everywhere, whatever the shift
        x[3, :, 0] = -0.0
        out = np.empty((4, 1), np.float32)
        for kernel, ref in [(R.sum_, np.sum), (R.max_, np.max), (R.min_, np.min), (R.prod, np.prod)]:
            kernel(x, out)
            np.testing.assert_allclose(out, ref(x.astype(np.float64), axis=1), rtol=2e-6, atol=1e-6)
        R.sum_(x, out)
        assert not np.signbit(out[3, 0])
        truth = np.empty((4, 1), np.bool_)
        for kernel, ref in [(R.all_, np.all), (R.any_, np.any)]:
            kernel(x, truth)
            np.testing.assert_array_equal(truth, ref(x != 0, axis=1))
        with np.errstate(invalid="ignore"):
            R.logsumexp(x, out)
            np.testing.assert_allclose(out, special.logsumexp(x.astype(np.float64), axis=1), rtol=2e-6)
            sm = np.empty_like(x)
            R.softmax(x[:3], sm[:3])
            np.testing.assert_allclose(sm[:3], special.softmax(x[:3].astype(np.float64), axis=1), rtol=2e-6, atol=1e-7)
            assert np.isnan(sm[1:3]).all()


def test_sum_accuracy_float32():
    """Pairwise blocks: 10M copies of float32 0.1 sum to 1e6 (a plain float32 loop is off
    by several percent)."""
    x = np.full((1, 10_000_000, 1), 0.1, np.float32)
    out = np.empty((1, 1), np.float32)
    R.sum_(x, out)
    assert abs(out[0, 0] - 1e6) / 1e6 < 1e-5
    # Column mode (B > 1) is blocked over K the same way.
    x = np.full((1, 2_000_000, 4), 0.1, np.float32)
    out = np.empty((1, 4), np.float32)
    R.sum_(x, out)
    np.testing.assert_allclose(out, 2e5, rtol=1e-5)


@pytest.mark.parametrize("shape", EMPTY)
def test_empty_outputs(shape):
    x = np.zeros(shape, np.float32)
    out = np.empty((shape[0], shape[2]), np.float32)
    for kernel in (R.sum_, R.max_, R.softmax, R.cumsum):
        o = np.empty(shape, np.float32) if kernel in (R.softmax, R.cumsum) else out
        kernel(x, o)


def test_empty_k():
    x = np.zeros((2, 0, 3), np.float32)
    out = np.full((2, 3), 7, np.float32)
    R.sum_(x, out)
    assert (out == 0).all()
    R.logsumexp(x, out)
    assert (out == -np.inf).all()
    with pytest.raises(ValueError):
        R.max_(x, out)
    x64 = np.zeros((2, 0, 3))
    out64 = np.zeros((2, 3))
    R.prod(x64, out64)
    assert (out64 == 1).all()
    flags = np.zeros((2, 3), np.bool_)
    R.all_(np.zeros((2, 0, 3), np.bool_), flags)
    assert flags.all()
    R.any_(np.ones((2, 0, 3), np.bool_), flags)
    assert not flags.any()


SCAN_CASES = [(s, np.float32, "C") for s in [(3, 5, 1), (2, 7, 4), (1, 140000, 1), (128, 40, 30)]] + [
    ((2, 7, 4), np.int64, "C"),
    ((2, 7, 4), np.float32, "strided"),
    ((3, 6, 1), np.float32, "strided"),
]


@pytest.mark.parametrize("shape,dtype,layout", SCAN_CASES)
def test_cumsum(shape, dtype, layout):
    x = make(shape, dtype, layout)
    out = np.empty(shape, dtype)
    R.cumsum(x, out)
    ref = np.cumsum(x, axis=1, dtype=dtype)  # sequential in x's dtype, like the kernel
    np.testing.assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4)])
def test_cumprod(shape):
    dtype = np.float64
    x = 1 + make(shape, dtype) / 10
    out = np.empty(shape, dtype)
    R.cumprod(x, out)
    np.testing.assert_allclose(out, np.cumprod(x, axis=1), rtol=1e-12)


def ref_softmax(x):
    return special.softmax(x.astype(np.float64), axis=1)


def ref_log_softmax(x):
    return special.log_softmax(x.astype(np.float64), axis=1)


SOFTMAX_CASES = [(s, np.float32, "C")
                 for s in [(3, 5, 1), (2, 7, 4), (700, 200, 1), (128, 40, 30)]] + [
    ((2, 7, 4), np.float32, "strided"),
    ((3, 6, 1), np.float32, "strided"),
]


@pytest.mark.parametrize("shape,dtype,layout", SOFTMAX_CASES)
def test_softmax_family(shape, dtype, layout):
    x = make(shape, dtype, layout)
    out = np.empty(shape, dtype)
    R.softmax(x, out)
    np.testing.assert_allclose(out, ref_softmax(x), **tol(dtype))
    R.log_softmax(x, out)
    np.testing.assert_allclose(out, ref_log_softmax(x), **tol(dtype))
    lse = np.empty((shape[0], shape[2]), dtype)
    R.logsumexp(x, lse)
    np.testing.assert_allclose(lse, special.logsumexp(x.astype(np.float64), axis=1), **tol(dtype))


@pytest.mark.parametrize("shape", [(3, 5, 1), (2, 7, 4)])
def test_softmax_float64(shape):
    x = make(shape, np.float64)
    out = np.empty(shape)
    R.softmax(x, out)
    np.testing.assert_allclose(out, ref_softmax(x), **tol(np.float64))


@pytest.mark.parametrize("shape,dtype,layout", SOFTMAX_CASES)
def test_softmax_backward(shape, dtype, layout):
    y = ref_softmax(make(shape, dtype, layout)).astype(dtype)
    g = make(shape, dtype, layout, seed=1)
    out = np.empty(shape, dtype)
    R.softmax_backward(y, g, out)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    ref = y64 * (g64 - (g64 * y64).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out, ref, **tol(dtype))
    logy = ref_log_softmax(make(shape, dtype, layout)).astype(dtype)
    R.log_softmax_backward(logy, g, out)
    ref = g64 - np.exp(logy.astype(np.float64)) * g64.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, ref, **tol(dtype))


@pytest.mark.parametrize("shape", [(2, 4, 1), (2, 4, 3)])
def test_softmax_extremes(shape):
    """+-1e4 stays finite; all -inf gives NaN (softmax, log_softmax) and -inf (logsumexp);
    +inf gives NaN and +inf, as torch."""
    A, K, B = shape
    x = np.zeros(shape, np.float32)
    x[0] = np.array([1e4, -1e4, 0, 1e4 - 1], np.float32)[:, None]
    x[1] = -np.inf
    out = np.empty(shape, np.float32)
    lse = np.empty((A, B), np.float32)
    R.softmax(x, out)
    np.testing.assert_allclose(out[0], ref_softmax(x[:1])[0], rtol=1e-6, atol=1e-30)
    assert np.isnan(out[1]).all()
    R.log_softmax(x, out)
    np.testing.assert_allclose(out[0], ref_log_softmax(x[:1])[0], rtol=1e-6)
    assert np.isnan(out[1]).all()
    R.logsumexp(x, lse)
    np.testing.assert_allclose(lse[0], np.float32(1e4) + np.log1p(np.exp(-1.0)), rtol=1e-6)
    assert (lse[1] == -np.inf).all()
    x[1, 0] = np.inf
    R.logsumexp(x, lse)
    assert (lse[1] == np.inf).all()
    R.softmax(x, out)
    assert np.isnan(out[1]).all()

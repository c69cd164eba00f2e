"""kernels.cpu.blas: ``gemm`` on strided 2-D views against NumPy, with accumulation
(beta), and ``ready_blas`` holding SciPy's BLAS, not NumPy's, to one thread."""

import numpy as np
import pytest
import threadpoolctl

from kernels.cpu import blas


def view(rng, shape, dtype, layout):
    """A 2-D operand: "C", "F" (a transposed view), "rows" (every other column: a unit
    stride is missing, so gemm copies), "block" (a block of a wider C matrix: ld > cols)."""
    r, c = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "F":
        return rng.standard_normal((c, r)).astype(dtype).T
    if layout == "rows":
        return rng.standard_normal((r, 2 * c)).astype(dtype)[:, ::2]
    assert layout == "block"
    return rng.standard_normal((r + 2, c + 3)).astype(dtype)[1:r + 1, 2:c + 2]


OUT_VIEWS = {  # an output view into a larger parent: (parent shape, index)
    "C": ((5, 4), np.s_[:, :]),
    "F": ((4, 5), np.s_[:, :]),  # used transposed
    "block": ((7, 7), np.s_[1:6, 2:6]),
    "rows": ((5, 8), np.s_[:, ::2]),
}


@pytest.mark.parametrize("la,lb,lo", [("C", "C", "C"), ("F", "C", "C"), ("C", "F", "block"),
                                      ("F", "F", "F"), ("rows", "block", "C"), ("block", "rows", "rows")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_layouts_and_beta(la, lb, lo, dtype):
    rng = np.random.default_rng(0)
    a, b = view(rng, (5, 7), dtype, la), view(rng, (7, 4), dtype, lb)
    shape, index = OUT_VIEWS[lo]
    parent = np.full(shape, 7, dtype)
    out = parent.T if lo == "F" else parent[index]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    blas.gemm(a, b, out, 1.0)
    np.testing.assert_allclose(out, a @ b + 7, rtol=tol, atol=tol)
    blas.gemm(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=tol, atol=tol)
    out[...] = 7  # nothing was written outside the view
    assert (parent == 7).all()


@pytest.mark.parametrize("shape", [(1, 6, 4), (5, 1, 4), (5, 6, 1), (3, 0, 4), (0, 3, 2)])
def test_gemm_degenerate(shape):
    """Rows, columns and inner sizes of 1 (any stride is allowed there) and of 0."""
    m, k, n = shape
    rng = np.random.default_rng(1)
    a, b = view(rng, (m, k), np.float64, "block"), view(rng, (k, n), np.float64, "F")
    out = np.full((m, n), 3.0)
    blas.gemm(a, b, out, 2.0)
    np.testing.assert_allclose(out, a @ b + 6.0, rtol=1e-12, atol=1e-12)


def test_ready_blas():
    blas.ready_blas()
    for info in threadpoolctl.threadpool_info():
        if info["user_api"] == "blas" and "scipy.libs" in info["filepath"]:
            assert info["num_threads"] == 1

"""Small dense linear algebra over batches of matrices: Cholesky and triangular solves.

Arrays are C-contiguous ``(batch, n, n)`` (and ``(batch, n, k)`` right-hand sides);
accumulation is in the array's dtype. Sizes here are those of covariance matrices (tens),
so plain loops suffice. The per-matrix code is ``kernels.linalg_matrix``' (the CUDA
kernels' too).
"""

from __future__ import annotations

from numba import njit

from .. import linalg_matrix
from ..guard import guard_kernels
from ..portable import compile_for

_matrix = compile_for(linalg_matrix.FUNCTIONS, njit(inline="always"))
_cholesky_matrix, _solve_column = _matrix.cholesky_matrix, _matrix.solve_column


@njit(cache=True, error_model="numpy")
def cholesky(a, out):
    """Lower Cholesky factors of ``a`` into ``out``; returns the first batch index whose
    matrix is not positive-definite, or -1 (with that matrix's failing order in ``out``)."""
    for b in range(a.shape[0]):
        if not _cholesky_matrix(a, out, b):
            return b
    return -1


@njit(cache=True, error_model="numpy")
def solve_triangular(l, rhs, out, upper, left, unitriangular):
    """``out = L^-1 rhs`` (left) or ``rhs L^-1`` (right) for triangular ``L`` (lower unless
    ``upper``), one matrix per batch entry."""
    k = rhs.shape[2] if left else rhs.shape[1]
    for b in range(l.shape[0]):
        for c in range(k):
            _solve_column(l, rhs, out, upper, left, unitriangular, b, c)


guard_kernels(globals())

"""Small dense linear algebra over batches of matrices: Cholesky and triangular solves.

Arrays are C-contiguous ``(batch, n, n)`` (and ``(batch, n, k)`` right-hand sides);
accumulation is in the array's dtype. Sizes here are those of covariance matrices (tens),
so plain loops suffice.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def cholesky(a, out):
    """Lower Cholesky factors of ``a`` into ``out``; returns the first batch index whose
    matrix is not positive-definite, or -1 (with that matrix's failing order in ``out``)."""
    nb, n = a.shape[0], a.shape[1]
    for b in range(nb):
        for i in range(n):
            for j in range(n):
                out[b, i, j] = 0
        for j in range(n):
            s = a[b, j, j]
            for k in range(j):
                s -= out[b, j, k] * out[b, j, k]
            if not s > 0:
                return b
            d = np.sqrt(s)
            out[b, j, j] = d
            for i in range(j + 1, n):
                t = a[b, i, j]
                for k in range(j):
                    t -= out[b, i, k] * out[b, j, k]
                out[b, i, j] = t / d
    return -1


@njit(cache=True, error_model="numpy")
def solve_triangular(l, rhs, out, upper, left, unitriangular):
    """``out = L^-1 rhs`` (left) or ``rhs L^-1`` (right) for triangular ``L`` (lower unless
    ``upper``), one matrix per batch entry."""
    nb, n = l.shape[0], l.shape[1]
    k = rhs.shape[2] if left else rhs.shape[1]
    for b in range(nb):
        for c in range(k):
            # left: solve L x = rhs[:, c]; right: solve x L = rhs[c, :], i.e. L^T x^T = rhs^T
            forward = (not upper) if left else upper
            for step in range(n):
                i = step if forward else n - 1 - step
                s = rhs[b, i, c] if left else rhs[b, c, i]
                for jj in range(step):
                    j = jj if forward else n - 1 - jj
                    lij = l[b, i, j] if left else l[b, j, i]
                    s -= lij * (out[b, j, c] if left else out[b, c, j])
                if not unitriangular:
                    s = s / l[b, i, i]
                if left:
                    out[b, i, c] = s
                else:
                    out[b, c, i] = s



guard_kernels(globals())

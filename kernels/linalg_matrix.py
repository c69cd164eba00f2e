"""The Cholesky factor of one matrix and the triangular solve of one right-hand side, in plain
Python compiled per target (``kernels.portable``).

Arrays are C-contiguous ``(batch, n, n)`` (right-hand sides ``(batch, n, k)`` when solving
from the left, ``(batch, k, n)`` from the right); accumulation is in the array's dtype.
``kernels.cpu.linalg`` loops over the matrices and columns; ``kernels.cuda.linalg`` runs a
device thread per matrix (Cholesky) or per right-hand side (solve).
"""

from __future__ import annotations

import math


def cholesky_matrix(a, out, b):
    """The lower Cholesky factor of a[b] into out[b]; False (with the failing order in out[b])
    when a[b] is not positive-definite."""
    n = a.shape[1]
    for i in range(n):
        for j in range(n):
            out[b, i, j] = 0
    ok = True
    for j in range(n):  # (no early return: inlined into the CPU loop, one made it ~15% slower)
        if ok:
            s = a[b, j, j]
            for k in range(j):
                s -= out[b, j, k] * out[b, j, k]
            ok = s > 0
            if ok:
                d = math.sqrt(s)
                out[b, j, j] = d
                for i in range(j + 1, n):
                    t = a[b, i, j]
                    for k in range(j):
                        t -= out[b, i, k] * out[b, j, k]
                    out[b, i, j] = t / d
    return ok


def solve_column(l, rhs, out, upper, left, unitriangular, b, c):
    """Column c of out[b] = L^-1 rhs[b] (``left``), or row c of out[b] = rhs[b] L^-1, for the
    triangular L = l[b] (lower unless ``upper``; a unit diagonal, not read, if ``unitriangular``)."""
    n = l.shape[1]
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


FUNCTIONS = (cholesky_matrix, solve_column)  # for portable.compile_for

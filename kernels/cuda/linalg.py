"""Cholesky factors and triangular solves on the device, over batches of small matrices.

As ``kernels.cpu.linalg`` (C-contiguous ``(batch, n, n)`` matrices, accumulation in their
dtype), from the same per-matrix code (``kernels.linalg_matrix``). The simple choice for
the common case, many small matrices (covariances, Cayley maps): one grid-stride thread
factors a whole matrix, and one thread solves one right-hand-side column (left) or row
(right) of one matrix. A large single matrix runs serially on one thread; a block per
matrix is what a faster version for those would use.

A matrix that is not positive-definite is reported as the CPU kernel reports it: the
first such batch index, folded into ``first_bad`` (one int64, set to the batch size
beforehand) by an atomic minimum.
"""

from __future__ import annotations

from numba import cuda

from .. import linalg_matrix
from ..portable import compile_for
from . import launch

_matrix = compile_for(linalg_matrix.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_cholesky_matrix, _solve_column = _matrix.cholesky_matrix, _matrix.solve_column


@cuda.jit(cache=True)
def cholesky_k(a, out, first_bad):
    for b in range(cuda.grid(1), a.shape[0], cuda.gridsize(1)):
        if not _cholesky_matrix(a, out, b):
            cuda.atomic.min(first_bad, 0, b)


@cuda.jit(cache=True)
def solve_k(l, rhs, out, upper, left, unitriangular):
    k = rhs.shape[2] if left else rhs.shape[1]
    for t in range(cuda.grid(1), l.shape[0] * k, cuda.gridsize(1)):
        _solve_column(l, rhs, out, upper, left, unitriangular, t // k, t % k)


def cholesky(a, out, first_bad) -> None:
    """out = the lower Cholesky factors of a; first_bad[0] lowered to the first batch index
    whose matrix is not positive-definite."""
    cholesky_k[launch.grid(a.shape[0])](a, out, first_bad)


def solve_triangular(l, rhs, out, upper: bool, left: bool, unitriangular: bool) -> None:
    """out = L^-1 rhs (``left``) or rhs L^-1, L = l's lower (or ``upper``) triangles."""
    columns = rhs.shape[2] if left else rhs.shape[1]
    solve_k[launch.grid(l.shape[0] * columns)](l, rhs, out, upper, left, unitriangular)


KERNELS = {"cholesky": cholesky_k, "solve_triangular": solve_k}

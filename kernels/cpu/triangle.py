"""The coordinates of a matrix's lower or upper triangle (``tril_indices``/``triu_indices``)."""

from __future__ import annotations

from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def triangle_indices(rows, cols, offset, lower, out):
    """out[0], out[1] = the (row, col) pairs with col - row <= offset (``lower``) or
    >= offset, in row-major order; out (2, count) int64 sized by the caller."""
    k = 0
    for r in range(rows):
        for c in range(cols):
            if (c - r <= offset) if lower else (c - r >= offset):
                out[0, k] = r
                out[1, k] = c
                k += 1



guard_kernels(globals())

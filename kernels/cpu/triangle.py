"""The coordinates of a matrix's lower or upper triangle (``tril_indices``/``triu_indices``)."""

from __future__ import annotations

from numba import njit

from .. import triangle_rows
from ..guard import guard_kernels
from ..portable import compile_for

_write_row = compile_for(triangle_rows.FUNCTIONS, njit(inline="always")).write_row


@njit(cache=True, error_model="numpy")
def triangle_indices(rows, cols, offset, lower, out):
    """out[0], out[1] = the (row, col) pairs with col - row <= offset (``lower``) or
    >= offset, in row-major order; out (2, count) int64 sized by the caller."""
    k = 0
    for r in range(rows):
        k = _write_row(cols, offset, lower, r, out, k)


guard_kernels(globals())

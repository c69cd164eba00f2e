"""The coordinates of a matrix's lower or upper triangle on the device, one thread per row.

The row code is ``kernels.triangle_rows``' (the CPU kernel's own); each thread first sums
the lengths of the rows before its own (closed-form, O(rows) per thread) to find where its
run starts, so the rows need no host-side prefix sum and no communication.
"""

from __future__ import annotations

from numba import cuda

from .. import triangle_rows
from ..portable import compile_for
from . import launch

_rows = compile_for(triangle_rows.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_row_span, _write_row = _rows.row_span, _rows.write_row


@cuda.jit(cache=True)
def triangle_k(rows, cols, offset, lower, out):
    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
        k = 0
        for p in range(r):
            first, end = _row_span(cols, offset, lower, p)
            k += end - first
        _write_row(cols, offset, lower, r, out, k)


def triangle_indices(rows: int, cols: int, offset: int, lower: bool, out) -> None:
    """out (2, count) int64 = the (row, col) pairs of the triangle, in row-major order."""
    triangle_k[launch.grid(rows)](rows, cols, offset, lower, out)


KERNELS = {"triangle": triangle_k}

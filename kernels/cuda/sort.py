"""Sorting on the device over the middle axis of an (A, K, B) array: sort, top-k, k-th value.

The row code is ``kernels.sort_rows``' (the CPU kernels' own: stable, NaN largest, as
PyTorch), compiled as device functions; one grid-stride thread sorts one row at a time in
its slice of a scratch allocation (``scratch_rows`` rows of K: the values, the order and
the merge buffer). Simple and identical to the CPU results; a block-cooperative sort
for few long rows is what a faster version would add.
"""

from __future__ import annotations

from numba import cuda

from .. import sort_rows
from ..portable import compile_for
from . import launch

_rows = compile_for(sort_rows.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_sort_row, _pick_row = _rows.sort_row, _rows.pick_row


@cuda.jit(cache=True)
def sort_k(x, values, indices, descending, row, order, buf):
    """values, indices (A, k, B) = the first k of every row of x (A, K, B) sorted, and where."""
    g = cuda.grid(1)
    for t in range(g, x.shape[0] * x.shape[2], cuda.gridsize(1)):
        _sort_row(x, values, indices, descending, t, row[g], order[g], buf[g])


@cuda.jit(cache=True)
def pick_k(x, position, nan_propagates, values, indices, row, order, buf):
    """values, indices (A, B) = the ``position``-th smallest of every row of x and its index."""
    g = cuda.grid(1)
    for t in range(g, x.shape[0] * x.shape[2], cuda.gridsize(1)):
        _pick_row(x, position, nan_propagates, values, indices, t, row[g], order[g], buf[g])


def geometry(rows: int) -> tuple[tuple[int, int], int]:
    """The launch (blocks, threads) over ``rows`` rows and the scratch rows it needs (one per
    thread that gets a row)."""
    blocks, threads = launch.grid(rows)
    return (blocks, threads), min(rows, blocks * threads)


def sort(x, values, indices, descending: bool, row, order, buf) -> None:
    sort_k[geometry(x.shape[0] * x.shape[2])[0]](x, values, indices, descending, row, order, buf)


def pick_sorted(x, position: int, nan_propagates: bool, values, indices, row, order, buf) -> None:
    pick_k[geometry(x.shape[0] * x.shape[2])[0]](x, position, nan_propagates, values, indices, row, order, buf)


KERNELS = {"sort": sort_k, "pick": pick_k}

"""Kernels for sparse COO matrices: sparse-dense products and index bookkeeping.

A COO matrix is ``rows``, ``cols`` (int64, nnz) and ``values`` (nnz); duplicates are
allowed (they add up). The two products are each other's adjoints:

* ``spmm``: ``out[rows[k], :] += values[k] * dense[cols[k], :]`` (out zeroed here);
* ``sddmm``: ``out[k] = <a[rows[k], :], b[cols[k], :]>`` (the product sampled at the
  nonzeros: the gradient of ``spmm`` with respect to the values).

``spmm`` runs in parallel over blocks of output columns, so no two threads write the
same element whatever the order of the nonzeros. The per-nonzero code of ``sddmm``,
``ravel`` and ``unravel`` is ``kernels.sparse_entries``' (the CUDA kernels' too).
"""

from __future__ import annotations

from numba import njit, prange

from .. import sparse_entries
from ..guard import guard_kernels
from ..portable import compile_for

COLUMN_BLOCK = 64
_entries = compile_for(sparse_entries.FUNCTIONS, njit(inline="always"))
_sampled_dot, _unravel_entry, _ravel_entry = _entries.sampled_dot, _entries.unravel_entry, _entries.ravel_entry


@njit(cache=True, parallel=True, error_model="numpy")
def spmm(rows, cols, values, dense, out):
    """out (m, n) = S @ dense, S the COO matrix; dense (k, n), C-contiguous rows."""
    n = out.shape[1]
    blocks = (n + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    for blk in prange(blocks):
        lo = blk * COLUMN_BLOCK
        hi = min(lo + COLUMN_BLOCK, n)
        for r in range(out.shape[0]):
            for j in range(lo, hi):
                out[r, j] = 0
        for k in range(rows.size):
            r, c, v = rows[k], cols[k], values[k]
            for j in range(lo, hi):
                out[r, j] += v * dense[c, j]


@njit(cache=True, parallel=True, error_model="numpy")
def sddmm(rows, cols, a, b, out):
    """out[k] = sum_j a[rows[k], j] * b[cols[k], j]; a (m, n), b (p, n)."""
    for k in prange(rows.size):
        _sampled_dot(rows, cols, a, b, out, k)


@njit(cache=True, error_model="numpy")
def runs(sorted_keys, order, inverse, unique_keys):
    """Group equal keys: ``sorted_keys`` ascending with ``order`` the permutation that sorted
    them; writes inverse[order[i]] = the group of element i and unique_keys[g]; returns
    the number of groups."""
    g = -1
    for i in range(sorted_keys.size):
        if i == 0 or sorted_keys[i] != sorted_keys[i - 1]:
            g += 1
            unique_keys[g] = sorted_keys[i]
        inverse[order[i]] = g
    return g + 1


@njit(cache=True, error_model="numpy")
def nonzero_flat(flat, out):
    """Writes the positions of the nonzero elements of ``flat`` into ``out``; returns their count."""
    n = 0
    for i in range(flat.size):
        if flat[i] != 0:
            out[n] = i
            n += 1
    return n


@njit(cache=True, error_model="numpy")
def unravel(flat_index, shape, out):
    """out[:, k] = the C-order coordinates of flat_index[k] in an array of ``shape``."""
    for k in range(flat_index.size):
        _unravel_entry(flat_index, shape, out, k)


@njit(cache=True, error_model="numpy")
def ravel(indices, shape, out):
    """out[k] = the C-order flat position of the coordinates indices[:, k]."""
    for k in range(indices.shape[1]):
        _ravel_entry(indices, shape, out, k)


guard_kernels(globals())

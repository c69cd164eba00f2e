"""Sorting kernels over the middle axis of an (A, K, B) array.

``sort`` writes the first ``k`` elements of every sorted (a, :, b) row and their
positions: ``k == K`` is a full sort, ``k < K`` a top-k. The row sort is
``kernels.sort_rows``' (stable; NaN largest, as PyTorch), shared with the CUDA kernels.

One row is sorted per loop iteration; the parallel variant spreads rows over threads
and is picked above ``PARALLEL_THRESHOLD`` elements. A small top-k keeps the k best in
a sorted buffer instead of sorting the whole row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from .. import sort_rows
from ..guard import guard_kernels
from ..portable import compile_for

PARALLEL_THRESHOLD = 1 << 15
SELECT_MAX_K = 32  # top-k below this (and k <= K / 8) selects instead of sorting the row


_rows = compile_for(sort_rows.FUNCTIONS, njit(inline="always"))
_before, _sort_row, _pick_row = _rows.before, _rows.sort_row, _rows.pick_row


@njit(inline="always")
def _select_row(x, values, indices, descending, t, best):
    """The first k of row t in sorted order by insertion into a sorted buffer of k
    (O(K k), for small k); an element equal to a kept one goes after it (stable)."""
    B = x.shape[2]
    a, b = t // B, t % B
    K, k = x.shape[1], values.shape[1]
    count = 0
    for i in range(K):
        v = x[a, i, b]
        if count == k and not _before(v, x[a, best[k - 1], b], descending):
            continue
        j = count if count < k else k - 1
        while j > 0 and _before(v, x[a, best[j - 1], b], descending):
            best[j] = best[j - 1]
            j -= 1
        best[j] = i
        if count < k:
            count += 1
    for i in range(k):
        values[a, i, b] = x[a, best[i], b]
        indices[a, i, b] = best[i]


@njit(cache=True, parallel=True, error_model="numpy")
def _select(x, values, indices, descending):
    for t in prange(x.shape[0] * x.shape[2]):
        best = np.empty(max(values.shape[1], 1), np.int64)
        _select_row(x, values, indices, descending, t, best)


@njit(cache=True, error_model="numpy")
def _sort_serial(x, values, indices, descending):
    K = x.shape[1]
    row, order, buf = np.empty(K, x.dtype), np.empty(K, np.int64), np.empty(K, np.int64)
    for t in range(x.shape[0] * x.shape[2]):
        _sort_row(x, values, indices, descending, t, row, order, buf)


@njit(cache=True, parallel=True, error_model="numpy")
def _sort_parallel(x, values, indices, descending):
    K = x.shape[1]
    for t in prange(x.shape[0] * x.shape[2]):
        row, order, buf = np.empty(K, x.dtype), np.empty(K, np.int64), np.empty(K, np.int64)
        _sort_row(x, values, indices, descending, t, row, order, buf)


def sort(x: np.ndarray, values: np.ndarray, indices: np.ndarray, descending: bool) -> None:
    """values[a, :k, b], indices[a, :k, b] = the first k of row x[a, :, b] sorted, and where
    they were. x: (A, K, B); values (x's dtype) and indices (int64): (A, k, B), k <= K."""
    k = values.shape[1]
    if 0 < k <= SELECT_MAX_K and k * 8 <= x.shape[1]:
        _select(x, values, indices, bool(descending))
        return
    kernel = _sort_parallel if x.size >= PARALLEL_THRESHOLD else _sort_serial
    kernel(x, values, indices, bool(descending))


@njit(cache=True, error_model="numpy")
def pick_sorted(x, position, nan_propagates, values, indices):
    """values[a, b], indices[a, b] = the ``position``-th smallest of row x[a, :, b] and its
    index (``sort_rows.pick_row``: NaN first with ``nan_propagates``, else largest)."""
    K = x.shape[1]
    row, order, buf = np.empty(K, x.dtype), np.empty(K, np.int64), np.empty(K, np.int64)
    for t in range(x.shape[0] * x.shape[2]):
        _pick_row(x, position, nan_propagates, values, indices, t, row, order, buf)


guard_kernels(globals())

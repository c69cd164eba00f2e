"""Sorting kernels over the middle axis of an (A, K, B) array.

``sort`` writes the first ``k`` elements of every sorted (a, :, b) row and their
positions: ``k == K`` is a full sort, ``k < K`` a top-k. The order is a stable merge
sort whose comparison puts NaN after every number (ascending) or before it
(descending), as PyTorch does; ties keep their input order in both directions.

One row is sorted per loop iteration; the parallel variant spreads rows over threads
and is picked above ``PARALLEL_THRESHOLD`` elements. A small top-k keeps the k best in
a sorted buffer instead of sorting the whole row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from ..guard import guard_kernels

PARALLEL_THRESHOLD = 1 << 15
SELECT_MAX_K = 32  # top-k below this (and k <= K / 8) selects instead of sorting the row


@njit(inline="always")
def _isnan(v):
    return v != v  # noqa: PLR0124  (works for integer dtypes too)


@njit(inline="always")
def _before(a, b, descending):
    """Whether ``a`` sorts strictly before ``b`` (NaN is the largest value)."""
    if descending:
        return a > b or (_isnan(a) and not _isnan(b))
    return a < b or (_isnan(b) and not _isnan(a))


RUN = 16


@njit(inline="always")
def _argsort_row(row, order, buf, descending):
    """order = the stable sorting permutation of ``row``: insertion sort of runs of RUN
    elements, then bottom-up merges (buf scratch)."""
    n = row.size
    for i in range(n):
        order[i] = i
    for lo in range(0, n, RUN):
        hi = min(lo + RUN, n)
        for i in range(lo + 1, hi):
            item = order[i]
            j = i
            while j > lo and _before(row[item], row[order[j - 1]], descending):
                order[j] = order[j - 1]
                j -= 1
            order[j] = item
    src, dst = order, buf
    in_order = True
    width = RUN
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if _before(row[src[j]], row[src[i]], descending):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        in_order = not in_order
        width *= 2
    if not in_order:
        for i in range(n):
            order[i] = src[i]


@njit(inline="always")
def _sort_row(x, values, indices, descending, t, row, order, buf):
    B = x.shape[2]
    a, b = t // B, t % B
    K = x.shape[1]
    for i in range(K):
        row[i] = x[a, i, b]
    _argsort_row(row, order, buf, descending)
    for i in range(values.shape[1]):
        values[a, i, b] = row[order[i]]
        indices[a, i, b] = order[i]


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
    index (the first such in input order). With ``nan_propagates`` a row holding NaN gives
    NaN at its first NaN (median); otherwise NaN counts as the largest value (kthvalue)."""
    A, K, B = x.shape
    row, order, buf = np.empty(K, x.dtype), np.empty(K, np.int64), np.empty(K, np.int64)
    for a in range(A):
        for b in range(B):
            for i in range(K):
                row[i] = x[a, i, b]
            _argsort_row(row, order, buf, False)
            p = position
            if nan_propagates and _isnan(row[order[K - 1]]):
                p = 0
                while not _isnan(row[order[p]]):
                    p += 1
            values[a, b] = row[order[p]]
            indices[a, b] = order[p]



guard_kernels(globals())

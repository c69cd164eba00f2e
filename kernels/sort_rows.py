"""Sorting one row of an (A, K, B) array, in plain Python compiled per target (``kernels.portable``).

The order is a stable merge sort whose comparison puts NaN after every number (ascending)
or before it (descending), as PyTorch does; ties keep their input order in both
directions. The callers give each row scratch arrays of K elements (``row`` of x's dtype,
``order`` and ``buf`` int64): the CPU kernels allocate them per thread, the CUDA kernels
hand each device thread its slice of one scratch allocation.
"""

from __future__ import annotations

RUN = 16  # insertion-sorted run length before the merges


def isnan(v):
    return v != v  # noqa: PLR0124  (works for integer dtypes too)


def before(a, b, descending):
    """Whether ``a`` sorts strictly before ``b`` (NaN is the largest value)."""
    if descending:
        return a > b or (isnan(a) and not isnan(b))
    return a < b or (isnan(b) and not isnan(a))


def argsort_row(row, order, buf, descending):
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
            while j > lo and before(row[item], row[order[j - 1]], descending):
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
                if before(row[src[j]], row[src[i]], descending):
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


def argsort_of(x, t, row, order, buf, descending):
    """Row t = (a, b) of x copied into ``row`` and its sorting permutation into ``order``; (a, b)."""
    B = x.shape[2]
    a, b = t // B, t % B
    for i in range(x.shape[1]):
        row[i] = x[a, i, b]
    argsort_row(row, order, buf, descending)
    return a, b


def sort_row(x, values, indices, descending, t, row, order, buf):
    """values[a, :k, b], indices[a, :k, b] = the first k of row t = (a, b) of x sorted, and
    where they were (k = values.shape[1])."""
    a, b = argsort_of(x, t, row, order, buf, descending)
    for i in range(values.shape[1]):
        values[a, i, b] = row[order[i]]
        indices[a, i, b] = order[i]


def pick_row(x, position, nan_propagates, values, indices, t, row, order, buf):
    """values[a, b], indices[a, b] = the ``position``-th smallest of row t = (a, b) of x and its
    index (the first such in input order). With ``nan_propagates`` a row holding NaN gives
    NaN at its first NaN (median); otherwise NaN counts as the largest value (kthvalue)."""
    a, b = argsort_of(x, t, row, order, buf, False)
    p = position
    if nan_propagates and isnan(row[order[x.shape[1] - 1]]):
        p = 0
        while not isnan(row[order[p]]):
            p += 1
    values[a, b] = row[order[p]]
    indices[a, b] = order[p]


FUNCTIONS = (isnan, before, argsort_row, argsort_of, sort_row, pick_row)  # for portable.compile_for

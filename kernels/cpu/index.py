"""CPU kernels that move elements by index: selection, gathers, scatters, masks, strided embedding.

Most kernels see their operands as 3-D ``(A, K, B)`` arrays: ``K`` is the indexed
dimension, ``A`` the product of the dimensions before it, ``B`` of those after. Any
rank reduces to that shape (the caller reshapes), so each kernel compiles once per
dtype and never per rank. Operands may have any strides, including the stride 0 of a
broadcast scalar.

Numba does no bounds checks: every index array reaching these kernels must already be
validated (and negative indices wrapped) by the caller. The kernels trust it.
"""

from __future__ import annotations

from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def index_select(src, idx, out):
    """``out[a, j, b] = src[a, idx[j], b]``."""
    A, n, B = out.shape
    for a in range(A):
        for j in range(n):
            k = idx[j]
            for b in range(B):
                out[a, j, b] = src[a, k, b]


@njit(cache=True, error_model="numpy")
def index_add(out, idx, src):
    """``out[a, idx[j], b] += src[a, j, b]`` (repeated indices accumulate)."""
    A, n, B = src.shape
    for a in range(A):
        for j in range(n):
            k = idx[j]
            for b in range(B):
                out[a, k, b] += src[a, j, b]


@njit(cache=True, error_model="numpy")
def index_copy(out, idx, src):
    """``out[a, idx[j], b] = src[a, j, b]`` (for repeated indices the last write wins)."""
    A, n, B = src.shape
    for a in range(A):
        for j in range(n):
            k = idx[j]
            for b in range(B):
                out[a, k, b] = src[a, j, b]


@njit(cache=True, error_model="numpy")
def gather(src, idx, out):
    """``out[a, j, b] = src[a, idx[a, j, b], b]``."""
    A, n, B = out.shape
    for a in range(A):
        for j in range(n):
            for b in range(B):
                out[a, j, b] = src[a, idx[a, j, b], b]


@njit(cache=True, error_model="numpy")
def scatter(out, idx, src):
    """``out[a, idx[a, j, b], b] = src[a, j, b]``."""
    A, n, B = idx.shape
    for a in range(A):
        for j in range(n):
            for b in range(B):
                out[a, idx[a, j, b], b] = src[a, j, b]


@njit(cache=True, error_model="numpy")
def scatter_add(out, idx, src):
    """``out[a, idx[a, j, b], b] += src[a, j, b]`` (repeated indices accumulate)."""
    A, n, B = idx.shape
    for a in range(A):
        for j in range(n):
            for b in range(B):
                out[a, idx[a, j, b], b] += src[a, j, b]


@njit(cache=True, error_model="numpy")
def masked_select(src, mask, out):
    """The elements of 1-D ``src`` where 1-D ``mask`` is True, in order, into ``out``."""
    k = 0
    for i in range(src.shape[0]):
        if mask[i]:
            out[k] = src[i]
            k += 1


@njit(cache=True, error_model="numpy")
def count_nonzero(x):
    """How many elements of 1-D ``x`` are not zero (NaN counts, as True does)."""
    n = 0
    for i in range(x.shape[0]):
        if x[i] != 0:
            n += 1
    return n


@njit(cache=True, error_model="numpy")
def nonzero(x, shape, out):
    """out[k] = the multi-index, in ``shape`` (int64, C order), of the k-th non-zero element
    of 1-D ``x`` (the flattened C-contiguous array); ``out`` is (count_nonzero(x), len(shape))."""
    nd = shape.shape[0]
    k = 0
    for i in range(x.shape[0]):
        if x[i] != 0:
            rest = i
            for d in range(nd - 1, -1, -1):
                out[k, d] = rest % shape[d]
                rest //= shape[d]
            k += 1


@njit(cache=True, error_model="numpy")
def masked_scatter(out, mask, src):
    """The inverse of masked_select: ``out[i] = src[k]`` for the k-th True ``mask[i]``."""
    k = 0
    for i in range(out.shape[0]):
        if mask[i]:
            out[i] = src[k]
            k += 1


@njit(cache=True, error_model="numpy")
def strided_add(storage, offset, shape, strides, src):
    """Add C-ordered 1-D ``src`` into the strided view ``(shape, strides, offset)`` of 1-D
    ``storage`` (element units). Overlapping views accumulate, so this is the adjoint of
    taking any strided view. The last dimension is the inner loop; the rest advance as an
    odometer (no per-element division)."""
    nd = shape.shape[0]
    if src.shape[0] == 0:
        return
    if nd == 0:
        storage[offset] += src[0]
        return
    counter = shape * 0
    inner, istride = shape[nd - 1], strides[nd - 1]
    pos = offset
    k = 0
    while True:
        p = pos
        for i in range(inner):
            storage[p] += src[k]
            p += istride
            k += 1
        d = nd - 2
        while d >= 0:
            counter[d] += 1
            pos += strides[d]
            if counter[d] < shape[d]:
                break
            pos -= strides[d] * shape[d]
            counter[d] = 0
            d -= 1
        if d < 0:
            return



guard_kernels(globals())

"""Batched matrix products on (Bt, M, K) @ (Bt, K, N) -> (Bt, M, N).

Float operands go to BLAS through ``np.dot`` inside ``@njit`` (Numba calls SciPy's BLAS):
each 2-D block is passed as it is when it is C- or F-contiguous, so a transposed view
(F-contiguous) is multiplied without a copy; other layouts are copied to C order first.
Batch strides may be 0 (a broadcast batch dim). Integer operands use a blocked loop.

Threads: one large product lets BLAS thread the GEMM; many small products (batch at
least ``_BATCH_PARALLEL`` and blocks under ``_SMALL_BLOCK`` multiply-adds) run one per
Numba thread, with BLAS held to one thread meanwhile (``blas_threads``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .blas_threads import single_threaded_blas

_SMALL_BLOCK = 256 * 256 * 256
_BATCH_PARALLEL = 8


@njit(cache=True, error_model="numpy")
def _c_view(m):
    """(c, transposed): a C-contiguous-typed array with ``m == (c.T if transposed else c)``.

    Numba types a slice of a 3-D array as layout 'A', and its ``np.dot`` only calls BLAS
    for arrays typed contiguous; ``np.ascontiguousarray`` re-types a contiguous array as a
    view (copying only what is neither C- nor F-contiguous).
    """
    if m.flags.c_contiguous or not m.flags.f_contiguous:
        return np.ascontiguousarray(m), False
    return np.ascontiguousarray(m.T), True


@njit(cache=True, error_model="numpy")
def gemm(a, b, out):
    """out = a @ b for one 2-D block, by BLAS in the operands' own layouts.

    For any kernel multiplying slices: a bare ``np.dot`` on slices typed 'A' falls back to
    Numba's slow loops instead of BLAS."""
    if a.shape[1] == 0:
        out[:] = 0
        return
    ac, at = _c_view(a)
    bc, bt = _c_view(b)
    direct = out.flags.c_contiguous
    o = np.ascontiguousarray(out) if direct else np.empty(out.shape, out.dtype)
    if at and bt:
        np.dot(ac.T, bc.T, o)
    elif at:
        np.dot(ac.T, bc, o)
    elif bt:
        np.dot(ac, bc.T, o)
    else:
        np.dot(ac, bc, o)
    if not direct:
        out[:] = o


@njit(cache=True, error_model="numpy", parallel=True)
def _float_batched_parallel(a, b, out):
    for i in prange(out.shape[0]):
        gemm(a[i], b[i], out[i])


@njit(cache=True, error_model="numpy")
def _float_batched(a, b, out):
    for i in range(out.shape[0]):
        gemm(a[i], b[i], out[i])


@njit(cache=True, error_model="numpy", parallel=True)
def _int_batched(a, b, out):
    bt, m, k = a.shape
    n = b.shape[2]
    for t in prange(bt * m):
        i, r = t // m, t % m
        for j in range(n):
            out[i, r, j] = 0
        for p in range(k):
            x = a[i, r, p]
            for j in range(n):
                out[i, r, j] += x * b[i, p, j]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[i] = a[i] @ b[i]. a (Bt, M, K), b (Bt, K, N), out (Bt, M, N) C-contiguous, one dtype."""
    if out.size == 0:
        return
    if out.dtype.kind != "f":
        _int_batched(a, b, out)
    elif out.shape[0] >= _BATCH_PARALLEL and out.shape[1] * out.shape[2] * a.shape[2] < _SMALL_BLOCK:
        with single_threaded_blas():
            _float_batched_parallel(a, b, out)
    else:
        _float_batched(a, b, out)

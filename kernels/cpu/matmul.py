"""Batched matrix products on (Bt, M, K) @ (Bt, K, N) -> (Bt, M, N).

Float operands go to BLAS through ``np.dot`` inside ``@njit`` (Numba calls SciPy's BLAS):
each 2-D block is passed as it is when it is C- or F-contiguous, so a transposed view
(F-contiguous) is multiplied without a copy; other layouts are copied to C order first.
Batch strides may be 0 (a broadcast batch dim). Integer operands use a blocked loop.

Threads: one large product lets BLAS thread the GEMM; many small products (batch at
least ``_BATCH_PARALLEL`` and blocks under ``_SMALL_BLOCK`` flops) run one per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_SMALL_BLOCK = 64 * 64 * 64
_BATCH_PARALLEL = 8


@njit(cache=True, error_model="numpy")
def _as_blas(m):
    """``m`` itself when BLAS can take it (C or F contiguous), else a C-ordered copy."""
    if m.flags.c_contiguous or m.flags.f_contiguous:
        return m
    return np.ascontiguousarray(m)


@njit(cache=True, error_model="numpy")
def _gemm(a, b, out):
    """out = a @ b for one 2-D block (out C-contiguous)."""
    if a.shape[1] == 0:
        out[:] = 0
        return
    np.dot(_as_blas(a), _as_blas(b), out)


@njit(cache=True, error_model="numpy", parallel=True)
def _float_batched_parallel(a, b, out):
    for i in prange(out.shape[0]):
        _gemm(a[i], b[i], out[i])


@njit(cache=True, error_model="numpy")
def _float_batched(a, b, out):
    for i in range(out.shape[0]):
        _gemm(a[i], b[i], out[i])


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
        _float_batched_parallel(a, b, out)
    else:
        _float_batched(a, b, out)

"""Batched matrix products on (Bt, M, K) @ (Bt, K, N) -> (Bt, M, N).

Float operands go to BLAS (``blas.gemm``), each 2-D block in its own strides, so a
transposed view is multiplied without a copy. Batch strides may be 0 (a broadcast batch
dim). Integer operands use a blocked loop.

Threads: BLAS runs single-threaded (see ``blas``); the parallel kernel cuts the batch into
jobs, each product into as many blocks as it takes to give every thread work, one
``gemm`` per job. Small work runs serially, where starting threads would cost more.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .blas import block, gemm, one_blas_thread
from ..guard import guard_kernels

# Below this many multiply-adds in all, one thread is quicker than starting the parallel loop.
_PARALLEL_WORK = 1 << 18


@njit(cache=True, error_model="numpy", parallel=True)
def _float_batched_parallel(a, b, out, blocks):
    """out[i] = a[i] @ b[i], each product cut into ``blocks`` blocks, all jobs in parallel."""
    Bt, M, N = out.shape
    for job in prange(Bt * blocks):
        i, t = job // blocks, job % blocks
        r0, r1, c0, c1 = block(t, blocks, M, N)
        gemm(a[i, r0:r1], b[i, :, c0:c1], out[i, r0:r1, c0:c1])


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
        return
    one_blas_thread()
    Bt, M, N = out.shape
    threads = numba.get_num_threads()
    if threads == 1 or out.size * a.shape[2] < _PARALLEL_WORK:
        _float_batched(a, b, out)
    else:
        # enough blocks per product that every thread has one, never more than its rows/cols
        blocks = min(-(-threads // Bt), max(M, N))
        _float_batched_parallel(a, b, out, blocks)



guard_kernels(globals())

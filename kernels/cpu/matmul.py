"""Batched matrix products on (Bt, M, K) @ (Bt, K, N) -> (Bt, M, N).

Float operands go to BLAS (``blas.gemm``), each 2-D block in its own strides, so a
transposed view is multiplied without a copy. Batch strides may be 0 (a broadcast batch
dim). Integer operands use a blocked loop.

Operands reach the kernels as C-contiguous arrays plus a flag saying whether to read
them with the last two dims swapped (``_c_and_flag``), so ``q @ k.transpose(-2, -1)`` and
``a @ b`` share one compiled kernel (each layout combination was another, seconds each).

Threads: BLAS runs single-threaded (see ``blas``); the parallel kernel cuts the batch into
jobs, each product into as many blocks as it takes to give every thread work, one
``gemm`` per job. Small work runs serially, where starting threads would cost more.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .blas import block, gemm, ready_blas
from ..guard import guard_kernels

# Below this many multiply-adds in all, one thread is quicker than starting the parallel loop.
_PARALLEL_WORK = 1 << 18


@njit(inline="always")
def _view(c, transposed):
    """The operand ``c.transpose(0, 2, 1)`` if transposed else ``c``, typed alike (layout 'A')."""
    return c.transpose((0, 2, 1)) if transposed else c[:, :, :]


@njit(cache=True, error_model="numpy")
def _float_batched(ac, a_t, bc, b_t, out, job0, job1, blocks):
    """out[i] = a[i] @ b[i] for jobs job0:job1, job = i * blocks + t with t the block of
    the product (``blas.block``); a, b as ``_view`` makes them."""
    a, b = _view(ac, a_t), _view(bc, b_t)
    M, N = out.shape[1], out.shape[2]
    for job in range(job0, job1):
        i, t = job // blocks, job % blocks
        r0, r1, c0, c1 = block(t, blocks, M, N)
        gemm(a[i, r0:r1], b[i, :, c0:c1], out[i, r0:r1, c0:c1])


@njit(cache=True, error_model="numpy", parallel=True)
def _float_batched_parallel(ac, a_t, bc, b_t, out, blocks):
    """All jobs of ``_float_batched`` in parallel; one call per job, so that this kernel
    compiles quickly and shares the serial kernel's code."""
    for job in prange(out.shape[0] * blocks):
        j = np.int64(job)
        _float_batched(ac, a_t, bc, b_t, out, j, j + 1, blocks)


def _c_and_flag(a: np.ndarray) -> tuple:
    """(c, transposed) with c C-contiguous and a == (c.transpose(0, 2, 1) if transposed else c)
    where the layout allows (the common cases compile one kernel); else (a, False)."""
    if a.flags.c_contiguous:
        return a, False
    t = a.transpose(0, 2, 1)
    if t.flags.c_contiguous:
        return t, True
    return a, False


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
    ready_blas()
    Bt, M, N = out.shape
    threads = numba.get_num_threads()
    args = _c_and_flag(a) + _c_and_flag(b) + (out,)
    if threads == 1 or out.size * a.shape[2] < _PARALLEL_WORK:
        _float_batched(*args, 0, Bt, 1)
    else:
        # enough blocks per product that every thread has one, never more than its rows/cols
        blocks = min(-(-threads // Bt), max(M, N))
        _float_batched_parallel(*args, blocks)



guard_kernels(globals())

"""Batched matrix products on (B1, B2, M, K) @ (B1, B2, K, N) -> (B1, B2, M, N).

Float operands go to BLAS, each 2-D block read in place in its own strides: a transposed
view, a head of a (batch, tokens, heads, dim) tensor, a batch dim broadcast by stride 0
are all multiplied without a copy, as long as each matrix has a unit row or column stride
(``blas.layout_of``). Two batch dims are what attention needs (batch x heads over a
tensor whose heads are interleaved); the caller folds more into these two.

The kernels take each operand as a flat read-only buffer from its first element plus its
strides (``_operand``), and drive BLAS by addresses (``blas.call``), so every layout
shares one compiled kernel per dtype (each layout combination as its own array type was
another compilation, seconds each). Operands BLAS cannot read in place (no unit stride,
or a negative one) are copied first. Integer operands use a blocked loop.

Threads: BLAS runs single-threaded (see ``blas``); the parallel kernel cuts the batch into
jobs, each product into as many blocks as it takes to give every thread work, one BLAS
call per job. Small work runs serially, where starting threads would cost more.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from . import elementwise
from .blas import address_at, block, call, layout_of, ready_blas
from ..guard import guard_kernels

# Below this many multiply-adds in all, one thread is quicker than starting the parallel loop.
_PARALLEL_WORK = 1 << 18


@njit(cache=True, error_model="numpy")
def _float_batched(a, ad, b, bd, out, B2, M, N, K, job0, job1, blocks):
    """out[i] = a[i] @ b[i] for jobs job0:job1, job = i * blocks + t with t the block of
    the product (``blas.block``), i = i1 * B2 + i2 over both batch dims. ``a``, ``b``: flat
    buffers; ``ad``, ``bd``: (batch stride 1, batch stride 2, row stride, column stride,
    column major, leading dimension) in elements; ``out``: the flat C-contiguous result."""
    single = out.itemsize == 4
    for job in range(job0, job1):
        i, t = job // blocks, job % blocks
        i1, i2 = i // B2, i % B2
        r0, r1, c0, c1 = block(t, blocks, M, N)
        pa = address_at(a, i1 * ad[0] + i2 * ad[1] + r0 * ad[2])
        pb = address_at(b, i1 * bd[0] + i2 * bd[1] + c0 * bd[3])
        pc = address_at(out, (i * M + r0) * N + c0)
        call(single, False, r1 - r0, c1 - c0, K, pa, ad[4] != 0, ad[5], pb, bd[4] != 0, bd[5], 0.0, pc, N)


@njit(cache=True, error_model="numpy", parallel=True)
def _float_batched_parallel(a, ad, b, bd, out, B2, M, N, K, blocks):
    """All jobs of ``_float_batched`` in parallel; one call per job, so that this kernel
    compiles quickly and shares the serial kernel's code."""
    for job in prange(out.shape[0] // (M * N) * blocks):
        j = np.int64(job)
        _float_batched(a, ad, b, bd, out, B2, M, N, K, j, j + 1, blocks)


def _operand(x: np.ndarray) -> tuple:
    """(flat read-only buffer from x's first element, its strides and BLAS layout) for a
    4-D operand, copying it first where BLAS cannot read its matrices in place."""
    strides = [s // x.itemsize for s in x.strides]
    col, ld, usable = layout_of(x.shape[2], x.shape[3], strides[2], strides[3])
    if not usable or min(strides) < 0:
        x = elementwise.run("copy", x.dtype, np.empty(x.shape, x.dtype), x)
        strides = [s // x.itemsize for s in x.strides]
        col, ld, usable = layout_of(x.shape[2], x.shape[3], strides[2], strides[3])
    if x.flags.c_contiguous:
        flat = x.reshape(-1)
        flat.flags.writeable = False
    else:
        extent = 1 + sum((n - 1) * s for n, s in zip(x.shape, strides))
        flat = np.lib.stride_tricks.as_strided(x, (extent,), (x.itemsize,), writeable=False)
    return flat, (*strides, int(col), ld)


@njit(cache=True, error_model="numpy", parallel=True)
def _int_batched(a, b, out):
    b1, b2, m, k = a.shape
    n = b.shape[3]
    for t in prange(b1 * b2 * m):
        i1, r = t // (b2 * m), t % (b2 * m)
        i2, r = r // m, r % m
        for j in range(n):
            out[i1, i2, r, j] = 0
        for p in range(k):
            x = a[i1, i2, r, p]
            for j in range(n):
                out[i1, i2, r, j] += x * b[i1, i2, p, j]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[i1, i2] = a[i1, i2] @ b[i1, i2]. a (B1, B2, M, K), b (B1, B2, K, N) of one dtype,
    any strides (stride 0: a broadcast batch dim); out (B1, B2, M, N) C-contiguous."""
    if out.size == 0:
        return
    if out.dtype.kind != "f":
        _int_batched(a, b, out)
        return
    B1, B2, M, N = out.shape
    K = a.shape[3]
    if K == 0:  # empty sums
        elementwise.run("copy", out.dtype, out, out.dtype.type(0))
        return
    ready_blas()
    threads = numba.get_num_threads()
    args = (*_operand(a), *_operand(b), out.reshape(-1), B2, M, N, K)
    if threads == 1 or out.size * K < _PARALLEL_WORK:
        _float_batched(*args, 0, B1 * B2, 1)
    else:
        # enough blocks per product that every thread has one, never more than its rows/cols
        blocks = min(-(-threads // (B1 * B2)), max(M, N))
        _float_batched_parallel(*args, blocks)


guard_kernels(globals())

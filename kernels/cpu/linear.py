"""The affine kernel ``out = x @ w.T (+ bias)``: BLAS GEMMs (``blas.gemm``) with the bias
added to each block of the result as soon as it is computed.

``x`` (M, K) and ``w`` (N, K) may be any 2-D views; ``out`` (M, N) is C-contiguous. Each
reaches the kernels as a C-contiguous array and a flag saying whether to read it
transposed, so the kernels compile once per dtype, not once per combination of layouts
(a parallel kernel takes ~2 s to compile). ``bias`` must be writable-typed (not a
read-only view) for the same reason: a read-only array is another specialisation.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .blas import block, gemm, ready_blas
from ..guard import guard_kernels

# Below this many multiply-adds one thread is quicker than starting the parallel loop.
_PARALLEL_WORK = 1 << 18


@njit(cache=True, error_model="numpy")
def _serial(xc, x_t, wc, w_t, bias, has_bias, out, t, blocks):
    """Block ``t`` of ``blocks`` (``blas.block``) of the product: all of it when blocks == 1."""
    r0, r1, c0, c1 = block(t, blocks, out.shape[0], out.shape[1])
    x = xc.T if x_t else xc[:, :]  # both typed as layout 'A'
    w = wc.T if w_t else wc[:, :]
    if has_bias:  # the bias first, then BLAS adds the product to it (as addmm's beta=1)
        b = bias[c0:c1]
        for i in range(r0, r1):
            row = out[i, c0:c1]
            for j in range(c1 - c0):  # from 0: no index wraparound, so the loop vectorises
                row[j] = b[j]
    gemm(x[r0:r1], w[c0:c1].T, out[r0:r1, c0:c1], 1.0 if has_bias else 0.0)


@njit(cache=True, error_model="numpy", parallel=True)
def _parallel(x, x_t, w, w_t, bias, has_bias, out, blocks):
    # The body is one call of the serial kernel: a parallel kernel compiles in seconds per
    # statement of its body, and this one shares the serial kernel's compiled code.
    for t in prange(blocks):
        _serial(x, x_t, w, w_t, bias, has_bias, out, np.int64(t), blocks)


def _c_and_flag(a: np.ndarray) -> tuple:
    """(c, transposed) with c C-contiguous and a == (c.T if transposed else c)."""
    if a.flags.c_contiguous:
        return a, False
    if a.flags.f_contiguous:
        return a.T, True
    return np.ascontiguousarray(a), False


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray, has_bias: bool, out: np.ndarray) -> None:
    """out = x @ w.T, plus bias[j] on every column j when has_bias (bias is read only then)."""
    ready_blas()
    M, N = out.shape
    threads = min(numba.get_num_threads(), max(M, N))
    args = _c_and_flag(x) + _c_and_flag(w) + (bias, has_bias, out)
    if threads > 1 and M * N * x.shape[1] >= _PARALLEL_WORK:
        _parallel(*args, threads)
    else:
        _serial(*args, 0, 1)



guard_kernels(globals())

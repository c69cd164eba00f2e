"""BLAS GEMM for ``@njit`` kernels, on strided 2-D views, with one thread pool.

``gemm(a, b, out, beta)`` computes ``out = a @ b + beta * out`` by one call to SciPy's BLAS
(the library Numba's ``np.dot`` uses), through Numba's own C helper ``numba_xxgemm``. Unlike
``np.dot`` inside ``@njit``, it takes views whose rows or columns are strided (a row block
of a transposed matrix, a column block of a C matrix) without copying, and it accumulates
(``beta=1``) without a temporary. Operands with neither a unit row nor a unit column stride
are copied first.

Threads: SciPy's BLAS is held to one thread (``one_blas_thread``), and kernels get their
parallelism from Numba's ``prange``, cutting a large product into ``block``s, one per thread. Two pools on two cores fought: OpenBLAS's workers spin for a while after
each call, and a Numba parallel loop started meanwhile waited on them (a CNN training step
averaged 40 ms with a threaded BLAS, 10 ms with this).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# int numba_xxgemm(char kind, char transa, char transb, m, n, k, alpha*, a*, lda, b*, ldb,
#                  beta*, c*, ldc): column-major xGEMM; Numba's np.dot lowering calls it too.
_xxgemm = types.ExternalFunction("numba_xxgemm", types.intc(
    types.char, types.char, types.char, types.intp, types.intp, types.intp,
    types.voidptr, types.voidptr, types.intp, types.voidptr, types.intp,
    types.voidptr, types.voidptr, types.intp))

_INT32_MAX = 2**31 - 1
_N, _T = ord("n"), ord("t")


@intrinsic
def _address(typingctx, arr):
    """The address of an array's first element, as a void pointer."""
    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.bitcast(data, ir.IntType(8).as_pointer())
    return types.voidptr(arr), codegen


@intrinsic
def _slot(typingctx, value):
    """A pointer to a stack copy of a scalar (BLAS takes alpha and beta by address)."""
    def codegen(context, builder, sig, args):
        ptr = cgutils.alloca_once_value(builder, args[0])
        return builder.bitcast(ptr, ir.IntType(8).as_pointer())
    return types.voidptr(value), codegen


@njit(cache=True, error_model="numpy")
def _layout(m):
    """(matrix, column_major, ld): ``m`` itself when one of its strides is a unit stride
    (sizes of 1 take any stride), otherwise a C copy; ``ld`` is the other stride."""
    rows, cols = m.shape
    s0, s1 = m.strides[0] // m.itemsize, m.strides[1] // m.itemsize
    if (s1 == 1 or cols == 1) and (s0 >= max(cols, 1) or rows == 1):
        return m, False, max(s0, cols, 1) if rows == 1 else s0
    if (s0 == 1 or rows == 1) and (s1 >= max(rows, 1) or cols == 1):
        return m, True, max(s1, rows, 1) if cols == 1 else s1
    c = np.ascontiguousarray(m)
    return c, False, max(cols, 1)


@njit(cache=True, error_model="numpy")
def _gemm_rows(a, b, out, beta):
    """out = a @ b + beta * out for an ``out`` with unit column stride."""
    M, N = out.shape
    K = a.shape[1]
    if M == 0 or N == 0:
        return
    if K == 0:
        if beta == 0:
            out[:] = 0
        else:
            out *= beta
        return
    if max(M, N, K) > _INT32_MAX:
        raise ValueError("gemm: a dimension exceeds BLAS's 32-bit integers")
    am, a_col, lda = _layout(a)
    bm, b_col, ldb = _layout(b)
    ldc = max(out.strides[0] // out.itemsize, N, 1) if M == 1 else out.strides[0] // out.itemsize
    # Row-major out = a @ b is column-major out.T = b.T @ a.T: a row-major operand is its
    # own transpose in column-major terms ('n'), a column-major one needs 't'.
    kind = ord("s") if out.itemsize == 4 else ord("d")
    one = out.dtype.type(1)
    b_ = out.dtype.type(beta)
    _xxgemm(kind, _T if b_col else _N, _T if a_col else _N, N, M, K, _slot(one),
            _address(bm), ldb, _address(am), lda, _slot(b_), _address(out), ldc)


@njit(cache=True, error_model="numpy")
def gemm(a, b, out, beta=0.0):
    """out = a @ b + beta * out, one single-threaded BLAS call (float32 or float64, one dtype).
    ``out`` needs a unit stride along one of its axes; ``a`` and ``b`` may be any views."""
    if out.strides[1] == out.itemsize or out.shape[1] == 1:
        _gemm_rows(a, b, out, beta)
    elif out.strides[0] == out.itemsize or out.shape[0] == 1:
        _gemm_rows(b.T, a.T, out.T, beta)
    else:
        tmp = np.empty(out.shape, out.dtype)
        if beta != 0:
            tmp[:] = out
        _gemm_rows(a, b, tmp, beta)
        out[:] = tmp


@njit(inline="always")
def block(t, blocks, M, N):
    """Rows [r0, r1) and columns [c0, c1) of block t when an (M, N) output is cut into
    ``blocks`` blocks for as many threads, along its longer side."""
    if M >= N:
        return t * M // blocks, (t + 1) * M // blocks, 0, N
    return 0, M, t * N // blocks, (t + 1) * N // blocks


@lru_cache(maxsize=None)
def one_blas_thread() -> None:
    """Hold SciPy's BLAS to one thread, once per process (see the module docstring).

    Called by the Python entry points of the BLAS kernels rather than at import: loading
    SciPy's BLAS costs ~0.1 s, which ``import autodiff`` should not pay. NumPy's own
    bundled BLAS (``np.matmul`` in user code) is left as it is; a BLAS shared by both is
    held to one thread, as the kernels need."""
    import os

    import scipy.linalg.cython_blas  # noqa: F401  (loads the library for the controller)
    import threadpoolctl

    for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers:
        if not os.path.basename(os.path.dirname(lib.filepath)).startswith("numpy"):
            lib.set_num_threads(1)

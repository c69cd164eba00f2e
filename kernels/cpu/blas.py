"""BLAS GEMM for ``@njit`` kernels, on strided 2-D views, with one thread pool.

``gemm(a, b, out, beta)`` computes ``out = a @ b + beta * out`` by one call to the BLAS
library ``blas_provider`` chose (SciPy's OpenBLAS, or Intel MKL on request). Unlike
``np.dot`` inside ``@njit``, it takes views whose rows or columns are strided (a row block
of a transposed matrix, a column block of a C matrix) without copying, and it accumulates
(``beta=1``) without a temporary. Operands with neither a unit row nor a unit column stride
are copied first.

Threads: the BLAS runs on one thread (MKL's sequential layer; SciPy's OpenBLAS held to one
thread by ``ready_blas``), and kernels get their parallelism from Numba's ``prange``,
cutting a large product into ``block``s, one per thread. Two pools on two cores fought:
OpenBLAS's workers spin for a while after each call, and a Numba parallel loop started
meanwhile waited on them (a CNN training step averaged 40 ms with a threaded BLAS, 10 ms
with this).

Every Python entry point of a kernel that calls ``gemm`` calls ``ready_blas()`` first: it
sets up the library ``blas_provider`` names and binds the symbol the compiled code calls.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from llvmlite import binding, ir
from numba import _helperlib, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from ..guard import guard_kernels
from . import blas_provider

# int autodiff_xxgemm(char kind, char transa, char transb, m, n, k, alpha*, a*, lda, b*, ldb,
#                     beta*, c*, ldc): column-major xGEMM with the signature of Numba's C helper
# numba_xxgemm (SciPy's BLAS; Numba's np.dot lowering calls it too). The compiled kernels
# call it by this name, which is bound here, at import, to Numba's helper, and rebound by
# ready_blas to the MKL trampoline below when MKL is asked for; so no kernel can ever reach
# an unbound symbol, and one kernel cache serves both libraries.
_XXGEMM = types.intc(types.char, types.char, types.char, types.intp, types.intp, types.intp,
                     types.voidptr, types.voidptr, types.intp, types.voidptr, types.intp,
                     types.voidptr, types.voidptr, types.intp)
_xxgemm = types.ExternalFunction("autodiff_xxgemm", _XXGEMM)
binding.add_symbol("autodiff_xxgemm", _helperlib.c_helpers["xxgemm"])
# void ?gemm_(transa*, transb*, m*, n*, k*, alpha*, a*, lda*, b*, ldb*, beta*, c*, ldc*): MKL's
# Fortran GEMMs, every argument by address, integers 32-bit; bound only when MKL is used.
_mkl_sgemm, _mkl_dgemm = (types.ExternalFunction(name, types.void(*[types.voidptr] * 13))
                          for name in ("autodiff_mkl_sgemm", "autodiff_mkl_dgemm"))

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


def layout_of(rows: int, cols: int, s0: int, s1: int) -> tuple[bool, int, bool]:
    """(column_major, ld, usable): how BLAS reads a ``rows`` x ``cols`` matrix of element
    strides ``s0``, ``s1`` in place. Usable when one stride is a unit stride (sizes of 1
    take any stride) and the other a valid leading dimension. (Plain Python, so that a
    caller can check an operand before a kernel reads it by the same rule.)"""
    if (s1 == 1 or cols == 1) and (s0 >= max(cols, 1) or rows == 1):
        return False, max(s0, cols, 1) if rows == 1 else s0, True
    if (s0 == 1 or rows == 1) and (s1 >= max(rows, 1) or cols == 1):
        return True, max(s1, rows, 1) if cols == 1 else s1, True
    return False, 0, False


_layout_of = njit(inline="always")(layout_of)


@njit(inline="always")
def _layout(m):
    """``layout_of`` a 2-D view."""
    return _layout_of(m.shape[0], m.shape[1], m.strides[0] // m.itemsize, m.strides[1] // m.itemsize)


@intrinsic
def address_at(typingctx, arr, index):
    """The address of element ``index`` of a 1-D array, as a void pointer."""
    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        index = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.bitcast(builder.gep(data, [index]), ir.IntType(8).as_pointer())
    return types.voidptr(arr, index), codegen


@njit(cache=True, error_model="numpy")
def call(single, out_col, M, N, K, pa, a_col, lda, pb, b_col, ldb, beta, pc, ldc):
    """The BLAS call, on addresses and leading dimensions only, so that it compiles once
    rather than for every combination of operand layouts.

    BLAS is column-major. A column-major ``out`` is ``a @ b`` there; a row-major one is
    ``out.T = b.T @ a.T``. An operand stored in the order BLAS wants needs 'n', else 't'."""
    if max(M, N, K, lda, ldb, ldc) > _INT32_MAX:
        raise ValueError("gemm: a dimension exceeds BLAS's 32-bit integers")
    if out_col:
        m, n, p1, c1, ld1, p2, c2, ld2 = M, N, pa, a_col, lda, pb, b_col, ldb
    else:
        m, n, p1, c1, ld1, p2, c2, ld2 = N, M, pb, b_col, ldb, pa, a_col, lda
    t1 = _N if c1 == out_col else _T
    t2 = _N if c2 == out_col else _T
    if single:
        _xxgemm(ord("s"), t1, t2, m, n, K, _slot(np.float32(1)), p1, ld1, p2, ld2,
                _slot(np.float32(beta)), pc, ldc)
    else:
        _xxgemm(ord("d"), t1, t2, m, n, K, _slot(1.0), p1, ld1, p2, ld2, _slot(np.float64(beta)), pc, ldc)


def _mkl_xxgemm(kind, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``autodiff_xxgemm`` on MKL: the same call, its integers by address as 32-bit values
    (compiled by ``ready_blas`` as a C callback, only when MKL is used)."""
    args = (_slot(np.uint8(transa)), _slot(np.uint8(transb)), _slot(np.int32(m)), _slot(np.int32(n)),
            _slot(np.int32(k)), alpha, a, _slot(np.int32(lda)), b, _slot(np.int32(ldb)), beta, c,
            _slot(np.int32(ldc)))
    if kind == ord("s"):
        _mkl_sgemm(*args)
    else:
        _mkl_dgemm(*args)
    return 0


@njit(error_model="numpy")
def _copy(src, dst):
    # explicit loops: Numba's array assignment machinery compiles several times slower; a
    # call, not inlined (nor ``_operand``): once per product, and inlined copies of both
    # cost ~0.3 s of compilation in every program
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@njit(error_model="numpy")
def _operand(m):
    """(column_major, ld, address, copy) for BLAS to read ``m``: in place where
    ``_layout`` allows, else from a C copy, returned so that the caller keeps it alive
    until BLAS has read it (an empty array when no copy was made)."""
    col, ld, ok = _layout(m)
    if ok:
        return col, ld, _address(m), np.empty((0, 0), m.dtype)
    c = np.empty(m.shape, m.dtype)
    _copy(m, c)
    return False, m.shape[1], _address(c), c


@njit(cache=True, error_model="numpy")
def gemm(a, b, out, beta=0.0):
    """out = a @ b + beta * out, one single-threaded BLAS call (float32 or float64, one dtype).
    Any 2-D views: one without a unit stride is copied (``out`` through a temporary)."""
    M, N = out.shape
    K = a.shape[1]
    if K == 0:
        for i in range(M):
            for j in range(N):
                out[i, j] = 0 if beta == 0 else out[i, j] * beta
        return
    if M == 0 or N == 0:
        return
    a_col, lda, pa, ac = _operand(a)
    b_col, ldb, pb, bc = _operand(b)
    out_col, ldc, pc, oc = _operand(out)  # a copy of out holds its values, for beta
    call(out.itemsize == 4, out_col, M, N, K, pa, a_col, lda, pb, b_col, ldb, beta, pc, ldc)
    if oc.size:
        _copy(oc, out)
    if ac.size + bc.size < 0:  # never true: keeps the copies alive up to here
        raise AssertionError


@njit(inline="always")
def block(t, blocks, M, N):
    """Rows [r0, r1) and columns [c0, c1) of block t when an (M, N) output is cut into
    ``blocks`` blocks for as many threads, along its longer side."""
    if M >= N:
        return t * M // blocks, (t + 1) * M // blocks, 0, N
    return 0, M, t * N // blocks, (t + 1) * N // blocks


_KEEP_ALIVE: list = []


@lru_cache(maxsize=None)
def ready_blas() -> str:
    """Set up the BLAS library ``blas_provider.requested()`` names, once per process, and
    return its name ("openblas" or "mkl").

    Called by the Python entry points of the BLAS kernels rather than at import: loading a
    BLAS library costs ~0.1 s, which ``import autodiff`` should not pay. MKL is bound here
    (kernels compiled or loaded before this call keep SciPy's BLAS: right, only slower).
    SciPy's OpenBLAS is held to one thread; NumPy's own bundled copy (``np.matmul`` in user
    code) is left as it is; a BLAS shared by both is held to one thread, as the kernels need."""
    if blas_provider.requested() == "mkl":
        for name, address in zip(("autodiff_mkl_sgemm", "autodiff_mkl_dgemm"), blas_provider.mkl_gemms()):
            binding.add_symbol(name, address)
        trampoline = cfunc(_XXGEMM, cache=True)(_mkl_xxgemm)
        _KEEP_ALIVE.append(trampoline)  # its machine code must outlive every kernel that calls it
        binding.add_symbol("autodiff_xxgemm", trampoline.address)
        return "mkl"
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library for the controller)
    preset = "KMP_DUPLICATE_LIB_OK" in os.environ
    import threadpoolctl

    if not preset:  # threadpoolctl's import sets it: autodiff leaves os.environ as it was
        os.environ.pop("KMP_DUPLICATE_LIB_OK", None)

    for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers:
        if not os.path.basename(os.path.dirname(lib.filepath)).startswith("numpy"):
            lib.set_num_threads(1)
    return "openblas"


guard_kernels(globals())

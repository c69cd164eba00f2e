"""Orthonormal columns on the device (``nn.init.orthogonal_``): ``Q * sign(diag(R))`` for
the reduced QR of each matrix of a batch, as ``kernels.cpu.qr`` (which calls LAPACK).

Householder QR, a block per matrix (blocks grid-stride over the batch) of
``launch.TREE_THREADS`` cooperating threads: at step j every thread reads column j and
forms the same reflector ``H = I - v v^T / (-alpha v0)`` (``alpha`` = R[j, j] =
-sign(a[j, j]) |a[j:, j]|, ``v = a[j:, j] - alpha e_0``, ``v0`` its first entry); each thread
then applies it to its own columns ``c = tid, tid + threads, ...`` beyond j, and thread 0
stores v0 in place of a[j, j] (the rest of v stays below the diagonal) and alpha in
``diag``. Q is formed by applying the reflectors in reverse order to the first columns of
the identity, again a thread per column, and each column is flipped where R's diagonal is
negative. With R's diagonal made positive, Q is unique for a matrix of full column rank, so
this equals the CPU result up to rounding. A zero column gives the identity reflector.
"""

from __future__ import annotations

import math

from numba import cuda

from . import launch


@cuda.jit(device=True, inline="always")  # inlined: see special.py
def _reflect(x, j, v0, w, y, c):
    """Column c of y (rows j:) times the reflector of step j, ``y += (v . y / w) v`` with v
    stored in x's column j below the diagonal and its first entry ``v0``."""
    m = x.shape[0]
    f = v0 * y[j, c]
    for i in range(j + 1, m):
        f += x[i, j] * y[i, c]
    f = f / w
    y[j, c] += f * v0
    for i in range(j + 1, m):
        y[i, c] += f * x[i, j]


@cuda.jit(cache=True)
def orthonormal_k(a, out, diag):
    """out (B, m, n) = Q sign(diag(R)) of each a (B, m, n), m >= n; a is overwritten by the
    reflectors and R, diag (B, n) by R's diagonal."""
    m, n = a.shape[1], a.shape[2]
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    for b in range(cuda.blockIdx.x, a.shape[0], cuda.gridDim.x):
        x, d, q = a[b], diag[b], out[b]
        zero, one = type(x[0, 0])(0), type(x[0, 0])(1)
        for j in range(n):
            top = x[j, j]
            sigma = top * top
            for i in range(j + 1, m):
                sigma += x[i, j] * x[i, j]
            norm = math.sqrt(sigma)
            alpha = -norm if top >= zero else norm
            v0 = top - alpha
            w = alpha * v0  # -|v|^2 / 2: H y = y + (v . y / w) v
            cuda.syncthreads()  # every thread has read column j
            if w != zero:
                for c in range(j + 1 + tid, n, threads):
                    _reflect(x, j, v0, w, x, c)
            if tid == 0:
                x[j, j] = v0
                d[j] = alpha
            cuda.syncthreads()  # column j + 1 and the reflector are written
        for c in range(tid, n, threads):  # a thread's columns of Q are its own from here on
            for i in range(m):
                q[i, c] = one if i == c else zero
            for j in range(c, -1, -1):  # H_j, for j > c, leaves e_c alone
                v0 = x[j, j]
                w = d[j] * v0
                if w != zero:
                    _reflect(x, j, v0, w, q, c)
            if d[c] < zero:
                for i in range(m):
                    q[i, c] = -q[i, c]


def orthonormal_columns(a, out, diag) -> None:
    """out = Q sign(diag(R)) of each matrix of a (B, m, n), m >= n; a is overwritten, diag
    (B, n) is scratch."""
    blocks = max(1, min(launch.MAX_BLOCKS, a.shape[0]))
    orthonormal_k[blocks, launch.TREE_THREADS](a, out, diag)


KERNELS = {"orthonormal_columns": orthonormal_k}

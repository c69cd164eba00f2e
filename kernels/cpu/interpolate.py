"""Resampling along one axis: the building block of nearest and (bi/tri)linear interpolation.

An (A, K, B) array is resampled along its middle axis to M positions, output row m being
``w0[m] * x[:, i0[m], :] + w1[m] * x[:, i1[m], :]`` (linear: ``w0 = 1 - w1``; nearest:
``w0 = 1, w1 = 0``).
Multi-dimensional interpolation is separable: one pass per spatial dim. ``lerp_adjoint``
is the transposed map (each output row's gradient added back into its two source rows),
which is the gradient of ``lerp`` and makes double backward a ``lerp`` again.
"""

from __future__ import annotations

from numba import njit, prange
from ..guard import guard_kernels

PARALLEL_THRESHOLD = 1 << 16


@njit(inline="always")
def _lerp_slab(x, i0, i1, w0, w1, out, a):
    for m in range(out.shape[1]):
        v0, v1 = w0[m], w1[m]
        j0, j1 = i0[m], i1[m]
        for b in range(out.shape[2]):
            out[a, m, b] = v0 * x[a, j0, b] + v1 * x[a, j1, b]


@njit(inline="always")
def _adjoint_slab(g, i0, i1, w0, w1, out, a):
    for k in range(out.shape[1]):
        for b in range(out.shape[2]):
            out[a, k, b] = 0
    for m in range(g.shape[1]):
        v0, v1 = w0[m], w1[m]
        j0, j1 = i0[m], i1[m]
        for b in range(g.shape[2]):
            out[a, j0, b] += v0 * g[a, m, b]
            out[a, j1, b] += v1 * g[a, m, b]


@njit(cache=True, error_model="numpy")
def _lerp_serial(x, i0, i1, w0, w1, out):
    for a in range(out.shape[0]):
        _lerp_slab(x, i0, i1, w0, w1, out, a)


@njit(cache=True, parallel=True, error_model="numpy")
def _lerp_parallel(x, i0, i1, w0, w1, out):
    for a in prange(out.shape[0]):
        _lerp_slab(x, i0, i1, w0, w1, out, a)


@njit(cache=True, error_model="numpy")
def _adjoint_serial(g, i0, i1, w0, w1, out):
    for a in range(out.shape[0]):
        _adjoint_slab(g, i0, i1, w0, w1, out, a)


@njit(cache=True, parallel=True, error_model="numpy")
def _adjoint_parallel(g, i0, i1, w0, w1, out):
    for a in prange(out.shape[0]):
        _adjoint_slab(g, i0, i1, w0, w1, out, a)


def lerp(x, i0, i1, w0, w1, out) -> None:
    """out (A, M, B) = x (A, K, B) resampled along K; i0, i1 int64 (M,) in [0, K); w0, w1
    (M,) in x's dtype. Rows (the A axis) run in parallel when large."""
    (_lerp_parallel if out.size >= PARALLEL_THRESHOLD and out.shape[0] > 1 else _lerp_serial)(
        x, i0, i1, w0, w1, out)


def lerp_adjoint(g, i0, i1, w0, w1, out) -> None:
    """out (A, K, B) = the adjoint of ``lerp`` applied to g (A, M, B); out is overwritten."""
    (_adjoint_parallel if g.size >= PARALLEL_THRESHOLD and g.shape[0] > 1 else _adjoint_serial)(
        g, i0, i1, w0, w1, out)


guard_kernels(globals())

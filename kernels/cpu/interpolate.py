"""Resampling along one axis: the building block of every interpolation mode.

An (A, K, B) array is resampled along its middle axis to M positions with a table of T
taps per output position: output row m is ``sum_t w[m, t] * x[:, idx[m, t], :]``.
Nearest has one tap, linear two, cubic four, and antialiased filters as many as their
support covers (unused taps have weight 0). Multi-dimensional interpolation is
separable: one pass per spatial dim. ``resample_adjoint`` is the transposed map (each
output row's gradient added back into its source rows), which is the gradient of
``resample`` and makes double backward a ``resample`` again.
"""

from __future__ import annotations

from numba import njit, prange
from ..guard import guard_kernels

PARALLEL_THRESHOLD = 1 << 16


@njit(inline="always")
def _resample_slab(x, idx, w, out, a):
    for m in range(out.shape[1]):
        j, v = idx[m, 0], w[m, 0]
        for b in range(out.shape[2]):
            out[a, m, b] = v * x[a, j, b]
        for t in range(1, idx.shape[1]):
            j, v = idx[m, t], w[m, t]
            for b in range(out.shape[2]):
                out[a, m, b] += v * x[a, j, b]


@njit(inline="always")
def _adjoint_slab(g, idx, w, out, a):
    for k in range(out.shape[1]):
        for b in range(out.shape[2]):
            out[a, k, b] = 0
    for m in range(g.shape[1]):
        for t in range(idx.shape[1]):
            j, v = idx[m, t], w[m, t]
            for b in range(g.shape[2]):
                out[a, j, b] += v * g[a, m, b]


@njit(cache=True, error_model="numpy")
def _resample_serial(x, idx, w, out):
    for a in range(out.shape[0]):
        _resample_slab(x, idx, w, out, a)


@njit(cache=True, parallel=True, error_model="numpy")
def _resample_parallel(x, idx, w, out):
    for a in prange(out.shape[0]):
        _resample_slab(x, idx, w, out, a)


@njit(cache=True, error_model="numpy")
def _adjoint_serial(g, idx, w, out):
    for a in range(out.shape[0]):
        _adjoint_slab(g, idx, w, out, a)


@njit(cache=True, parallel=True, error_model="numpy")
def _adjoint_parallel(g, idx, w, out):
    for a in prange(out.shape[0]):
        _adjoint_slab(g, idx, w, out, a)


def resample(x, idx, w, out) -> None:
    """out (A, M, B) = x (A, K, B) resampled along K; idx int64 (M, T) in [0, K), T >= 1;
    w (M, T) in x's dtype. Rows (the A axis) run in parallel when large."""
    (_resample_parallel if out.size >= PARALLEL_THRESHOLD and out.shape[0] > 1 else _resample_serial)(
        x, idx, w, out)


def resample_adjoint(g, idx, w, out) -> None:
    """out (A, K, B) = the adjoint of ``resample`` applied to g (A, M, B); out is overwritten."""
    (_adjoint_parallel if g.size >= PARALLEL_THRESHOLD and g.shape[0] > 1 else _adjoint_serial)(
        g, idx, w, out)


guard_kernels(globals())

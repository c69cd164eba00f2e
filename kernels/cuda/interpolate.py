"""Resampling along one axis on the device: the building block of every interpolation mode.

As ``kernels.cpu.interpolate``: an (A, K, B) array is resampled along its middle axis to
M positions with a table of T taps per output position, output row m being
``sum_t w[m, t] * x[:, idx[m, t], :]`` (the taps in order, as the CPU kernel adds them).
``resample_adjoint`` is the transposed map, each output element's gradient added back
into its source rows with atomic adds (taps of neighbouring outputs share sources), into
an ``out`` the caller zeroed. One grid-stride thread per element of the resampled side.
"""

from __future__ import annotations

from numba import cuda

from . import launch
from .window import split


@cuda.jit(cache=True)
def resample_k(x, idx, w, out):
    """out[a, m, b] = sum_t w[m, t] * x[a, idx[m, t], b]."""
    A, M, B = out.shape
    for e in range(cuda.grid(1), A * M * B, cuda.gridsize(1)):
        a, _, m, b = split(e, 1, M, B)
        acc = w[m, 0] * x[a, idx[m, 0], b]
        for t in range(1, idx.shape[1]):
            acc += w[m, t] * x[a, idx[m, t], b]
        out[a, m, b] = acc


@cuda.jit(cache=True)
def adjoint_k(g, idx, w, out):
    """out[a, idx[m, t], b] += w[m, t] * g[a, m, b] for every (a, m, b) and tap t."""
    A, M, B = g.shape
    for e in range(cuda.grid(1), A * M * B, cuda.gridsize(1)):
        a, _, m, b = split(e, 1, M, B)
        v = g[a, m, b]
        for t in range(idx.shape[1]):
            cuda.atomic.add(out, (a, idx[m, t], b), w[m, t] * v)


def resample(x, idx, w, out) -> None:
    """out (A, M, B) = x (A, K, B) resampled along K; idx int64 (M, T) in [0, K); w (M, T)."""
    resample_k[launch.grid(out.size)](x, idx, w, out)


def resample_adjoint(g, idx, w, out) -> None:
    """out (A, K, B, zeroed by the caller) += the adjoint of ``resample`` applied to g (A, M, B)."""
    adjoint_k[launch.grid(g.size)](g, idx, w, out)


KERNELS = {"resample": resample_k, "adjoint": adjoint_k}

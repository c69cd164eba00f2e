"""Fused layer normalisation on the device, over the rows of a C-contiguous ``(R, N)`` array.

As ``kernels.cpu.norm`` (statistics and column sums in float64; ``mean``/``rstd`` float64
arrays of R values kept for the backward; ``w``/``b`` absent: ``has_w``/``has_b`` false and
any array of the dtype in their place). The row code is ``kernels.norm_rows``' (the CPU
kernels' forward row), one grid-stride thread per row: ``forward_k`` and ``dx_k``. The
weight and bias gradients are column sums across rows, one thread per column
(``dwdb_k``: neighbouring threads read neighbouring elements), summed in row order.
"""

from __future__ import annotations

from numba import cuda

from .. import norm_rows
from ..portable import compile_for
from . import launch

_rows = compile_for(norm_rows.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_forward_rows, _dx_row = _rows.forward_rows, _rows.dx_row


@cuda.jit(cache=True)
def forward_k(x, w, b, has_w, has_b, eps, out, mean, rstd):
    for r in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        _forward_rows(x, w, b, has_w, has_b, eps, out, mean, rstd, r, r + 1)


@cuda.jit(cache=True)
def dx_k(x, w, has_w, mean, rstd, g, dx):
    for r in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        _dx_row(x, w, has_w, mean, rstd, g, dx, r)


@cuda.jit(cache=True)
def dwdb_k(x, mean, rstd, g, dw, db):
    """dw[j] = sum_r g[r, j] * xhat[r, j], db[j] = sum_r g[r, j] (float64 sums, row order)."""
    for j in range(cuda.grid(1), x.shape[1], cuda.gridsize(1)):
        sw = 0.0
        sb = 0.0
        for r in range(x.shape[0]):
            gj = g[r, j] * 1.0
            sw += gj * ((x[r, j] - mean[r]) * rstd[r])
            sb += gj
        dw[j] = sw
        db[j] = sb


def layer_norm(x, w, b, has_w: bool, has_b: bool, eps: float, out, mean, rstd) -> None:
    forward_k[launch.grid(x.shape[0])](x, w, b, has_w, has_b, eps, out, mean, rstd)


def layer_norm_backward(x, w, has_w: bool, mean, rstd, g, dx, dw, db) -> None:
    dx_k[launch.grid(x.shape[0])](x, w, has_w, mean, rstd, g, dx)
    dwdb_k[launch.grid(x.shape[1])](x, mean, rstd, g, dw, db)


KERNELS = {"forward": forward_k, "dx": dx_k, "dwdb": dwdb_k}

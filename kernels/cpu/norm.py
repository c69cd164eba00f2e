"""Fused layer normalisation over the rows of a C-contiguous ``(R, N)`` array.

Forward, per row (``kernels.norm_rows.forward_rows``, shared with the CUDA kernels): mean,
``rstd = 1 / sqrt(var + eps)`` (biased variance, two passes over the row) and
``out = (x - mean) * rstd * w + b``. Backward, per row, with
``xhat = (x - mean) * rstd`` and ``gw = g * w``:
``dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))``, and the column sums
``dw = sum_rows g * xhat``, ``db = sum_rows g``. One kernel pass each way instead of the
dozen elementwise and reduction kernels of the composed formula.

Statistics and the column sums are accumulated in float64 (also for float32 inputs), the
row sums under ``reassoc`` so that they vectorise. ``mean`` and ``rstd`` are float64
arrays of R values, kept by the caller for the backward.

Threads: above ``PARALLEL_MIN`` elements the rows are cut into chunks, a ``prange`` over
them calls the serial row kernel (the parallel kernels are one call each, so they compile
quickly and share the serial code); each chunk keeps its own column sums, added in chunk
order afterwards, so results do not depend on the thread schedule. ``w``/``b`` absent:
``has_w``/``has_b`` false and any array of the dtype in their place (one specialisation).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .. import norm_rows
from ..guard import guard_kernels
from ..portable import compile_for

PARALLEL_MIN = 1 << 17
_CHUNKS_PER_THREAD = 4
_FAST = {"reassoc"}
_rows = compile_for(norm_rows.FUNCTIONS, njit(inline="always"))  # the CUDA kernels' rows too
_forward_rows, _write_dx = _rows.forward_rows, _rows.write_dx


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def forward_rows(x, w, b, has_w, has_b, eps, out, mean, rstd, r0, r1):
    """Rows r0:r1 of the forward; mean and rstd (float64, R values) are written too."""
    _forward_rows(x, w, b, has_w, has_b, eps, out, mean, rstd, r0, r1)


@njit(cache=True, error_model="numpy", parallel=True)
def forward_par(x, w, b, has_w, has_b, eps, out, mean, rstd, chunks):
    R = x.shape[0]
    for c in prange(chunks):
        t = np.int64(c)
        forward_rows(x, w, b, has_w, has_b, eps, out, mean, rstd, t * R // chunks, (t + 1) * R // chunks)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def backward_rows(x, w, has_w, mean, rstd, g, dx, dw, db, r0, r1):
    """Rows r0:r1 of the backward: dx, and the column sums of g * xhat and g added into
    the float64 rows ``dw`` and ``db``."""
    N = x.shape[1]
    for r in range(r0, r1):
        xr, gr, m, rs = x[r], g[r], mean[r], rstd[r]
        a = 0.0
        c = 0.0
        for j in range(N):
            xh = (xr[j] - m) * rs
            gj = gr[j] * 1.0
            dw[j] += gj * xh
            db[j] += gj
            gw = gj * w[j] if has_w else gj
            a += gw
            c += gw * xh
        _write_dx(xr, gr, w, has_w, m, rs, a / N, c / N, dx[r])


@njit(cache=True, error_model="numpy", parallel=True)
def backward_par(x, w, has_w, mean, rstd, g, dx, parts, chunks):
    R = x.shape[0]
    for c in prange(chunks):
        t = np.int64(c)
        backward_rows(x, w, has_w, mean, rstd, g, dx, parts[0, t], parts[1, t], t * R // chunks,
                      (t + 1) * R // chunks)


@njit(cache=True, error_model="numpy")
def _finish(parts, dw, db):
    """dw, db = the chunks' column sums (parts[0], parts[1]) added in chunk order."""
    for j in range(dw.shape[0]):
        sw = 0.0
        sb = 0.0
        for c in range(parts.shape[1]):
            sw += parts[0, c, j]
            sb += parts[1, c, j]
        dw[j] = sw
        db[j] = sb


def _chunks(x: np.ndarray) -> int:
    threads = numba.get_num_threads()
    if x.size < PARALLEL_MIN or threads < 2 or x.shape[0] < 2:
        return 1
    return min(x.shape[0], threads * _CHUNKS_PER_THREAD)


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, has_w: bool, has_b: bool, eps: float,
               out: np.ndarray, mean: np.ndarray, rstd: np.ndarray) -> None:
    """out = layer_norm(x) over each row of the C-contiguous (R, N) ``x`` (out likewise, same
    dtype); ``w``/``b``: N values of that dtype, read when has_w/has_b; ``mean``/``rstd``:
    R float64 values, written."""
    chunks = _chunks(x)
    if chunks > 1:
        forward_par(x, w, b, has_w, has_b, float(eps), out, mean, rstd, chunks)
    else:
        forward_rows(x, w, b, has_w, has_b, float(eps), out, mean, rstd, 0, x.shape[0])


def layer_norm_backward(x: np.ndarray, w: np.ndarray, has_w: bool, mean: np.ndarray, rstd: np.ndarray,
                        g: np.ndarray, dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """dx (like x), dw and db (N values of x's dtype) of ``layer_norm`` given the output
    gradient ``g`` (C-contiguous, like x) and the forward's ``mean``/``rstd``."""
    chunks = _chunks(x)
    parts = np.zeros((2, chunks, x.shape[1]), np.float64)
    if chunks > 1:
        backward_par(x, w, has_w, mean, rstd, g, dx, parts, chunks)
    else:
        backward_rows(x, w, has_w, mean, rstd, g, dx, parts[0, 0], parts[1, 0], 0, x.shape[0])
    _finish(parts, dw, db)


guard_kernels(globals())

"""Layer normalisation of rows, in plain Python compiled per target (``kernels.portable``).

``forward_rows``: per row, mean, ``rstd = 1 / sqrt(var + eps)`` (biased variance, two
passes over the row, accumulated in float64) and ``out = (x - mean) * rstd * w + b``, that
last pass in x's dtype (twice the float32 lanes). ``dx_row``: with ``xhat = (x - mean) *
rstd`` and ``gw = g * w``, ``dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))``. The
CPU kernels (``kernels.cpu.norm``) run ``forward_rows`` on chunks of rows, the CUDA ones on
one row per thread; the CPU backward fuses the weight and bias column sums into ``dx``'s
first pass, which a device thread per row cannot (the sums run across rows), so the CUDA
kernels use ``dx_row`` and a column kernel; both end in ``write_dx``.
"""

from __future__ import annotations

import math


def forward_rows(x, w, b, has_w, has_b, eps, out, mean, rstd, r0, r1):
    """Rows r0:r1 of the forward; mean[r] and rstd[r] (float64) are written too. (The row
    loop is here, not in the caller: with it outside, the CPU kernel ran 2x slower.)"""
    N = x.shape[1]
    for r in range(r0, r1):
        row = x[r]
        s = 0.0
        for j in range(N):
            s += row[j]
        m = s / N
        q = 0.0
        for j in range(N):
            d = row[j] - m
            q += d * d
        rs = 1.0 / math.sqrt(q / N + eps)
        mean[r] = m
        rstd[r] = rs
        o = out[r]
        mt, rst = row.dtype.type(m), row.dtype.type(rs)  # the elementwise pass in x's dtype
        if has_w and has_b:
            for j in range(N):
                o[j] = (row[j] - mt) * rst * w[j] + b[j]
        elif has_w:
            for j in range(N):
                o[j] = (row[j] - mt) * rst * w[j]
        elif has_b:
            for j in range(N):
                o[j] = (row[j] - mt) * rst + b[j]
        else:
            for j in range(N):
                o[j] = (row[j] - mt) * rst


def dx_row(x, w, has_w, mean, rstd, g, dx, r):
    """dx[r] of the backward, from the forward's mean[r] and rstd[r] and the output gradient g[r]."""
    N = x.shape[1]
    xr, gr, m, rs = x[r], g[r], mean[r], rstd[r]
    a = 0.0
    c = 0.0
    for j in range(N):
        xh = (xr[j] - m) * rs
        gw = gr[j] * w[j] if has_w else gr[j] * 1.0
        a += gw
        c += gw * xh
    write_dx(xr, gr, w, has_w, m, rs, a / N, c / N, dx[r])


def write_dx(xr, gr, w, has_w, m, rs, a, c, o):
    """o = rstd * (gw - a - xhat * c) for one row, given a = mean(gw) and c = mean(gw * xhat)
    (float64 statistics, applied in x's dtype)."""
    t = xr.dtype.type
    m, rs, a, c = t(m), t(rs), t(a), t(c)
    for j in range(xr.shape[0]):
        xh = (xr[j] - m) * rs
        gw = gr[j] * w[j] if has_w else gr[j]
        o[j] = rs * (gw - a - xh * c)


FUNCTIONS = (forward_rows, write_dx, dx_row)  # for portable.compile_for

"""2-D pooling kernels over planes: an input ``(P, H, W)`` is ``(N * C, H, W)``.

* Max pooling writes the maximum of each window and its flat index ``ih * W + iw`` in
  the plane (PyTorch's convention for ``return_indices``); NaN wins, as in PyTorch. Its
  gradient and the gradient's gradient are the plane-wise scatter-add and gather by
  those indices (``plane_scatter_add``, ``plane_gather``).
* Average pooling, plain and adaptive, is one kernel pair over explicit windows: output
  row ``oh`` averages input rows ``[h0[oh], h1[oh])`` and columns ``[w0[ow], w1[ow])``,
  divided by ``div[oh, ow]``. The caller computes the windows (PyTorch's rules for
  padding, ``ceil_mode``, ``count_include_pad``, ``divisor_override`` or adaptive bins).

Every kernel runs in parallel over planes; all arrays are C-contiguous. The ``_nhwc``
kernels are the same maps on channels-last arrays (``(N, H, W, C)`` C-contiguous, the
indices still ``ih * W + iw``), parallel over the batch with the channels innermost, so
that a channels_last tensor is pooled in place; they are separate functions so the plane
kernels keep their code and these compile only when a channels-last tensor is pooled.
"""

from __future__ import annotations

from numba import njit, prange
from ..guard import guard_kernels


@njit(inline="always")
def _pick(v, k, best, bk):
    """The running maximum and its index after seeing value v at index k: v wins if
    larger, or if it is NaN and the maximum is not (NaN propagates, as in PyTorch); ties
    keep the first. Selects, not branches: random data mispredicts half the time."""
    take = (v > best) | ((v != v) & (best == best))
    return (v if take else best), (k if take else bk)


@njit(cache=True, parallel=True, error_model="numpy")
def max_pool2d(x, y, idx, KH, KW, sh, sw, ph, pw, dh, dw):
    """y[p, oh, ow] = max over the window; idx its flat index in the plane (first on ties)."""
    P, H, W = x.shape
    _, OH, OW = y.shape
    # Without padding or dilation, and with every window inside the plane (the usual
    # MaxPool2d(2)), the bounds checks go: that loop runs several times faster, and the
    # 2x2 window, unrolled, twice as fast again.
    inside = (ph == 0 and pw == 0 and dh == 1 and dw == 1
              and (OH - 1) * sh + KH <= H and (OW - 1) * sw + KW <= W)
    for p in prange(P):
        if inside:
            for oh in range(OH):
                hs = oh * sh
                for ow in range(OW):
                    ws = ow * sw
                    k = hs * W + ws
                    best, bk = x[p, hs, ws], k
                    if KH == 2 and KW == 2:
                        best, bk = _pick(x[p, hs, ws + 1], k + 1, best, bk)
                        best, bk = _pick(x[p, hs + 1, ws], k + W, best, bk)
                        best, bk = _pick(x[p, hs + 1, ws + 1], k + W + 1, best, bk)
                    else:
                        for i in range(KH):
                            for j in range(KW):
                                best, bk = _pick(x[p, hs + i, ws + j], k + i * W + j, best, bk)
                    y[p, oh, ow] = best
                    idx[p, oh, ow] = bk
            continue
        for oh in range(OH):
            hs = oh * sh - ph
            for ow in range(OW):
                ws = ow * sw - pw
                best = x[p, 0, 0]
                bi = -1
                for i in range(KH):
                    ih = hs + i * dh
                    if ih < 0 or ih >= H:
                        continue
                    for j in range(KW):
                        iw = ws + j * dw
                        if iw < 0 or iw >= W:
                            continue
                        v = x[p, ih, iw]
                        if bi < 0 or v > best or (v != v and best == best):
                            best = v
                            bi = ih * W + iw
                y[p, oh, ow] = best
                idx[p, oh, ow] = bi


@njit(cache=True, parallel=True, error_model="numpy")
def plane_gather(x, idx, y):
    """y[p, k] = x[p, idx[p, k]]. x: (P, L_in); idx, y: (P, L_out)."""
    P, L = y.shape
    for p in prange(P):
        for k in range(L):
            y[p, k] = x[p, idx[p, k]]


@njit(cache=True, parallel=True, error_model="numpy")
def plane_scatter_add(g, idx, x):
    """x[p, :] = 0, then x[p, idx[p, k]] += g[p, k]. g, idx: (P, L_out); x: (P, L_in)."""
    P, L = g.shape
    for p in prange(P):
        x[p] = 0
        for k in range(L):
            x[p, idx[p, k]] += g[p, k]


@njit(cache=True, parallel=True, error_model="numpy")
def window_avg(x, y, h0, h1, w0, w1, div):
    """y[p, oh, ow] = sum(x[p, h0[oh]:h1[oh], w0[ow]:w1[ow]]) / div[oh, ow]."""
    P, OH, OW = y.shape
    for p in prange(P):
        for oh in range(OH):
            for ow in range(OW):
                acc = 0.0  # (not x * 0: NaN for an inf first element)
                for ih in range(h0[oh], h1[oh]):
                    for iw in range(w0[ow], w1[ow]):
                        acc += x[p, ih, iw]
                y[p, oh, ow] = acc / div[oh, ow]


@njit(cache=True, parallel=True, error_model="numpy")
def window_avg_backward(gy, gx, h0, h1, w0, w1, div):
    """The adjoint of ``window_avg``: gx[p] = 0, then each gy[p, oh, ow] / div spread over its window."""
    P, OH, OW = gy.shape
    for p in prange(P):
        gx[p] = 0
        for oh in range(OH):
            for ow in range(OW):
                v = gy[p, oh, ow] / div[oh, ow]
                for ih in range(h0[oh], h1[oh]):
                    for iw in range(w0[ow], w1[ow]):
                        gx[p, ih, iw] += v


@njit(cache=True, parallel=True, error_model="numpy")
def max_pool2d_nhwc(x, y, idx, KH, KW, sh, sw, ph, pw, dh, dw):
    """``max_pool2d`` on x (N, H, W, C), y and idx (N, OH, OW, C)."""
    N, H, W, C = x.shape
    _, OH, OW, _ = y.shape
    for n in prange(N):
        for oh in range(OH):
            hs = oh * sh - ph
            for ow in range(OW):
                ws = ow * sw - pw
                first = True
                for i in range(KH):
                    ih = hs + i * dh
                    if ih < 0 or ih >= H:
                        continue
                    for j in range(KW):
                        iw = ws + j * dw
                        if iw < 0 or iw >= W:
                            continue
                        k = ih * W + iw
                        if first:  # the first valid position starts every channel's maximum
                            for c in range(C):
                                y[n, oh, ow, c] = x[n, ih, iw, c]
                                idx[n, oh, ow, c] = k
                            first = False
                            continue
                        for c in range(C):  # a later NaN replaces an earlier one, as torch's kernels do
                            v = x[n, ih, iw, c]
                            best = y[n, oh, ow, c]
                            take = (v > best) | (v != v)  # selects, not branches: they vectorise
                            y[n, oh, ow, c] = v if take else best
                            idx[n, oh, ow, c] = k if take else idx[n, oh, ow, c]


@njit(cache=True, parallel=True, error_model="numpy")
def plane_gather_nhwc(x, idx, y):
    """y[n, k, c] = x[n, idx[n, k, c], c]. x: (N, L_in, C); idx, y: (N, L_out, C)."""
    N, L, C = y.shape
    for n in prange(N):
        for k in range(L):
            for c in range(C):
                y[n, k, c] = x[n, idx[n, k, c], c]


@njit(cache=True, parallel=True, error_model="numpy")
def plane_scatter_add_nhwc(g, idx, x):
    """x[n] = 0, then x[n, idx[n, k, c], c] += g[n, k, c]. g, idx: (N, L_out, C); x: (N, L_in, C)."""
    N, L, C = g.shape
    for n in prange(N):
        x[n] = 0
        for k in range(L):
            for c in range(C):
                x[n, idx[n, k, c], c] += g[n, k, c]


@njit(cache=True, parallel=True, error_model="numpy")
def window_avg_nhwc(x, y, h0, h1, w0, w1, div):
    """``window_avg`` on x (N, H, W, C) and y (N, OH, OW, C)."""
    N, OH, OW, C = y.shape
    for n in prange(N):
        for oh in range(OH):
            for ow in range(OW):
                y[n, oh, ow] = 0
                for ih in range(h0[oh], h1[oh]):
                    for iw in range(w0[ow], w1[ow]):
                        for c in range(C):
                            y[n, oh, ow, c] += x[n, ih, iw, c]
                for c in range(C):
                    y[n, oh, ow, c] /= div[oh, ow]


@njit(cache=True, parallel=True, error_model="numpy")
def window_avg_backward_nhwc(gy, gx, h0, h1, w0, w1, div):
    """The adjoint of ``window_avg_nhwc``: gy (N, OH, OW, C), gx (N, H, W, C) overwritten."""
    N, OH, OW, C = gy.shape
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                d = div[oh, ow]
                for ih in range(h0[oh], h1[oh]):
                    for iw in range(w0[ow], w1[ow]):
                        for c in range(C):
                            gx[n, ih, iw, c] += gy[n, oh, ow, c] / d


guard_kernels(globals())

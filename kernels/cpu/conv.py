"""2-D convolution kernels: im2col + BLAS GEMM per sample, parallel over the batch.

Shapes (all arrays C-contiguous, one float dtype):

* ``x``: input ``(N, C, H, W)``; ``w``: weight ``(O, C // groups, KH, KW)`` seen as
  ``(O, C // groups * KH * KW)``; ``y``: output ``(N, O, OH * OW)``.
* ``cols`` (per sample, per thread): ``(C * KH * KW, OH * OW)``, row ``(c, i, j)`` holding
  ``x[c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]`` (zero where that is padding).
  The rows of one group are contiguous, so group ``g`` is a row block of ``cols``.

The three kernels are the three linear maps of a convolution (torch.nn.grad names):

* ``conv2d_forward``: ``y[n] = w @ cols(x[n]) (+ bias)``;
* ``conv2d_input``: ``x_grad[n] = col2im(w.T @ y_grad[n])`` (the transposed convolution);
* ``conv2d_weight``: ``w_grad = sum_n y_grad[n] @ cols(x[n]).T``.

Each sample runs on one thread: its ``cols`` stays in cache between im2col and the GEMM,
and the output needs no transposition (a batched GEMM over ``N * OH * OW`` columns would
have to scatter back to NCHW). ``blas.gemm`` is a single-threaded BLAS call. Padding,
stride and dilation are handled by clipping each row's output range to the valid input
columns, so the inner loops have no bounds branches.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, uintp

from .blas import gemm, ready_blas
from ..guard import guard_kernels


@njit(inline="always")
def _valid_range(k: int, stride: int, pad: int, dil: int, size: int, out_size: int):
    """The output positions o whose input position o * stride - pad + k * dil is in [0, size)."""
    off = k * dil - pad
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = (size - off + stride - 1) // stride if size > off else 0
    return lo, max(lo, min(hi, out_size))


@njit(inline="always")
def _unfold(x, cols, adjoint, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """im2col and its adjoint for one sample, x (C, H, W) and cols (C*KH*KW, OH*OW), both
    C-contiguous: ``cols = im2col(x)``, or with ``adjoint``, ``x += col2im(cols)`` (x
    zeroed by the caller). One walk serves both, so they share the index arithmetic;
    callers pass ``adjoint`` as a constant, and each copy of the inlined body keeps one
    side of the branches.

    Written over flat views with unsigned indices: Numba then emits no negative-index
    wrap-around, and the unit-stride loops vectorise (3-4x faster than 3-D indexing)."""
    C, H, W = x.shape
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    L = OH * OW
    for c in range(C):
        for i in range(KH):
            h0, h1 = _valid_range(i, sh, ph, dh, H, OH)
            for j in range(KW):
                w0, w1 = _valid_range(j, sw, pw, dw, W, OW)
                row = ((c * KH + i) * KW + j) * L
                # plain loops, not slice assignments: each of those costs more than the
                # handful of elements it writes
                if not adjoint:  # columns that fall on padding
                    for t in range(h0 * OW):
                        cf[uintp(row + t)] = 0
                    for t in range(h1 * OW, L):
                        cf[uintp(row + t)] = 0
                for oh in range(h0, h1):
                    d = row + oh * OW
                    src = (c * H + oh * sh - ph + i * dh) * W + j * dw - pw
                    if adjoint:
                        if sw == 1:
                            for ow in range(w0, w1):
                                xf[uintp(src + ow)] += cf[uintp(d + ow)]
                        else:
                            for ow in range(w0, w1):
                                xf[uintp(src + ow * sw)] += cf[uintp(d + ow)]
                        continue
                    for ow in range(w0):
                        cf[uintp(d + ow)] = 0
                    for ow in range(w1, OW):
                        cf[uintp(d + ow)] = 0
                    if sw == 1:
                        for ow in range(w0, w1):
                            cf[uintp(d + ow)] = xf[uintp(src + ow)]
                    else:
                        for ow in range(w0, w1):
                            cf[uintp(d + ow)] = xf[uintp(src + ow * sw)]


def _im2col_buffers(empty, count: int, x_shape: tuple, nhwc: bool, KH: int, KW: int, OH: int, OW: int, dtype):
    """``count`` im2col buffers, one per thread (indexed by ``numba.get_thread_id()``) or per
    chunk of samples, from ``empty``: the caller's allocator, whose cache keeps them touched
    from one step to the next (a fresh buffer per sample costs its page faults every time)."""
    C = x_shape[3] if nhwc else x_shape[1]
    shape = (OH * OW, C * KH * KW) if nhwc else (C * KH * KW, OH * OW)
    return empty((count,) + shape, dtype)


def conv2d_forward(x, w, bias, has_bias, y, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW,
                   empty=np.empty) -> None:
    """y[n] = w @ im2col(x[n]) + bias, samples in parallel. Arguments as ``_forward_samples``;
    ``empty`` allocates its work buffers."""
    ready_blas()
    work = _im2col_buffers(empty, numba.get_num_threads(), x.shape, False, KH, KW, OH, OW, x.dtype)
    _forward_samples(x, w, bias, has_bias, y, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW)


def conv2d_input(gy, w, gx, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, empty=np.empty) -> None:
    """gx[n] = col2im(w.T @ gy[n]), samples in parallel. Arguments as ``_input_grad_samples``."""
    ready_blas()
    work = _im2col_buffers(empty, numba.get_num_threads(), gx.shape, False, KH, KW, OH, OW, gx.dtype)
    _input_grad_samples(gy, w, gx, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW)


@njit(cache=True, parallel=True, error_model="numpy")
def _forward_samples(x, w, bias, has_bias, y, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """y[n] = w @ im2col(x[n]) + bias. w: (O, Cg*KH*KW); bias: (O,) (read if has_bias);
    y: (N, O, OH*OW), overwritten."""
    N, C, H, W = x.shape
    O, KG = w.shape
    og = O // groups
    for n in prange(N):
        cols = work[numba.get_thread_id()]
        _unfold(x[n], cols, False, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
        for g in range(groups):
            gemm(w[g * og:(g + 1) * og], cols[g * KG:(g + 1) * KG], y[n, g * og:(g + 1) * og])
        if has_bias:
            for o in range(O):
                y[n, o] += bias[o]


@njit(cache=True, parallel=True, error_model="numpy")
def _input_grad_samples(gy, w, gx, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """gx[n] = col2im(w.T @ gy[n]): the gradient of the convolution w.r.t. its input.
    gy: (N, O, OH*OW); w: (O, Cg*KH*KW); gx: (N, C, H, W), overwritten."""
    N, C, H, W = gx.shape
    O, KG = w.shape
    og = O // groups
    for n in prange(N):
        cols = work[numba.get_thread_id()]
        for g in range(groups):
            gemm(w[g * og:(g + 1) * og].T, gy[n, g * og:(g + 1) * og], cols[g * KG:(g + 1) * KG])
        gx[n] = 0
        _unfold(gx[n], cols, True, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(cache=True, parallel=True, error_model="numpy")
def _weight_grad_samples(x, gy, partial, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """partial[t] = sum over chunk t's samples of gy[n] @ im2col(x[n]).T, per group.
    One chunk of consecutive samples per thread, so each thread sums into its own buffer."""
    N, C, H, W = x.shape
    T, O, KG = partial.shape
    og = O // groups
    for t in prange(T):
        cols = work[t]
        acc = partial[t]
        acc[:] = 0
        for n in range(t * N // T, (t + 1) * N // T):
            _unfold(x[n], cols, False, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
            for g in range(groups):
                gemm(gy[n, g * og:(g + 1) * og], cols[g * KG:(g + 1) * KG].T, acc[g * og:(g + 1) * og], 1.0)



@njit(inline="always")
def _unfold_nhwc(x, cols, adjoint, groups, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """im2col (or, with ``adjoint``, ``x += col2im(cols)``) for one channels-last sample:
    x (H, W, C) and cols (OH*OW, C*KH*KW), both C-contiguous, column ``(g, i, j, c)``
    holding ``x[oh * sh - ph + i * dh, ow * sw - pw + j * dw, g * Cg + c]`` (zero on
    padding). Each (row, tap) is a run of Cg contiguous channels read from one pixel, so
    the NHWC input is read in place; group ``g`` is a column block of ``cols``."""
    H, W, C = x.shape
    cg = C // groups
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    CK = C * KH * KW
    for oh in range(OH):
        for ow in range(OW):
            base = (oh * OW + ow) * CK
            for g in range(groups):
                for i in range(KH):
                    h = oh * sh - ph + i * dh
                    for j in range(KW):
                        w = ow * sw - pw + j * dw
                        d = base + ((g * KH + i) * KW + j) * cg
                        if h >= 0 and h < H and w >= 0 and w < W:
                            src = (h * W + w) * C + g * cg
                            if adjoint:
                                for c in range(cg):
                                    xf[uintp(src + c)] += cf[uintp(d + c)]
                            else:
                                for c in range(cg):
                                    cf[uintp(d + c)] = xf[uintp(src + c)]
                        elif not adjoint:
                            for c in range(cg):
                                cf[uintp(d + c)] = 0


# Channels-last (NHWC) kernels: the same three maps with x (N, H, W, C), y (N, OH*OW, O)
# and w (O, KH*KW*Cg) in (i, j, c) order, all C-contiguous, so y[n] = cols(x[n]) @ w.T.
# They are separate functions so that the NCHW kernels keep their code and compile
# only when a channels-last tensor reaches a convolution.

def conv2d_forward_nhwc(x, w, bias, has_bias, y, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW,
                        empty=np.empty) -> None:
    """y[n] = im2col(x[n]) @ w.T + bias on NHWC arrays. Arguments as ``_forward_samples_nhwc``."""
    ready_blas()
    work = _im2col_buffers(empty, numba.get_num_threads(), x.shape, True, KH, KW, OH, OW, x.dtype)
    _forward_samples_nhwc(x, w, bias, has_bias, y, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW)


def conv2d_input_nhwc(gy, w, gx, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, empty=np.empty) -> None:
    """gx[n] = col2im(gy[n] @ w) on NHWC arrays. Arguments as ``_input_grad_samples_nhwc``."""
    ready_blas()
    work = _im2col_buffers(empty, numba.get_num_threads(), gx.shape, True, KH, KW, OH, OW, gx.dtype)
    _input_grad_samples_nhwc(gy, w, gx, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW)


@njit(cache=True, parallel=True, error_model="numpy")
def _forward_samples_nhwc(x, w, bias, has_bias, y, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """y[n] = im2col(x[n]) @ w.T + bias. x: (N, H, W, C); w: (O, KH*KW*Cg); y: (N, OH*OW, O)."""
    N, H, W, C = x.shape
    O, KG = w.shape
    og = O // groups
    L = OH * OW
    for n in prange(N):
        cols = work[numba.get_thread_id()]
        _unfold_nhwc(x[n], cols, False, groups, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
        for g in range(groups):
            gemm(cols[:, g * KG:(g + 1) * KG], w[g * og:(g + 1) * og].T, y[n, :, g * og:(g + 1) * og])
        if has_bias:
            for t in range(L):
                for o in range(O):
                    y[n, t, o] += bias[o]


@njit(cache=True, parallel=True, error_model="numpy")
def _input_grad_samples_nhwc(gy, w, gx, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """gx[n] = col2im(gy[n] @ w). gy: (N, OH*OW, O); w: (O, KH*KW*Cg); gx: (N, H, W, C), overwritten."""
    N, H, W, C = gx.shape
    O, KG = w.shape
    og = O // groups
    for n in prange(N):
        cols = work[numba.get_thread_id()]
        for g in range(groups):
            gemm(gy[n, :, g * og:(g + 1) * og], w[g * og:(g + 1) * og], cols[:, g * KG:(g + 1) * KG])
        gx[n] = 0
        _unfold_nhwc(gx[n], cols, True, groups, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(cache=True, parallel=True, error_model="numpy")
def _weight_grad_samples_nhwc(x, gy, partial, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW):
    """partial[t] = sum over chunk t's samples of gy[n].T @ im2col(x[n]), per group (NHWC)."""
    N, H, W, C = x.shape
    T, O, KG = partial.shape
    og = O // groups
    for t in prange(T):
        cols = work[t]
        acc = partial[t]
        acc[:] = 0
        for n in range(t * N // T, (t + 1) * N // T):
            _unfold_nhwc(x[n], cols, False, groups, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)
            for g in range(groups):
                gemm(gy[n, :, g * og:(g + 1) * og].T, cols[:, g * KG:(g + 1) * KG], acc[g * og:(g + 1) * og], 1.0)


def conv2d_weight(x, gy, gw, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, nhwc=False, empty=np.empty):
    """gw = sum_n gy[n] @ im2col(x[n]).T: the gradient w.r.t. the weight.
    x: (N, C, H, W); gy: (N, O, OH*OW); gw: (O, Cg*KH*KW), overwritten; or with ``nhwc``
    the channels-last arrays of ``_weight_grad_samples_nhwc``. Each thread sums its share
    of the batch into a partial buffer, then the partials are added."""
    ready_blas()
    chunks = max(1, min(x.shape[0], numba.get_num_threads()))
    partial = np.empty((chunks,) + gw.shape, gw.dtype)
    work = _im2col_buffers(empty, chunks, x.shape, nhwc, KH, KW, OH, OW, x.dtype)
    kernel = _weight_grad_samples_nhwc if nhwc else _weight_grad_samples
    kernel(x, gy, partial, work, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW)
    np.sum(partial, axis=0, out=gw)


guard_kernels(globals())

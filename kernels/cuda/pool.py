"""2-D pooling on the device: the maps of ``kernels.cpu.pool``, one thread per output element.

As in ``conv``, every operand is a 4-D view ``(n, c, h, w)`` given as a flat device array
and its element strides, so the same kernels pool planes (``(N * C, H, W)`` seen as
``(P, 1, H, W)``) and channels-last tensors in place. ``shape`` is ``(N, C, H, W, OH, OW)``.
The by-index kernels see a plane as one row of ``L`` positions (``(N, C, 1, L)``).

* ``max_k``: each window's maximum and its flat index ``ih * W + iw`` in the plane
  (PyTorch's convention); the first valid tap starts the maximum, a NaN beats a number
  and ties keep the first, as the CPU plane kernel.
* ``gather_k`` / ``scatter_add_k``: the max pooling's gradient pair. Overlapping windows
  may pick one input element, so the scatter adds atomically into the zeroed gradient;
  the order of those few additions is the schedule's (as in torch's CUDA kernels).
* ``avg_k``: the mean over explicit windows (rows ``[h0[oh], h1[oh])``, columns ``[w0[ow],
  w1[ow])``, divided by ``div[oh, ow]``), computed by the caller with PyTorch's rules.
* ``avg_backward_k``: its adjoint as a gather, one thread per input element summing
  ``gy / div`` over the windows that hold it: output rows ``[r0[ih], r1[ih])`` and
  columns ``[q0[iw], q1[iw])``, the inverse of the (non-decreasing) windows, which the
  caller computes. No atomics: the result does not depend on the schedule.

The caller validates the geometry, so window taps and indices stay inside each plane.
"""

from __future__ import annotations

from numba import cuda

from . import launch
from .window import at, split, tap


@cuda.jit(cache=True)
def max_k(x, xs, y, idx, ys, shape, geo):
    """``y[n, c, oh, ow]`` = the window's maximum, ``idx`` its flat position in the plane (``y``
    and ``idx`` share the strides ``ys``); ``geo`` is ``(KH, KW, sh, sw, ph, pw, dh, dw)``."""
    N, C, H, W, OH, OW = shape
    KH, KW, sh, sw, ph, pw, dh, dw = geo
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = split(e, C, OH, OW)
        plane = n * xs[0] + c * xs[1]
        best = x[plane]
        bi = -1
        for i in range(KH):
            ih = tap(oh, i, sh, ph, dh, H)
            if ih < 0:
                continue
            for j in range(KW):
                iw = tap(ow, j, sw, pw, dw, W)
                if iw < 0:
                    continue
                v = x[plane + ih * xs[2] + iw * xs[3]]
                if bi < 0 or v > best or (v != v and best == best):
                    best = v
                    bi = ih * W + iw
        o = at(ys, n, c, oh, ow)
        y[o] = best
        idx[o] = bi


@cuda.jit(cache=True)
def gather_k(x, xs, idx, y, ys, shape):
    """``y[n, c, 0, k] = x[n, c, 0, idx[n, c, 0, k]]`` (``idx`` and ``y`` share ``ys``);
    ``shape`` is ``(N, C, L)`` of ``y``."""
    N, C, L = shape
    for e in range(cuda.grid(1), N * C * L, cuda.gridsize(1)):
        n, _, c, k = split(e, 1, C, L)
        o = at(ys, n, c, 0, k)
        y[o] = x[at(xs, n, c, 0, idx[o])]


@cuda.jit(cache=True)
def scatter_add_k(g, gs, idx, x, xs, shape):
    """``x[n, c, 0, idx[n, c, 0, k]] += g[n, c, 0, k]``, atomically (``idx`` shares ``gs``);
    ``shape`` is ``(N, C, L)`` of ``g``."""
    N, C, L = shape
    for e in range(cuda.grid(1), N * C * L, cuda.gridsize(1)):
        n, _, c, k = split(e, 1, C, L)
        o = at(gs, n, c, 0, k)
        cuda.atomic.add(x, at(xs, n, c, 0, idx[o]), g[o])


@cuda.jit(cache=True)
def avg_k(x, xs, y, ys, h0, h1, w0, w1, div, shape):
    """``y[n, c, oh, ow] = sum(x[n, c, h0[oh]:h1[oh], w0[ow]:w1[ow]]) / div[oh, ow]``."""
    N, C, H, W, OH, OW = shape
    for e in range(cuda.grid(1), N * C * OH * OW, cuda.gridsize(1)):
        n, c, oh, ow = split(e, C, OH, OW)
        acc = y.dtype.type(0)
        for ih in range(h0[oh], h1[oh]):
            for iw in range(w0[ow], w1[ow]):
                acc += x[at(xs, n, c, ih, iw)]
        y[at(ys, n, c, oh, ow)] = acc / div[oh, ow]


@cuda.jit(cache=True)
def avg_backward_k(gy, gys, gx, gxs, r0, r1, q0, q1, div, shape):
    """``gx[n, c, ih, iw] = sum gy[n, c, oh, ow] / div[oh, ow]`` over ``oh`` in ``[r0[ih], r1[ih])``
    and ``ow`` in ``[q0[iw], q1[iw])``, the windows holding ``(ih, iw)``."""
    N, C, H, W, OH, OW = shape
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, ih, iw = split(e, C, H, W)
        acc = gx.dtype.type(0)
        for oh in range(r0[ih], r1[ih]):
            for ow in range(q0[iw], q1[iw]):
                acc += gy[at(gys, n, c, oh, ow)] / div[oh, ow]
        gx[at(gxs, n, c, ih, iw)] = acc


def max_pool(x, xs, y, idx, ys, shape: tuple, geo: tuple) -> None:
    N, C, _, _, OH, OW = shape
    max_k[launch.grid(N * C * OH * OW)](x, xs, y, idx, ys, shape, geo)


def gather(x, xs, idx, y, ys, shape: tuple) -> None:
    gather_k[launch.grid(shape[0] * shape[1] * shape[2])](x, xs, idx, y, ys, shape)


def scatter_add(g, gs, idx, x, xs, shape: tuple) -> None:
    """Add ``g`` into ``x`` (zeroed by the caller) at the indexed positions."""
    scatter_add_k[launch.grid(shape[0] * shape[1] * shape[2])](g, gs, idx, x, xs, shape)


def window_avg(x, xs, y, ys, h0, h1, w0, w1, div, shape: tuple) -> None:
    N, C, _, _, OH, OW = shape
    avg_k[launch.grid(N * C * OH * OW)](x, xs, y, ys, h0, h1, w0, w1, div, shape)


def window_avg_backward(gy, gys, gx, gxs, r0, r1, q0, q1, div, shape: tuple) -> None:
    N, C, H, W = shape[:4]
    avg_backward_k[launch.grid(N * C * H * W)](gy, gys, gx, gxs, r0, r1, q0, q1, div, shape)


KERNELS = {"max": max_k, "gather": gather_k, "scatter_add": scatter_add_k, "avg": avg_k,
           "avg_backward": avg_backward_k}

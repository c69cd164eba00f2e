"""2-D convolution on the device: the three linear maps of ``kernels.cpu.conv``, as direct kernels.

Every operand is a 4-D view, passed as a flat device array and its element strides
(``window.at``): ``x`` and ``y`` indexed ``(n, c, h, w)``, the weight ``(o, c, i, j)``. So
one kernel serves NCHW and channels-last layouts, and the weight in either tap order, with
no copy. ``shape`` is ``(N, C, H, W, O, OH, OW)`` and ``geo`` is ``(KH, KW, sh, sw, ph, pw,
dh, dw, groups)``, as in the CPU kernels' arguments. Sums are in the data's dtype (float32
stays float32).

* ``forward_k``: one thread per output ``y[n, o, oh, ow]``, summing its ``C / groups x KH x
  KW`` window (taps on padding skipped), then the bias.
* ``input_k`` (the transposed convolution): a gather, one thread per input element
  ``gx[n, c, h, w]`` summing ``gy[n, o, oh, ow] * w[o, c', i, j]`` over the taps that read
  it (``window.reader``). No two threads write one element: no atomics, and the result
  does not depend on the schedule, where col2im's scatter would.
* ``weight_k``: ``gw[o, c', i, j]`` is a sum over the ``N * OH * OW`` output positions, too
  few weights to fill a GPU on their own; thread ``(t, weight)`` sums chunk ``t`` of those
  positions into partial ``t`` (``weight_split`` chooses the chunks) and the caller adds
  the partials in a fixed order (a reduction), deterministic for the same reason.

Grid-stride loops over the outputs (``launch``). Every index is computed from the
shapes, none is read from data, so the kernels stay in bounds when the shapes agree
(the op layer checks them).
"""

from __future__ import annotations

from numba import cuda

from . import launch
from .window import at, reader, split, tap

MIN_CHUNK = 32  # output positions a weight-gradient thread sums at least, so partials stay few


@cuda.jit(cache=True)
def forward_k(x, xs, w, ws, bias, has_bias, y, ys, shape, geo):
    """``y[n, o, oh, ow] = sum_{c, i, j} x[n, g*Cg + c, tap(oh, i), tap(ow, j)] * w[o, c, i, j] (+ bias[o])``."""
    N, C, H, W, O, OH, OW = shape
    KH, KW, sh, sw, ph, pw, dh, dw, groups = geo
    cg = C // groups
    og = O // groups
    for e in range(cuda.grid(1), N * O * OH * OW, cuda.gridsize(1)):
        n, o, oh, ow = split(e, O, OH, OW)
        c0 = o // og * cg
        acc = y.dtype.type(0)
        for c in range(cg):
            for i in range(KH):
                ih = tap(oh, i, sh, ph, dh, H)
                if ih < 0:
                    continue
                for j in range(KW):
                    iw = tap(ow, j, sw, pw, dw, W)
                    if iw >= 0:
                        acc += x[at(xs, n, c0 + c, ih, iw)] * w[at(ws, o, c, i, j)]
        if has_bias:
            acc += bias[o]
        y[at(ys, n, o, oh, ow)] = acc


@cuda.jit(cache=True)
def input_k(gy, gys, w, ws, gx, gxs, shape, geo):
    """``gx[n, c, h, x] = sum gy[n, o, oh, ow] * w[o, c - g*Cg, i, j]`` over the ``o`` of ``c``'s
    group and the taps ``(i, j)`` of ``(oh, ow)`` that read ``(h, x)``."""
    N, C, H, W, O, OH, OW = shape
    KH, KW, sh, sw, ph, pw, dh, dw, groups = geo
    cg = C // groups
    og = O // groups
    for e in range(cuda.grid(1), N * C * H * W, cuda.gridsize(1)):
        n, c, h, x = split(e, C, H, W)
        g = c // cg
        cc = c - g * cg
        acc = gx.dtype.type(0)
        for i in range(KH):
            oh = reader(h, i, sh, ph, dh, OH)
            if oh < 0:
                continue
            for j in range(KW):
                ow = reader(x, j, sw, pw, dw, OW)
                if ow < 0:
                    continue
                for o in range(g * og, (g + 1) * og):
                    acc += gy[at(gys, n, o, oh, ow)] * w[at(ws, o, cc, i, j)]
        gx[at(gxs, n, c, h, x)] = acc


@cuda.jit(cache=True)
def weight_k(x, xs, gy, gys, part, ws, shape, geo, chunk):
    """``part[t * size + at(ws, o, c, i, j)]`` = the sum over chunk ``t`` (``chunk`` consecutive
    flat ``(n, oh, ow)``) of ``gy[n, o, oh, ow] * x[n, g*Cg + c, tap(oh, i), tap(ow, j)]``;
    ``size`` is the weight's element count, ``ws`` its strides, ``part`` holds whole partials."""
    N, C, H, W, O, OH, OW = shape
    KH, KW, sh, sw, ph, pw, dh, dw, groups = geo
    cg = C // groups
    og = O // groups
    size = O * cg * KH * KW
    positions = N * OH * OW
    for e in range(cuda.grid(1), part.shape[0], cuda.gridsize(1)):
        t = e // size
        o, c, i, j = split(e - t * size, cg, KH, KW)
        ci = o // og * cg + c
        acc = part.dtype.type(0)
        for q in range(t * chunk, min((t + 1) * chunk, positions)):
            n, _, oh, ow = split(q, 1, OH, OW)
            ih = tap(oh, i, sh, ph, dh, H)
            iw = tap(ow, j, sw, pw, dw, W)
            if ih >= 0 and iw >= 0:
                acc += gy[at(gys, n, o, oh, ow)] * x[at(xs, n, ci, ih, iw)]
        part[t * size + at(ws, o, c, i, j)] = acc


def weight_split(positions: int, size: int) -> tuple[int, int]:
    """(chunks, positions per chunk) of the weight gradient: chunks enough that ``chunks * size``
    threads fill one grid of ``launch``, each summing at least ``MIN_CHUNK`` positions."""
    full = launch.THREADS * launch.MAX_BLOCKS
    chunks = max(1, min(-(-full // max(size, 1)), positions // MIN_CHUNK))
    chunk = max(1, -(-positions // chunks))
    return max(1, -(-positions // chunk)), chunk


def forward(x, xs, w, ws, bias, has_bias: bool, y, ys, shape: tuple, geo: tuple) -> None:
    N, _, _, _, O, OH, OW = shape
    forward_k[launch.grid(N * O * OH * OW)](x, xs, w, ws, bias, has_bias, y, ys, shape, geo)


def input_grad(gy, gys, w, ws, gx, gxs, shape: tuple, geo: tuple) -> None:
    N, C, H, W = shape[:4]
    input_k[launch.grid(N * C * H * W)](gy, gys, w, ws, gx, gxs, shape, geo)


def weight_grad(x, xs, gy, gys, part, ws, shape: tuple, geo: tuple, chunk: int) -> None:
    """Fill ``part`` (flat, ``chunks * size``; see ``weight_split``) with the partial weight gradients."""
    weight_k[launch.grid(part.shape[0])](x, xs, gy, gys, part, ws, shape, geo, chunk)


KERNELS = {"forward": forward_k, "input": input_k, "weight": weight_k}

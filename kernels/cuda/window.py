"""Index math shared by the sliding-window kernels (``conv``, ``pool``), as inlined device functions.

Those kernels take every 4-D operand as a flat device array and its element strides in
``(n, c, h, w)`` order, so one kernel serves NCHW and channels-last views without a copy;
these helpers turn coordinates into offsets and output positions into window taps.
They are ``inline="always"``: numba-cuda then compiles them into each kernel, so
``compile_ptx`` needs no device context (a call to a separate device function would).
"""

from __future__ import annotations

from numba import cuda


@cuda.jit(device=True, inline="always")
def split(e, n1, n2, n3):
    """The C-order coordinates ``(i0, i1, i2, i3)`` of flat position ``e`` in a ``(_, n1, n2, n3)`` array."""
    i3 = e % n3
    e //= n3
    i2 = e % n2
    e //= n2
    return e // n1, e % n1, i2, i3


@cuda.jit(device=True, inline="always")
def at(s, i0, i1, i2, i3):
    """The element offset of ``(i0, i1, i2, i3)`` in a view with element strides ``s``."""
    return i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]


@cuda.jit(device=True, inline="always")
def tap(o, k, stride, pad, dil, size):
    """The input position that tap ``k`` of output position ``o`` reads, or -1 where it is padding."""
    p = o * stride - pad + k * dil
    return p if 0 <= p < size else -1


@cuda.jit(device=True, inline="always")
def reader(p, k, stride, pad, dil, out_size):
    """The output position whose tap ``k`` reads input position ``p``, or -1 where none does
    (the inverse of ``tap``: the stride must divide the distance)."""
    t = p + pad - k * dil
    if t < 0 or t % stride != 0:
        return -1
    o = t // stride
    return o if o < out_size else -1

"""Fused optimizer updates on the device: one launch updates up to ``CHUNK`` parameters.

The contract is ``kernels.cpu.optim``'s, so a backend builds the scalars once for either
device: ``update_many(kind, items, h)`` with ``kind`` one of ``SGD, ADAM, RMSPROP,
ADAGRAD`` (Adam covers AdamW through its decoupled flag), ``items`` the ``(p, g, states)``
of each parameter as flat device arrays of one dtype, and ``h`` the rule's scalars (laid
out as each CPU rule's docstring says) as an ``N_SCALARS``-tuple of that dtype passed by
value (zero-padded), so float32 parameters are updated in float32. Each element follows
the same operation order as the CPU rule (and PyTorch's single-tensor implementation).

A launch takes its parameters as tuples of ``CHUNK`` arrays (padded with empty ones), so
one specialisation per dtype serves every model, and a step of ``n`` parameters that
share a rule and scalars costs ``ceil(n / CHUNK)`` launches rather than ``n``, as torch's
multi-tensor apply. ``CHUNK`` keeps the arguments (five tuples of arrays, 56 bytes per
1-D array) well inside the 4 KiB a kernel's parameters may take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from numba import cuda

from ..cpu.optim import ADAGRAD, ADAM, RMSPROP, SGD
from . import launch

__all__ = ["ADAGRAD", "ADAM", "CHUNK", "RMSPROP", "N_SCALARS", "SGD", "update_k", "update_many"]

N_SCALARS = 12  # the longest rule's scalars (Adam's): ``h`` passed as a tuple has this length
CHUNK = 8  # parameters per launch


@cuda.jit(device=True, inline="always")
def _element(kind, p, g, s0, s1, s2, h, i):
    """The rule ``kind`` on element ``i`` of ``p`` (see ``kernels.cpu.optim`` for ``h``)."""
    if kind == SGD:
        d = -g[i] if h[5] != 0 else g[i]
        if h[1] != 0:
            d = d + h[1] * p[i]
        if h[2] != 0:
            b = d if h[6] != 0 else s0[i] * h[2] + h[3] * d
            s0[i] = b
            d = d + h[2] * b if h[4] != 0 else b
        p[i] = p[i] + (-h[0]) * d
    elif kind == ADAM:
        d = -g[i] if h[10] != 0 else g[i]
        x = p[i]
        if h[8] != 0:
            x = x * h[7]
        elif h[6] != 0:
            d = d + h[6] * x
        w1 = h[1]
        mi = s0[i] + w1 * (d - s0[i]) if w1 < 0.5 else d - (d - s0[i]) * h[11]  # torch's lerp
        vi = s1[i] * h[2] + h[3] * d * d
        s0[i] = mi
        s1[i] = vi
        if h[9] != 0:
            vi = max(s2[i], vi)
            s2[i] = vi
        p[i] = x + h[0] * mi / (math.sqrt(vi) / h[4] + h[5])
    elif kind == RMSPROP:
        d = -g[i] if h[7] != 0 else g[i]
        if h[4] != 0:
            d = d + h[4] * p[i]
        s = s0[i] * h[1] + h[2] * d * d
        s0[i] = s
        if h[6] != 0:
            w = h[2]
            a = s2[i] + w * (d - s2[i]) if w < 0.5 else d - (d - s2[i]) * h[1]  # torch's lerp
            s2[i] = a
            s = s + (-a) * a
        den = math.sqrt(s) + h[3]
        if h[5] > 0:
            b = s1[i] * h[5] + d / den
            s1[i] = b
            p[i] = p[i] + (-h[0]) * b
        else:
            p[i] = p[i] + (-h[0]) * d / den
    else:
        d = -g[i] if h[3] != 0 else g[i]
        if h[1] != 0:
            d = d + h[1] * p[i]
        a = s0[i] + d * d
        s0[i] = a
        p[i] = p[i] + h[0] * d / (math.sqrt(a) + h[2])


@cuda.jit(cache=True)
def update_k(kind, ps, gs, s0s, s1s, s2s, h):
    """Rule ``kind`` on the ``CHUNK`` parameters of the tuples: grid row ``y`` updates
    parameter ``y`` in a grid-stride loop (an empty padding slot's row does nothing)."""
    t = cuda.blockIdx.y
    p, g, s0, s1, s2 = ps[t], gs[t], s0s[t], s1s[t], s2s[t]
    start, step = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x, cuda.blockDim.x * cuda.gridDim.x
    for i in range(start, p.shape[0], step):
        _element(kind, p, g, s0, s1, s2, h, i)


def update_many(kind: int, items: Sequence[tuple], h: tuple) -> None:
    """Apply rule ``kind`` in place to every ``(p, g, states)`` of ``items`` (flat device
    arrays of one dtype, states as many as the rule keeps), ``CHUNK`` parameters a launch."""
    for first in range(0, len(items), CHUNK):
        chunk = items[first:first + CHUNK]
        empty = chunk[0][0][:0]  # the padding of a short chunk and of unused state slots
        slots = [[empty] * CHUNK for _ in range(5)]
        for t, (p, g, states) in enumerate(chunk):
            for k, a in enumerate((p, g, *states)):
                slots[k][t] = a
        blocks, threads = launch.grid(max(p.shape[0] for p, _, _ in chunk))
        update_k[(blocks, CHUNK), threads](kind, *map(tuple, slots), h)

"""Fused optimizer updates on the device: one grid-stride pass updates a parameter and its state.

The contract is ``kernels.cpu.optim``'s, so a backend builds the scalars once for either
device: ``update(kind, p, g, states, h)`` with ``kind`` one of ``SGD, ADAM, RMSPROP,
ADAGRAD`` (Adam covers AdamW through its decoupled flag), ``p``/``g``/states flat device
arrays of one dtype, and ``h`` the rule's scalars as a device array of that dtype (laid
out as each CPU rule's docstring says), so float32 parameters are updated in float32;
or, with no copy, as a ``N_SCALARS``-tuple of that dtype passed by value (zero-padded).
Each element follows the same operation order as the CPU rule (and PyTorch's
single-tensor implementation). A backend that keeps every parameter in one flat buffer
updates all of them with one launch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from numba import cuda

from ..cpu.optim import ADAGRAD, ADAM, RMSPROP, SGD
from . import launch

__all__ = ["ADAGRAD", "ADAM", "RMSPROP", "N_SCALARS", "SGD", "update", "update_k"]

N_SCALARS = 12  # the longest rule's scalars (Adam's): ``h`` passed as a tuple has this length


@cuda.jit(cache=True)
def update_k(kind, p, g, s0, s1, s2, h):
    """The rule ``kind`` on every element of ``p`` (see ``kernels.cpu.optim`` for ``h``)."""
    for i in range(cuda.grid(1), p.shape[0], cuda.gridsize(1)):
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


def update(kind: int, p, g, states: Sequence, h) -> None:
    """Apply rule ``kind`` in place to the flat device arrays ``p`` and ``states``."""
    s = list(states)
    while len(s) < 3:  # unused state slots: any array of p's dtype (never read)
        s.append(p[:0])
    blocks, threads = launch.grid(p.shape[0])
    update_k[blocks, threads](kind, p, g, s[0], s[1], s[2], h)

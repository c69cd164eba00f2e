"""Kernels turning uniform random numbers into samples of discrete distributions.

The random numbers themselves come from the caller (autodiff's seeded generator), so
these are pure functions of their inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import sampling_rows
from ..guard import guard_kernels
from ..portable import compile_for

_pick = compile_for(sampling_rows.FUNCTIONS, njit(inline="always")).pick


@njit(cache=True, error_model="numpy")
def categorical(probs, uniforms, out):
    """out[r, s] = the category of row ``probs[r]`` (weights, not necessarily normalised)
    whose cumulative interval holds ``uniforms[r, s] * total`` (``sampling_rows.pick``).
    probs (R, C); uniforms and out (R, S)."""
    R, C = probs.shape
    cdf = np.empty(C, probs.dtype)
    for r in range(R):
        acc = probs[r, 0] * 0
        for i in range(C):
            acc += probs[r, i]
            cdf[i] = acc
        for s in range(out.shape[1]):
            out[r, s] = _pick(probs[r], cdf, uniforms[r, s])


guard_kernels(globals())

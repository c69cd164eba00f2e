"""Kernels turning uniform random numbers into samples of discrete distributions.

The random numbers themselves come from the caller (autodiff's seeded generator), so
these are pure functions of their inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def categorical(probs, uniforms, out):
    """out[r, s] = the category i of row ``probs[r]`` (weights, not necessarily normalised)
    whose cumulative interval holds ``uniforms[r, s] * total``: the first i with
    cdf[i] > u * total, so a zero weight is never drawn. probs (R, C); uniforms and
    out (R, S)."""
    R, C = probs.shape
    cdf = np.empty(C, probs.dtype)
    for r in range(R):
        acc = probs[r, 0] * 0
        for i in range(C):
            acc += probs[r, i]
            cdf[i] = acc
        total = cdf[C - 1]
        for s in range(out.shape[1]):
            target = uniforms[r, s] * total
            lo, hi = 0, C - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if cdf[mid] > target:
                    hi = mid
                else:
                    lo = mid + 1
            while probs[r, lo] == 0 and lo > 0:  # rounding put the target past the end
                lo -= 1
            out[r, s] = lo


guard_kernels(globals())

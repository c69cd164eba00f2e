"""One categorical draw from a row's cumulative weights, in plain Python compiled per
target (``kernels.portable``), so the CPU and CUDA samplers pick the same category for the
same uniform number.
"""

from __future__ import annotations


def pick(weights, cdf, u):
    """The category of ``u`` in [0, 1): the first i with ``cdf[i] > u * total``, so a zero
    weight is never drawn; stepped back over zero weights where rounding put the target
    past the last positive one. weights, cdf: one row (C,)."""
    C = cdf.shape[0]
    target = u * cdf[C - 1]
    lo, hi = 0, C - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    while weights[lo] == 0 and lo > 0:
        lo -= 1
    return lo


FUNCTIONS = (pick,)  # for portable.compile_for

"""Categorical draws on the device: one thread per sample, over each row's cumulative weights.

The cumulative sums come from the caller (the backend's in-order scan, the CPU kernel's
order of additions); the search is ``kernels.sampling_rows.pick``, the CPU kernel's own, so
both devices turn the same uniform number into the same category.
"""

from __future__ import annotations

from numba import cuda

from .. import sampling_rows
from ..portable import compile_for
from . import launch

_pick = compile_for(sampling_rows.FUNCTIONS, cuda.jit(device=True, inline="always")).pick  # inlined: see special.py


@cuda.jit(cache=True)
def categorical_k(probs, cdf, uniforms, out):
    """out[r, s] = pick(probs[r], cdf[r], uniforms[r, s]); probs, cdf (R, C), uniforms, out (R, S)."""
    S = out.shape[1]
    for t in range(cuda.grid(1), out.shape[0] * S, cuda.gridsize(1)):
        r, s = t // S, t % S
        out[r, s] = _pick(probs[r], cdf[r], uniforms[r, s])


def categorical(probs, cdf, uniforms, out) -> None:
    categorical_k[launch.grid(out.size)](probs, cdf, uniforms, out)


KERNELS = {"categorical": categorical_k}

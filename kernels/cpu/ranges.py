"""Arithmetic sequences: ``arange`` computed in a kernel rather than on the host."""

from __future__ import annotations

from numba import njit

from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def iota(out, start, step):
    """out[i] = start + i * step, computed in start's type (int64 or float64) and cast to out's
    dtype on the store, as NumPy's arange then astype."""
    for i in range(out.shape[0]):
        out[i] = start + i * step


guard_kernels(globals())

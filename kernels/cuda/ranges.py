"""Arithmetic sequences on the device (``arange``), so a model's position indices are made
where they are used instead of uploaded each step; ``kernels.cpu.ranges``' formula."""

from __future__ import annotations

from numba import cuda

from . import launch


@cuda.jit(cache=True)
def iota_k(out, start, step):
    """out[i] = start + i * step in start's type, cast to out's dtype on the store."""
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = start + i * step


def iota(out, start, step) -> None:
    iota_k[launch.grid(out.shape[0])](out, start, step)


KERNELS = {"iota": iota_k}

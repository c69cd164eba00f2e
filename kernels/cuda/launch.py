"""Launch geometry shared by every CUDA kernel: threads per block and a cap on blocks.

Kernels use grid-stride loops, so any grid covers any size; the cap keeps a launch
small enough that each thread does several elements (and, under the simulator, that a
test on a few hundred elements still crosses block and grid boundaries with few
threads). Tests shrink both with ``configure(threads=32, max_blocks=2)`` (under the
simulator, which has no warps, down to 8 threads: it runs each thread as a Python thread).
"""

from __future__ import annotations

THREADS = 256  # threads per block of the 1-D kernels
MAX_BLOCKS = 4096  # a grid-stride loop covers the rest


def configure(threads: int | None = None, max_blocks: int | None = None) -> None:
    """Set the block size and block cap used by the following launches."""
    global THREADS, MAX_BLOCKS
    if threads is not None:
        least = 8 if _simulated() else 32  # the simulator has no warps: its tests run fewer threads
        if threads < least or threads & (threads - 1):
            raise ValueError(f"threads per block must be a power of two >= {least}, got {threads}")
        THREADS = threads
    if max_blocks is not None:
        MAX_BLOCKS = max(1, max_blocks)


def _simulated() -> bool:
    from numba.cuda import config

    return bool(config.ENABLE_CUDASIM)


def grid(n: int) -> tuple[int, int]:
    """(blocks, threads) of a 1-D grid-stride launch over ``n`` items."""
    return max(1, min(MAX_BLOCKS, -(-n // THREADS))), THREADS

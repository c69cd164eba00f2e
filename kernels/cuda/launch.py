"""Launch geometry shared by every CUDA kernel: threads per block and a cap on blocks.

Two block sizes: ``THREADS`` for the grid-stride kernels, whose threads never cooperate
(elementwise, indexing, convolution, pooling, optimizer updates), and ``TREE_THREADS`` for
the kernels whose threads of a block reduce together in shared memory (``reduce``).

Kernels use grid-stride loops, so any grid covers any size; the cap keeps a launch
small enough that each thread does several elements (and, in tests, that a few hundred
elements still cross block and grid boundaries with few threads). Tests shrink them with
``configure``. The simulator runs each thread of a block as a Python thread and each call
of a device function takes its global locks, so several threads of a block convoy on those
locks (a convolution's backward took minutes with 8 threads, a second with 1): under the
simulator the grid-stride kernels may run one thread per block, the tree kernels 8.
"""

from __future__ import annotations

THREADS = 256  # threads per block of the grid-stride kernels
TREE_THREADS = 256  # threads per block of the shared-memory tree reductions
MAX_BLOCKS = 4096  # a grid-stride loop covers the rest


def configure(threads: int | None = None, max_blocks: int | None = None, tree_threads: int | None = None) -> None:
    """Set the block sizes and the block cap used by the following launches."""
    global THREADS, TREE_THREADS, MAX_BLOCKS
    simulated = _simulated()
    if threads is not None:
        THREADS = _power_of_two("threads", threads, 1 if simulated else 32)
    if tree_threads is not None:
        TREE_THREADS = _power_of_two("tree_threads", tree_threads, 8 if simulated else 32)
    if max_blocks is not None:
        MAX_BLOCKS = max(1, max_blocks)


def _power_of_two(name: str, n: int, least: int) -> int:
    if n < least or n & (n - 1):
        raise ValueError(f"{name} per block must be a power of two >= {least}, got {n}")
    return n


def _simulated() -> bool:
    from numba.cuda import config

    return bool(config.ENABLE_CUDASIM)


def grid(n: int) -> tuple[int, int]:
    """(blocks, threads) of a 1-D grid-stride launch over ``n`` items."""
    return max(1, min(MAX_BLOCKS, -(-n // THREADS))), THREADS

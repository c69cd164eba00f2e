"""A caching allocator for the CUDA backend: freed device blocks are kept and reused.

``cudaMalloc``/``cudaFree`` synchronise the device and cost tens of microseconds each, and
a training step frees and re-allocates the same sizes every iteration. So, as torch's
allocator does, a block whose last tensor is gone goes back to a free list keyed by its
(rounded) size instead of to the driver, and the next request of that size takes it.
``allocated`` counts the bytes of live blocks, ``reserved`` those held from the driver
(live + cached), ``empty_cache()`` hands the cached ones back.

A block is the raw uint8 device array plus a finalizer: every ``CudaArray`` viewing it
holds the ``Block``, so the block returns to the cache when the last view is collected.
Sizes round up to ``ROUND`` bytes (512, as torch's small-block granularity), so
every dtype's view of a block is aligned and nearly equal sizes share a free list.
"""

from __future__ import annotations

import weakref
from collections import defaultdict

import numpy as np
from numba import cuda

ROUND = 512


class Block:
    """One device allocation; ``typed(dtype)`` is a cached 1-D view of it in ``dtype``."""

    __slots__ = ("raw", "nbytes", "_views", "bounds", "__weakref__")

    def __init__(self, raw, nbytes: int) -> None:
        self.raw = raw
        self.nbytes = nbytes
        self._views: dict = {}
        self.bounds = None  # what the backend knows of an integer block's values

    def typed(self, dtype: np.dtype):
        v = self._views.get(dtype)
        if v is None:
            v = self._views[dtype] = self.raw.view(dtype)
        return v


class CachingAllocator:
    """Free lists of device blocks by size, with torch's memory statistics."""

    def __init__(self) -> None:
        self._free: dict[int, list] = defaultdict(list)
        self.allocated = 0
        self.reserved = 0
        self.peak = 0
        self.driver_allocs = 0  # blocks requested from the driver (cache misses)

    def alloc(self, nbytes: int) -> Block:
        size = max(ROUND, -(-nbytes // ROUND) * ROUND)
        free = self._free.get(size)
        if free:
            raw = free.pop()
        else:
            raw = cuda.device_array(size, np.uint8)
            self.reserved += size
            self.driver_allocs += 1
        self.allocated += size
        self.peak = max(self.peak, self.allocated)
        block = Block(raw, size)
        weakref.finalize(block, self._release, raw, size)
        return block

    def _release(self, raw, size: int) -> None:
        self.allocated -= size
        self._free[size].append(raw)

    def empty_cache(self) -> None:
        """Return every cached (unused) block to the driver."""
        for size, blocks in self._free.items():
            self.reserved -= size * len(blocks)
        self._free.clear()

    def reset_peak(self) -> None:
        self.peak = self.allocated

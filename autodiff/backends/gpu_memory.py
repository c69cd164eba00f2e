"""A caching allocator for the CUDA backend: freed device blocks are kept and reused.

``cudaMalloc``/``cudaFree`` synchronise the device and cost tens of microseconds each, and
a training step frees and re-allocates the same sizes every iteration. So, as torch's
allocator does, a block whose last user is gone goes back to a free list keyed by its
(rounded) size instead of to the driver, and the next request of that size takes it
(``BlockPool``). ``allocated`` counts the bytes of live blocks, ``reserved`` those held
from the driver (live + cached), ``empty_cache()`` hands the cached ones back. Sizes
round up to ``ROUND`` bytes (512, as torch's small-block granularity), so every dtype's
view of a block is aligned and nearly equal sizes share a free list.

On a GPU the pool sits under Numba: ``CachingMemoryManager`` is an External Memory
Management plugin (``numba.cuda.set_memory_manager``), so every device allocation Numba
makes (the backend's tensors, ``cuda.to_device`` uploads, kernels' scratch arrays, other
libraries' Numba arrays) comes from the pool and returns to it. The backend then asks
Numba for plain device arrays. Under the simulator, which has no EMM, and in a process
whose CUDA context existed before the plugin could be set, the backend keeps the same
pool of its own over the arrays Numba gives it.

A freed block is reused at once, which is safe in the order of one stream: the backend
launches everything on the default stream (torch's allocator makes the same assumption
unless told of other streams with ``record_stream``).

A ``Block`` is the raw uint8 device array: every ``CudaArray`` viewing it holds the
``Block``, so the memory returns to the pool when the last view is collected.
"""

from __future__ import annotations

import functools
import weakref
from collections import defaultdict
from typing import Any, Callable

import numpy as np
from numba import cuda

ROUND = 512


def rounded(nbytes: int) -> int:
    """The size of the block that serves a request of ``nbytes``."""
    return max(ROUND, -(-nbytes // ROUND) * ROUND)


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


class BlockPool:
    """Free lists of raw allocations by rounded size, with torch's memory statistics.

    ``raw_alloc(size)`` gets memory from below (the driver), ``raw_free(handle)`` gives it
    back; the pool only ever calls them for cache misses and ``empty_cache``."""

    def __init__(self, raw_alloc: Callable[[int], Any], raw_free: Callable[[Any], None]) -> None:
        self._raw_alloc, self._raw_free = raw_alloc, raw_free
        self._free: dict[int, list] = defaultdict(list)
        self.allocated = 0
        self.reserved = 0
        self.peak = 0
        self.driver_allocs = 0  # blocks requested from below (cache misses)

    def take(self, nbytes: int) -> tuple[Any, int]:
        """A block for ``nbytes``: (its handle, its rounded size)."""
        size = rounded(nbytes)
        free = self._free.get(size)
        if free:
            handle = free.pop()
        else:
            handle = self._raw_alloc(size)
            self.reserved += size
            self.driver_allocs += 1
        self.allocated += size
        self.peak = max(self.peak, self.allocated)
        return handle, size

    def give_back(self, handle, size: int) -> None:
        """Block ``handle`` of ``size`` bytes is unused now: cache it."""
        self.allocated -= size
        self._free[size].append(handle)

    def empty_cache(self) -> None:
        """Return every cached (unused) block to the driver."""
        for size, handles in self._free.items():
            for handle in handles:
                self._raw_free(handle)
            self.reserved -= size * len(handles)
        self._free.clear()

    def reset_peak(self) -> None:
        self.peak = self.allocated


@functools.cache
def _plugin_class() -> type:
    """``CachingMemoryManager``: Numba's EMM interface over a ``BlockPool`` of driver memory
    (defined on first use: the simulator's ``numba.cuda`` has no EMM classes)."""
    from numba.cuda.cudadrv import driver as numba_driver

    class CachingMemoryManager(numba_driver.GetIpcHandleMixin, numba_driver.HostOnlyCUDAMemoryManager):
        """Device allocations from a pool of cached blocks; pinned host memory as Numba's own."""

        @property
        def driver(self):
            """Numba's driver API (a property of the class, so that tests can stand in for it)."""
            return numba_driver.driver

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.pool = BlockPool(lambda size: self.driver.cuMemAlloc(size), lambda ptr: self.driver.cuMemFree(ptr))

        def initialize(self) -> None:
            """Size the queue of pinned host memory frees as Numba's own manager does (a
            fraction of the device's memory); device blocks need nothing: the pool asks
            the driver on its first miss."""
            self.deallocations.memory_capacity = self.get_memory_info().total

        def memalloc(self, size: int):
            try:
                ptr, block = self.pool.take(size)
            except numba_driver.CudaAPIError as e:  # out of memory: free the cached blocks, once
                if e.code != numba_driver.binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY:
                    raise
                self.pool.empty_cache()
                ptr, block = self._attempt_allocation(lambda: self.pool.take(size))
            key, allocations, pool = int(ptr), self.allocations, self.pool

            def finalizer():  # the last user is gone: back to the pool, not to the driver
                allocations.pop(key, None)
                pool.give_back(ptr, block)

            mem = numba_driver.AutoFreePointer(weakref.proxy(self.context), ptr, size, finalizer=finalizer)
            allocations[key] = mem
            return mem.own()

        def get_memory_info(self):
            free, total = self.driver.cuMemGetInfo()
            return numba_driver.MemoryInfo(free=free, total=total)

        def reset(self) -> None:
            super().reset()
            self.pool.empty_cache()

        @property
        def interface_version(self) -> int:
            return 1

    return CachingMemoryManager


def install_plugin() -> BlockPool | None:
    """Make Numba allocate device memory through ``CachingMemoryManager`` and return the
    current context's pool. None under the simulator; None too where the user chose
    another EMM plugin (``NUMBA_CUDA_MEMORY_MANAGER``), which is left in charge, or where
    the context was made before this (its manager keeps serving it)."""
    if cuda.config.ENABLE_CUDASIM:
        return None
    plugin = _plugin_class()
    if cuda.config.CUDA_MEMORY_MANAGER == "default":
        cuda.set_memory_manager(plugin)  # (contexts made from now on)
    manager = cuda.current_context().memory_manager
    return manager.pool if isinstance(manager, plugin) else None


class CachingAllocator:
    """The backend's blocks, from the pool under Numba (``install_plugin``) or, where that
    is not there, from a pool of its own over Numba's device arrays."""

    def __init__(self, pool_under_numba: BlockPool | None) -> None:
        self._under_numba = pool_under_numba is not None
        self.pool = pool_under_numba or BlockPool(lambda size: cuda.device_array(size, np.uint8), lambda raw: None)

    def alloc(self, nbytes: int) -> Block:
        if self._under_numba:  # Numba's memalloc takes the block from the pool; the array's end returns it
            size = rounded(nbytes)
            return Block(cuda.device_array(size, np.uint8), size)
        raw, size = self.pool.take(nbytes)
        block = Block(raw, size)
        weakref.finalize(block, self.pool.give_back, raw, size)
        return block

    @property
    def allocated(self) -> int:
        return self.pool.allocated

    @property
    def reserved(self) -> int:
        return self.pool.reserved

    @property
    def peak(self) -> int:
        return self.pool.peak

    @property
    def driver_allocs(self) -> int:
        return self.pool.driver_allocs

    def empty_cache(self) -> None:
        self.pool.empty_cache()

    def reset_peak(self) -> None:
        self.pool.reset_peak()

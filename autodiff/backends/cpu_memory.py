"""A caching allocator for the CPU backend's large buffers.

glibc serves a large allocation with a fresh ``mmap`` and unmaps it on free, so every
new large tensor costs a page fault per 4 KB page when a kernel first writes it: a
3 MB activation of a small CNN costs about as much in faults as the ReLU that fills it.
A training step allocates the same sizes every iteration, so, as a caching allocator
does, autodiff keeps its own large buffers once their tensors are gone and hands them
out again, already touched. Only autodiff's buffers are kept: malloc's settings, and so
every other library in the process, are left alone.

A buffer is a 1-D uint8 array owned by the pool; a tensor's storage is an ``ndarray``
viewing it, so NumPy keeps the buffer alive while any view of it is. A buffer whose only
reference is the pool's own list is free. Requests below ``MIN_BYTES`` go to NumPy (malloc
reuses small blocks well); sizes round up to a page, so nearly equal sizes share a buffer;
at most ``limit`` bytes are held (free buffers are dropped to make room, and beyond that
requests go to NumPy). ``AUTODIFF_CPU_CACHE_BYTES`` sets the limit (0 turns the cache off).
"""

from __future__ import annotations

import os
import sys
import threading
from math import prod

import numpy as np

MIN_BYTES = 1 << 17  # 128 KB: glibc's initial mmap threshold
SMALL_COUNT = MIN_BYTES // 16  # fewer elements are below MIN_BYTES at any itemsize (complex128: 16)
PAGE = 4096


class BufferPool:
    """Large CPU buffers kept for reuse after their tensors are freed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0  # bytes of every buffer the pool owns (in use or free)
        self._buffers: dict[int, list[np.ndarray]] = {}
        self._lock = threading.Lock()  # a scan and its claim are one step for threads

    def empty(self, shape, dtype) -> np.ndarray:
        """An uninitialised C-contiguous array, like ``np.empty(shape, dtype)``."""
        count = shape if isinstance(shape, int) else prod(shape)
        if count < SMALL_COUNT:  # NumPy's, with no more questions
            return np.empty(shape, dtype)
        dt = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        nbytes = count * dt.itemsize
        if nbytes < MIN_BYTES or self.limit <= 0:
            return np.empty(shape, dt)
        size = -(-nbytes // PAGE) * PAGE
        with self._lock:
            buffer = self._claim(size)
        if buffer is None:
            return np.empty(shape, dt)
        return np.ndarray(shape, dt, buffer)

    def _claim(self, size: int) -> np.ndarray | None:
        same = self._buffers.setdefault(size, [])
        # the most recently handed out first: a buffer freed since is likely still in cache,
        # as the one malloc would hand back
        for i in range(len(same) - 1, -1, -1):
            buffer = same[i]
            # the list, this loop's name and getrefcount's argument: no tensor views it
            if sys.getrefcount(buffer) == 3:
                if i != len(same) - 1:
                    same.append(same.pop(i))
                return buffer
        if self.held + size > self.limit:
            self._drop_free(self.held + size - self.limit)
            if self.held + size > self.limit:
                return None
        buffer = np.empty(size, np.uint8)
        same.append(buffer)
        self.held += size
        return buffer

    def _drop_free(self, wanted: int) -> None:
        """Release free buffers (any size) until ``wanted`` bytes are freed or none is left."""
        for size, buffers in self._buffers.items():
            kept = []
            for buffer in buffers:
                if wanted > 0 and sys.getrefcount(buffer) == 3:
                    wanted -= size
                    self.held -= size
                else:
                    kept.append(buffer)
            buffers[:] = kept
            if wanted <= 0:
                return

    def empty_cache(self) -> None:
        """Hand every free buffer back to the system (those still viewed stay)."""
        with self._lock:
            self._drop_free(self.held)

    def cached_bytes(self) -> int:
        """Bytes held in free buffers, ready for reuse."""
        with self._lock:
            return sum(size for size, buffers in self._buffers.items()
                       for b in buffers if sys.getrefcount(b) == 3)


def _limit() -> int:
    value = os.environ.get("AUTODIFF_CPU_CACHE_BYTES")
    return int(value) if value else 1 << 30


POOL = BufferPool(_limit())

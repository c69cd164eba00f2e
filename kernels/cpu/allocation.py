"""Opt-in: keep large freed buffers in the process, so new tensors reuse touched memory.

By default glibc serves allocations above a (dynamic) threshold with fresh ``mmap``s and
returns them to the OS on free. Every new large output (a 16 MB float32 tensor of 4M
elements) then costs thousands of page faults when a kernel first writes it — measured
here as 4-5 ms per output, more than the kernel itself. Raising the mmap and trim
thresholds makes freed blocks stay in the heap and be reused, as a caching allocator
would: the 4M-element fwd+bwd chain went from ~24 ms to ~17 ms. The setting is
process-wide (it changes malloc for every library in the process, and memory stays held
after it is freed), so autodiff applies it only when asked: set
``AUTODIFF_KEEP_FREED_MEMORY=1`` before importing autodiff, or call ``keep_freed_memory()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory_requested() -> bool:
    """True when ``AUTODIFF_KEEP_FREED_MEMORY=1`` asks for the tuning at import."""
    return os.environ.get("AUTODIFF_KEEP_FREED_MEMORY", "0") == "1"


def keep_freed_memory() -> bool:
    """Tune glibc's malloc (if this is glibc) for the whole process; True if it was tuned."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl, Windows)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30) and mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1))


"""How many threads the CPU kernels' parallel loops use (Numba's thread pool).

Numba starts its pool once, with ``NUMBA_NUM_THREADS`` threads (default: the CPU count);
a parallel loop then uses the calling Python thread's setting, at most the pool's size.
The kernels plan their work with ``get_num_threads()``, so both stay in step.
"""

from __future__ import annotations

import numba
from numba.core import config


def set_num_threads(n: int) -> int:
    """Use ``n`` threads in the calling Python thread's parallel kernels, clamped to the pool
    size (``NUMBA_NUM_THREADS``, fixed when the pool starts); returns the count in use."""
    n = min(int(n), config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    return n


def get_num_threads() -> int:
    """The threads the calling Python thread's parallel kernels use."""
    return numba.get_num_threads()

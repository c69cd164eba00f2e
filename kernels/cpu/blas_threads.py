"""Control BLAS's own thread count around kernels that call BLAS from parallel loops.

A batch of small products runs one product per Numba thread; if each BLAS call then
starts its own threads, the two pools fight over the cores (64 products of 128x128 ran
~20x slower). ``single_threaded_blas()`` sets the BLAS libraries loaded in this process
to one thread for the duration and restores them after.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

import threadpoolctl


@lru_cache(maxsize=None)
def _blas_libraries() -> tuple:
    return tuple(threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers)


@contextmanager
def single_threaded_blas():
    libs = _blas_libraries()
    before = [lib.num_threads for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, before):
            lib.set_num_threads(n)

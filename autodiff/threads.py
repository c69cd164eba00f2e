"""torch's thread-count functions: ``set_num_threads``, ``get_num_threads`` and the
inter-op pair.

Intra-op threads are the CPU kernels' (Numba's pool): a count above the pool's size
(``NUMBA_NUM_THREADS``, fixed at start-up) is clamped to it, and as in Numba the setting
belongs to the calling Python thread. autodiff runs ops one after another, so it has no
inter-op pool: its count is recorded (once, before any parallel work, as torch allows)
and reported, nothing more.
"""

from __future__ import annotations

import os

from .backends import backend_for

_interop = {"threads": None}


def _positive_int(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"{name} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return n


def set_num_threads(n: int) -> None:
    """Run the CPU kernels' parallel loops on ``n`` threads (at most ``NUMBA_NUM_THREADS``)."""
    backend_for("cpu").set_num_threads(_positive_int("set_num_threads", n))


def get_num_threads() -> int:
    """The threads the CPU kernels' parallel loops use."""
    return backend_for("cpu").get_num_threads()


def set_num_interop_threads(n: int) -> None:
    """Accepted once, as torch does; autodiff has no inter-op pool to size."""
    n = _positive_int("set_num_interop_threads", n)
    if _interop["threads"] is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has started "
                           "or set_num_interop_threads called")
    _interop["threads"] = n


def get_num_interop_threads() -> int:
    """The count given to ``set_num_interop_threads``, else the CPU count (torch's default)."""
    return _interop["threads"] or os.cpu_count() or 1

"""Parallel kernel launches that survive Numba's ``workqueue`` threading layer.

Numba falls back to the ``workqueue`` layer where neither TBB nor OpenMP loads (or when
``NUMBA_THREADING_LAYER=workqueue``). That layer is not thread-safe: two Python threads
launching parallel kernels at once abort the process ("Concurrent access has been
detected"). Every ``parallel=True`` kernel of autodiff therefore starts as a
``_GuardedDispatcher``: its first launch initialises Numba's thread pool and asks which
layer it got. Under a thread-safe layer (OpenMP, TBB) every guarded kernel turns back
into a plain dispatcher, so later calls cost nothing extra; under ``workqueue`` they
keep a process-wide lock, so concurrent launches from several Python threads are
serialised (one at a time, each still parallel inside) instead of aborting.
"""

from __future__ import annotations

import threading
import weakref

from numba.core.registry import CPUDispatcher

_lock = threading.Lock()
_state = {"decided": False, "serialise": False}
_pending: weakref.WeakSet[CPUDispatcher] = weakref.WeakSet()


def threading_layer() -> str:
    """The Numba threading layer parallel kernels run on (initialising it if needed)."""
    from numba.np.ufunc import parallel

    parallel._launch_threads()
    return parallel.threading_layer()


def _decide() -> None:
    serialise = threading_layer() == "workqueue"
    _state["serialise"] = serialise
    _state["decided"] = True
    if not serialise:
        for d in list(_pending):
            d.__class__ = CPUDispatcher
        _pending.clear()


class _GuardedDispatcher(CPUDispatcher):
    """A parallel kernel whose launches take the workqueue lock when that layer is in use."""

    def __call__(self, *args, **kwargs):
        if not _state["decided"]:
            with _lock:
                if not _state["decided"]:
                    _decide()
        if _state["serialise"]:
            with _lock:
                return CPUDispatcher.__call__(self, *args, **kwargs)
        return CPUDispatcher.__call__(self, *args, **kwargs)


def guard_parallel(dispatcher: CPUDispatcher) -> None:
    """Make ``dispatcher`` (a ``parallel=True`` kernel) safe under the workqueue layer."""
    if _state["decided"]:
        if _state["serialise"]:
            dispatcher.__class__ = _GuardedDispatcher
        return
    dispatcher.__class__ = _GuardedDispatcher
    _pending.add(dispatcher)

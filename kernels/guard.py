"""``guard_kernels(namespace)``: the safety every autodiff kernel module applies to its kernels.

Called once at the end of each kernel module (and on each generated kernel module): every
Numba dispatcher in the module's namespace that caches gets a ``CheckedCache`` (verified
cache files, see ``checked_cache``), and every ``parallel=True`` one is made safe under the
``workqueue`` threading layer (see ``serial_launch``). Kernels are untouched otherwise.
"""

from __future__ import annotations

from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher

from .checked_cache import CheckedCache
from .serial_launch import guard_parallel


def guard_kernels(namespace: dict) -> None:
    """Apply ``CheckedCache`` and the workqueue guard to the kernels defined in ``namespace``."""
    module = namespace.get("__name__")
    for obj in list(namespace.values()):
        if not isinstance(obj, CPUDispatcher) or obj.py_func.__module__ != module:
            continue
        if type(obj._cache) is FunctionCache:
            obj._cache = CheckedCache(obj.py_func)
        if obj.targetoptions.get("parallel"):
            guard_parallel(obj)

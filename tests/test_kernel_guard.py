"""Every cached kernel module applies ``guard_kernels`` (verified cache files, the workqueue lock)."""

import importlib
import pkgutil

import pytest
from numba.core.registry import CPUDispatcher

import kernels.cpu
from kernels.checked_cache import CheckedCache

MODULES = [m.name for m in pkgutil.iter_modules(kernels.cpu.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_cached_kernels_are_guarded(name):
    module = importlib.import_module(f"kernels.cpu.{name}")
    cached = [obj for obj in vars(module).values()
              if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__
              and obj._cache.__class__.__name__ != "NullCache"]
    unguarded = [d.py_func.__name__ for d in cached if not isinstance(d._cache, CheckedCache)]
    assert not unguarded, f"kernels.cpu.{name} must end with guard_kernels(globals()): {unguarded}"

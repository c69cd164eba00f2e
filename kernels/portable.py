"""Plain-Python functions compiled for each target (CPU ``njit``, CUDA device functions).

Scalar and per-row code that only indexes arrays and does arithmetic reads the same under
``numba.njit`` and ``numba.cuda.jit(device=True)``. Written once as plain functions, it is
compiled per target by ``compile_for``, so the CPU and GPU kernels share one definition
(and give the same results) instead of two copies that could drift apart.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable


def compile_for(functions: Iterable[Callable], jit: Callable) -> types.SimpleNamespace:
    """``functions`` (of one module) compiled by ``jit``, as attributes of the same names.

    Each copy runs in a copy of the module's globals in which its siblings are the compiled
    copies, so a call between them stays on the target."""
    functions = list(functions)
    scope = dict(functions[0].__globals__)
    compiled = {}
    for f in functions:
        copy = types.FunctionType(f.__code__, scope, f.__name__, f.__defaults__)
        copy.__doc__ = f.__doc__
        scope[f.__name__] = compiled[f.__name__] = jit(copy)
    return types.SimpleNamespace(**compiled)

"""512-bit vectors for autodiff's own CPU kernels on Intel AVX-512 CPUs, nobody else's.

On Intel CPUs with AVX-512 (Skylake-SP and later), LLVM's tuning for the CPU prefers
256-bit vectors (``prefer-256-bit``: the first AVX-512 cores lowered their clock for wide
instructions), so every vectorised loop uses half the registers' width. On the AVX-512
Xeon of these measurements an exp loop over 512K float32 values ran 1.3x faster with
512-bit vectors, and torch's own kernels use them there. On AMD's Zen 4, which executes a
512-bit instruction as two 256-bit halves, the kernels measured slower, so 256 stays.

LLVM reads the preference per function as well (the ``"prefer-vector-width"`` function
attribute), so the wider setting is given to the functions of autodiff's kernels only,
while they compile: ``install`` follows Numba's compile events of autodiff's kernels
(``compile_watch.is_ours``) and marks each function of the LLVM modules made meanwhile (a
parallel kernel's loop body included). Numba's code generator, and so every other
``@njit`` function in the process, is left as it is. The serial flat elementwise loops
(small arrays) stay 256 bits wide (``kernel_bits``).

``AUTODIFF_VECTOR_BITS`` (256 or 512) overrides the choice; the width is part of the
kernel cache's key (``checked_cache``), so a cache keeps the code of either.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from numba.core import event

_VAR = "AUTODIFF_VECTOR_BITS"
ATTRIBUTE = '"prefer-vector-width"="512"'


@lru_cache(maxsize=None)
def vector_bits() -> int:
    """The vector width autodiff's kernels are compiled for in this process (``choose``)."""
    import llvmlite.binding as llvm

    return choose(os.environ.get(_VAR, ""), bool(llvm.get_host_cpu_features().get("avx512f")),
                  llvm.get_host_cpu_name())


def choose(setting: str, avx512: bool, cpu_name: str) -> int:
    """512 on Intel AVX-512 CPUs, else 256; ``setting`` (``AUTODIFF_VECTOR_BITS``) may choose,
    512 only where the CPU has AVX-512."""
    setting = setting.strip()
    if setting not in ("", "256", "512"):
        raise ValueError(f"{_VAR} must be 256 or 512, got {setting!r}")
    if not avx512:
        return 256
    if setting:
        return int(setting)
    return 256 if cpu_name.startswith("znver") else 512


def kernel_bits(py_func) -> int:
    """The vector width one of autodiff's kernels compiles for: ``vector_bits()``, but 256
    for the serial flat elementwise loops. They serve arrays below the parallel threshold,
    mostly small ones, whose calls 512-bit code made slower (the 16-element chain 87 -> 96
    us: each call ~40 ns, and the core runs a little slower after 512-bit work)."""
    return 256 if py_func.__name__ == "flat" else vector_bits()


_compiling = threading.local()  # .depth: autodiff kernels being compiled by this thread


class _Follow(event.Listener):
    """Counts the compilations of autodiff's kernels under way in each thread."""

    def __init__(self, ours) -> None:
        self._ours = ours

    def _eligible(self, ev) -> bool:
        return self._ours(ev) and kernel_bits(ev.data["dispatcher"].py_func) == 512

    def on_start(self, ev) -> None:
        if self._eligible(ev):
            _compiling.depth = getattr(_compiling, "depth", 0) + 1

    def on_end(self, ev) -> None:
        if self._eligible(ev):
            _compiling.depth -= 1


def _marking(original):
    """``CPUCodeLibrary.add_ir_module`` (``original``) that first marks the module's functions
    wide while an autodiff kernel compiles."""

    def add_ir_module(self, ir_module):
        if getattr(_compiling, "depth", 0):
            for fn in ir_module.functions:
                if not fn.is_declaration:
                    # (a string attribute: llvmlite's checked add knows only LLVM's flag names)
                    set.add(fn.attributes, ATTRIBUTE)
        return original(self, ir_module)

    add_ir_module.marks_wide = True
    return add_ir_module


def install(ours) -> bool:
    """Compile autodiff's kernels (``ours(event)`` tells them apart) for 512-bit vectors, if
    ``vector_bits`` says so; True if it does."""
    if vector_bits() != 512:
        return False
    from numba.core.codegen import CPUCodeLibrary

    if not getattr(CPUCodeLibrary.add_ir_module, "marks_wide", False):
        CPUCodeLibrary.add_ir_module = _marking(CPUCodeLibrary.add_ir_module)
        event.register("numba:compile", _Follow(ours))
    return True

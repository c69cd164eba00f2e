"""Numba kernels over arrays; pure compute that knows nothing of autograd.

Importing this package changes nothing outside autodiff: no environment variable, no
process-wide allocator setting. (Numba's OpenMP pool and torch's share one ``libgomp``
runtime when both are loaded, so a wait policy set for one is set for the other; see
docs/kernels.md for what that means for thread launches.) ``keep_freed_memory()`` in
``kernels/cpu/allocation.py`` is the opt-in malloc tuning (``AUTODIFF_KEEP_FREED_MEMORY=1``),
``kernels/cpu/vector_width.py`` gives autodiff's own kernels 512-bit vectors on Intel
AVX-512 CPUs (their LLVM functions only; ``AUTODIFF_VECTOR_BITS`` overrides).
Kernel compilation is watched (``compile_watch.py``): a notice when it takes a while.
"""

from . import compile_watch
from .cpu import vector_width
from .cpu.allocation import keep_freed_memory, keep_freed_memory_requested

compile_watch.install()  # one line on stderr while kernels compile for over a second
vector_width.install(compile_watch.is_ours)

if keep_freed_memory_requested():
    keep_freed_memory()

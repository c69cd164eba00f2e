"""Backends: one per device type, and the only code under ``autodiff/`` that calls kernels.

An op never imports ``kernels.cpu``; it asks the backend of its operands' storage
(``backend_of(array)``) for allocation, copies, elementwise kernels and the kernel
families (``reduce``, ``index``, ``conv``, ...). ``cpu`` wraps ``kernels/cpu``; ``meta``
holds shapes, dtypes and strides but no storage, and runs no kernels: on it,
``Op.__call__`` runs an op's metadata rule only. A CUDA backend registers itself the same
way, with its storage type (a Numba device array) as the key.
"""

from .base import Backend, backend_for, backend_of, is_storage, register, storage_backend
from . import cpu, meta  # noqa: F401  (register themselves)
from ..backend_flags import cuda, cudnn, mps  # noqa: F401  (torch.backends' flags, as autodiff.backends.*)

__all__ = ["Backend", "backend_for", "backend_of", "is_storage", "register", "storage_backend"]


def copy(src, np_dtype=None):
    """A fresh contiguous copy of ``src`` (cast to ``np_dtype``), by ``src``'s backend."""
    return backend_of(src).copy(src, np_dtype)


def contiguous(src):
    """``src`` itself when it is C-contiguous, else a contiguous copy by its backend (what a
    kernel that walks flat rows needs)."""
    return src if src.flags.c_contiguous else backend_of(src).copy(src)


def elementwise(name: str, compute, out, *operands):
    """``out[...] = name(*operands)`` by the backend of ``out`` (see ``Backend.elementwise``)."""
    return backend_of(out).elementwise(name, compute, out, *operands)

"""DLPack exchange: ``from_dlpack`` and ``Tensor.__dlpack__``, zero-copy on the CPU.

autodiff's CPU storage is a NumPy array and NumPy speaks DLPack, so exporting hands the
consumer the tensor's array, and importing asks NumPy for an array over the producer's
memory (NumPy, torch, JAX, or a legacy ``dltensor`` capsule). A producer that marks its
memory read-only (JAX does: its arrays are immutable) gives a read-only tensor.

Version counters: autodiff cannot see a write made through a foreign array, but among its
own tensors it keeps one counter per memory. A tensor imported from memory that a live
autodiff tensor exported or imported shares that tensor's counter, so an in-place write
through either is caught by the other's saved-tensor checks, as for views.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import dtypes
from .tensor import Tensor

_CPU = 1  # DLPack's kDLCPU
_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI",
                 10: "ROCm", 13: "CUDA managed", 14: "oneAPI"}

# (first byte, one past the last byte, weak reference) of tensors whose memory crossed DLPack
_exchanged: list[tuple[int, int, weakref.ref]] = []


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor``: an object with ``__dlpack__`` (a NumPy,
    torch or JAX array, ...) or a DLPack capsule."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    array = to_numpy(ext_tensor)
    try:
        dtypes.from_numpy_dtype(array.dtype)
    except TypeError:
        raise TypeError(f"from_dlpack: the array's dtype {array.dtype} is not one autodiff has") from None
    return wrap(array)


def to_numpy(ext_tensor: Any) -> np.ndarray:
    """A NumPy array over a DLPack producer's memory (no copy); the device must be the CPU."""
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    elif not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext_tensor).__name__}")
    kind = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else _CPU
    if int(kind) != _CPU:
        raise RuntimeError(f"from_dlpack: the array lives on a {_DEVICE_NAMES.get(int(kind), int(kind))} "
                           "device; autodiff has no backend for it in this build (only 'cpu')")
    return np.from_dlpack(ext_tensor)


def wrap(array: np.ndarray) -> Tensor:
    """A tensor over ``array`` (imported memory) that shares the version counter of any live
    tensor whose memory overlaps it and crossed DLPack."""
    t = Tensor._make(array, version_counter=_counter_overlapping(*_bounds(array)))
    remember(t)
    return t


def remember(t: Tensor) -> None:
    """Note that ``t``'s memory is shared outside autodiff (it was exported or imported)."""
    lo, hi = _bounds(t._data)
    if hi > lo and not any(ref() is t for _, _, ref in _exchanged):
        _exchanged.append((lo, hi, weakref.ref(t)))


def _counter_overlapping(lo: int, hi: int) -> list | None:
    """The version counter of a remembered live tensor overlapping [lo, hi); drops dead entries."""
    found, alive = None, []
    for entry in _exchanged:
        t = entry[2]()
        if t is None:
            continue
        alive.append(entry)
        if found is None and entry[0] < hi and lo < entry[1]:
            found = t._version_counter
    _exchanged[:] = alive
    return found


def _bounds(a: np.ndarray) -> tuple[int, int]:
    """The byte range ``a``'s elements occupy (empty for an empty array)."""
    if a.size == 0:
        return 0, 0
    start = a.__array_interface__["data"][0]
    low = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s > 0)
    return start + low, start + high + a.itemsize


class _Capsule:
    """Lets NumPy import a bare (legacy) DLPack capsule, such as ``torch.utils.dlpack.to_dlpack``'s."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_CPU, 0)

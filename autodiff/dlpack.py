"""DLPack exchange: ``from_dlpack`` and ``Tensor.__dlpack__``, zero-copy on both devices.

autodiff's CPU storage is a NumPy array and NumPy speaks DLPack, so exporting hands the
consumer the tensor's array, and importing asks NumPy for an array over the producer's
memory (NumPy, torch, JAX, or a legacy ``dltensor`` capsule). A producer that marks its
memory read-only (JAX does: its arrays are immutable) gives a read-only tensor.

CUDA memory goes through capsules autodiff makes and reads itself (``dlpack_capsule``):
an exported capsule describes the tensor's device memory and keeps it alive until the
consumer is done with it; an imported one becomes a cuda tensor over the producer's
memory (CuPy, torch, JAX, ...). Streams: autodiff runs its kernels on the default stream,
so an export waits for the device before handing memory to a consumer on another
stream, and an import asks the producer to make its memory ready for the default stream.

Version counters: autodiff cannot see a write made through a foreign array, but among its
own tensors it keeps one counter per memory. A tensor imported from memory that a live
autodiff tensor exported or imported shares that tensor's counter, so an in-place write
through either is caught by the other's saved-tensor checks, as for views.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import dlpack_capsule, dtypes
from .backends import backend_for, backend_of
from .tensor import Tensor

_CPU, _CUDA_DEVICES = dlpack_capsule.CPU, (dlpack_capsule.CUDA, dlpack_capsule.CUDA_MANAGED)
_LEGACY_DEFAULT_STREAM = 1  # the protocol's number for CUDA's legacy default stream

# (first byte, one past the last byte, weak reference) of tensors whose memory crossed DLPack
_exchanged: list[tuple[int, int, weakref.ref]] = []


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor``: an object with ``__dlpack__`` (a NumPy,
    torch or JAX array, ...) or a DLPack capsule."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    if on_cuda(ext_tensor):
        return _from_device(ext_tensor)
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
    kind = _device_kind(ext_tensor)
    if kind != _CPU:
        raise RuntimeError(f"from_dlpack: the array lives on a {dlpack_capsule.DEVICE_NAMES.get(int(kind), int(kind))} "
                           "device; autodiff has no backend for it in this build (only 'cpu')")
    return np.from_dlpack(ext_tensor)


def _device_kind(ext_tensor: Any) -> int:
    """The DLPack device type of a producer (or of a bare capsule, read without taking it)."""
    if type(ext_tensor).__name__ == "PyCapsule":
        return dlpack_capsule.device_of(ext_tensor)[0]
    if hasattr(ext_tensor, "__dlpack_device__"):
        return int(ext_tensor.__dlpack_device__()[0])
    return _CPU


def on_cuda(obj: Any) -> bool:
    """Whether ``obj`` is a DLPack producer (or capsule) of CUDA memory."""
    return _device_kind(obj) in _CUDA_DEVICES


def _from_device(ext_tensor: Any) -> Tensor:
    """A cuda tensor over a DLPack producer's device memory (no copy)."""
    try:
        backend = backend_for("cuda")
    except RuntimeError as e:  # before the producer is asked for its memory
        raise RuntimeError(f"from_dlpack: the array lives on a CUDA device; autodiff has no backend for it "
                           f"here ({e})") from None
    capsule = ext_tensor
    if type(ext_tensor).__name__ != "PyCapsule":
        try:
            capsule = ext_tensor.__dlpack__(stream=_LEGACY_DEFAULT_STREAM, max_version=(1, 0))
        except TypeError:  # a producer from before DLPack 1.0 takes no max_version
            capsule = ext_tensor.__dlpack__(stream=_LEGACY_DEFAULT_STREAM)
    desc, owner = dlpack_capsule.read(capsule)
    try:
        dtypes.from_numpy_dtype(desc.dtype)
    except TypeError:
        raise TypeError(f"from_dlpack: the array's dtype {desc.dtype} is not one autodiff has") from None
    if desc.device[1] != 0:
        raise RuntimeError(f"from_dlpack: the array lives on cuda:{desc.device[1]}; autodiff uses cuda:0 only")
    return Tensor._make(backend.from_cuda_array(_DeviceMemory(desc, owner)))


class _DeviceMemory:
    """Imported device memory as CUDA's array interface describes it; holds the capsule's
    ownership, so the producer frees the memory only after the tensor over it is gone."""

    def __init__(self, desc: dlpack_capsule.Description, owner: Any) -> None:
        self.owner = owner
        self.__cuda_array_interface__ = {"shape": desc.shape, "typestr": desc.dtype.str, "strides": desc.strides,
                                         "data": (desc.data, desc.readonly), "version": 3}


def export(t: Tensor, stream: Any, max_version: tuple[int, int] | None, dl_device: tuple[int, int] | None,
           copy: bool | None) -> Any:
    """``t.__dlpack__(...)``: NumPy's capsule on the CPU, autodiff's own for cuda memory."""
    if t.device.type == "cpu":
        remember(t)
        return t._data.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)
    own = device_of(t)
    if dl_device is not None and tuple(dl_device) != own:
        raise BufferError(f"__dlpack__: the tensor is on {t.device}; it cannot be exported to DLPack device "
                          f"{tuple(dl_device)} without a copy (call .cpu() or .to() first)")
    data = t.clone()._data if copy else t._data
    if stream not in (None, -1, _LEGACY_DEFAULT_STREAM):  # a consumer on another stream: finish our work first
        backend_of(t._data).synchronize()
    desc = dlpack_capsule.Description(data.__cuda_array_interface__["data"][0], data.shape, data.strides,
                                      data.dtype, own)
    return dlpack_capsule.export(desc, data, versioned=max_version is not None and tuple(max_version) >= (1, 0))


def device_of(t: Tensor) -> tuple[int, int]:
    """``t.__dlpack_device__()``: (kDLCPU, 0) or (kDLCUDA, index)."""
    if t.device.type == "cpu":
        return (_CPU, 0)
    return (dlpack_capsule.CUDA, t.device.index or 0)


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
